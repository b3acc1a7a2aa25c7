//! A bootable ISO image for PCs: GRUB (BIOS and, where GRUB's EFI modules are installed,
//! UEFI) loading the kernel through Multiboot2.
//!
//! This is the path for real hardware: write the ISO to a USB stick or a CD. Development and
//! tests boot the same ELF directly with QEMU's `-kernel` (PVH), which skips the firmware and
//! GRUB; one scenario test boots the ISO to keep this path working.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Builds `out` from the kernel ELF `kernel`, booting with `cmdline`.
pub fn build(kernel: &Path, cmdline: &str, out: &Path) -> Result<PathBuf> {
    crate::setup::ensure_iso_tools()?;
    let staging = out.with_extension("iso.d");
    let grub_dir = staging.join("boot").join("grub");
    std::fs::create_dir_all(&grub_dir)
        .with_context(|| format!("cannot create {}", grub_dir.display()))?;
    std::fs::copy(kernel, staging.join("boot").join("ostrog-kernel"))
        .with_context(|| format!("cannot copy {}", kernel.display()))?;
    let config = format!(
        "set timeout=0\n\
         set default=0\n\
         serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         menuentry \"Ostrog\" {{\n\
         \x20   multiboot2 /boot/ostrog-kernel {cmdline}\n\
         \x20   boot\n\
         }}\n"
    );
    std::fs::write(grub_dir.join("grub.cfg"), config)?;
    let output = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(out)
        .arg(&staging)
        .output()
        .context("cannot run grub-mkrescue")?;
    if !output.status.success() {
        bail!(
            "grub-mkrescue failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(out.to_path_buf())
}
