//! x86_64: PC-compatible machines (QEMU `q35`, real PCs), booted by PVH or Multiboot2. The
//! names the kernel uses are re-exported by [`crate::arch`].

mod boot;
pub(super) mod console;
pub(super) mod context;
pub(super) mod cpu;
pub(super) mod fpu;
pub(super) mod intc;
pub(super) mod ioports;
pub(super) mod paging;
pub(super) mod pci;
pub(super) mod power;
pub(super) mod reserved;
pub(super) mod syscall;
pub(super) mod timer;
pub(super) mod trap;
