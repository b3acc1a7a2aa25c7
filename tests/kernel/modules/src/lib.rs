//! The kernel's hand-written security modules, each an ordinary type a kernel binary can boot
//! with (`ostrog_kernel::main!(ostrog_test_modules::BootOnly, ...)`):
//!
//! - [`GrantAll`]: grants every event unjudged; the kernel warns at boot that it is insecure.
//!   Only built when an image is explicitly requested insecure.
//! - [`BootOnly`]: lets the kernel start and denies everything else, for a kernel that runs
//!   no program (`cargo ostrog iso`, the boot benchmark).
//! - [`ScenarioPolicy`]: the policy of the kernel's scenario tests, written by hand so that
//!   the tests of the IPC path do not depend on the policy compiler.

#![no_std]

extern crate alloc;

mod boot_only;
mod grant_all;
mod scenario_policy;

pub use boot_only::BootOnly;
pub use grant_all::GrantAll;
pub use scenario_policy::ScenarioPolicy;
