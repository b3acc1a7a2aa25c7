//! Building a kernel image.
//!
//! The kernel is a library (`kernel/`). An image's kernel is a small binary crate that this
//! module writes into a folder of the image: `main.rs` names the security module and embeds
//! the ROMFS (`ostrog_kernel::main!(Module, include_bytes!("romfs.cpio"))`), `build.rs`
//! passes the kernel's linker script, and for a solution `policy.rs` is the module compiled
//! from its policy. Every such crate builds in one target folder, so the kernel library is
//! compiled once per architecture and another image recompiles only its small binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo metadata` of the Ostrog workspace (its own packages only).
pub fn workspace_metadata() -> Result<serde_json::Value> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::source_root())
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed invalid JSON")?;
    Ok(meta)
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> Result<PathBuf> {
    let meta = workspace_metadata()?;
    match meta.get("target_directory").and_then(|v| v.as_str()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => bail!("cargo metadata did not name a target directory"),
    }
}

/// Creates the target folder `target` shared by several builds and takes its build lock,
/// held until the returned file is dropped.
pub fn lock_target(target: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    let lock = std::fs::File::create(target.join("ostrog-build.lock"))
        .context("cannot create the build lock")?;
    lock.lock().context("cannot take the build lock")?;
    Ok(lock)
}

/// The security module a kernel is built with.
#[derive(Clone, Debug)]
pub enum Security {
    /// The module compiled from a solution's policy: the file `ostrog-policy` wrote.
    Policy(PathBuf),
    /// One of the kernel's hand-written modules, named by its type in `ostrog-test-modules`
    /// (`tests/kernel/modules`): `BootOnly`, `ScenarioPolicy`.
    Testing(&'static str),
    /// No policy: every event is granted (`GrantAll`) and the kernel says so at boot. Only on
    /// request.
    Insecure,
}

/// The hand-written module of a kernel that runs no program: it lets the kernel start and
/// denies every other event.
pub fn boot_only_module() -> Security {
    Security::Testing("BootOnly")
}

/// Builds the kernel for `arch` (release profile) with an empty ROMFS and the boot-only
/// security module; returns the path of the ELF image.
pub fn build(arch: Arch) -> Result<PathBuf> {
    let dir = target_dir()?
        .join("ostrog")
        .join(arch.name())
        .join("boot-only-kernel");
    build_with_romfs(arch, &dir, None, &boot_only_module())
}

/// The `Cargo.toml` of a kernel binary crate: the kernel library and what the module needs.
/// The crate is a workspace of its own (it lives in a target folder); its profiles are those
/// of the Ostrog workspace.
fn manifest(security: &Security) -> String {
    let root = crate::source_root();
    let path = |dir: &str| format!("{:?}", root.join(dir).display().to_string());
    let module = match security {
        Security::Policy(_) => format!("ostrog-ksm = {{ path = {} }}", path("ksm")),
        Security::Testing(_) | Security::Insecure => format!(
            "ostrog-ksm = {{ path = {} }}\nostrog-test-modules = {{ path = {} }}",
            path("ksm"),
            path("tests/kernel/modules")
        ),
    };
    format!(
        "# Written by `cargo ostrog` (cargo-ostrog/src/kernel.rs): the kernel of one image.\n\
         [package]\n\
         name = \"kernel-image\"\n\
         version = \"0.0.0\"\n\
         edition = \"2021\"\n\
         publish = false\n\n\
         [[bin]]\n\
         name = \"ostrog-kernel\"\n\
         path = \"main.rs\"\n\
         test = false\n\
         bench = false\n\n\
         [dependencies]\n\
         ostrog-kernel = {{ path = {kernel}{features} }}\n\
         {module}\n\n\
         [profile.dev]\n\
         panic = \"abort\"\n\n\
         [profile.release]\n\
         panic = \"abort\"\n\
         debug = true\n\
         opt-level = 3\n\n\
         [workspace]\n",
        kernel = path("kernel"),
        features = kernel_features(),
    )
}

/// Features of the kernel library a build asks for through `OSTROG_KERNEL_FEATURES` (a
/// comma-separated list; `cargo xtask bench ipc` sets `probes` for its breakdown image):
/// the text of the kernel dependency's `features` key, empty for none.
fn kernel_features() -> String {
    let wanted = std::env::var("OSTROG_KERNEL_FEATURES").unwrap_or_default();
    let names: Vec<String> = wanted
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| format!("{f:?}"))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(", features = [{}]", names.join(", "))
    }
}

/// The build script of a kernel binary crate: links with the kernel's linker script.
const BUILD_SCRIPT: &str = "\
// Written by `cargo ostrog`: links the kernel binary with the linker script the kernel
// library names.
fn main() {
    if let Ok(script) = std::env::var(\"DEP_OSTROG_KERNEL_LINKER_SCRIPT\") {
        println!(\"cargo:rustc-link-arg-bins=-T{script}\");
    }
}
";

/// The `main.rs` of a kernel binary crate booting with `security`.
fn main_rs(security: &Security) -> String {
    let header =
        "// Written by `cargo ostrog` (cargo-ostrog/src/kernel.rs): the Ostrog kernel library\n\
                  // booted with this image's security module and ROMFS (`romfs.cpio`).\n\
                  #![no_std]\n\
                  #![no_main]\n\n";
    match security {
        Security::Policy(_) => format!(
            "{header}\
             extern crate alloc;\n\n\
             // The module compiled from the solution's policy; the security-module crate it\n\
             // builds on carries the full deny list itself.\n\
             #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::panic)]\n\
             mod policy;\n\n\
             /// The solution's security module, as the kernel boots it.\n\
             enum Solution {{}}\n\n\
             impl ostrog_kernel::Module for Solution {{\n    \
                 const SOLUTION: &'static str = policy::SOLUTION;\n    \
                 const INSECURE: bool = policy::INSECURE;\n\n    \
                 fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule> {{\n        \
                     policy::module()\n    \
                 }}\n\
             }}\n\n\
             ostrog_kernel::main!(Solution, include_bytes!(\"romfs.cpio\"));\n"
        ),
        Security::Testing(module) => format!(
            "{header}ostrog_kernel::main!(ostrog_test_modules::{module}, include_bytes!(\"romfs.cpio\"));\n"
        ),
        Security::Insecure => format!(
            "{header}ostrog_kernel::main!(ostrog_test_modules::GrantAll, include_bytes!(\"romfs.cpio\"));\n"
        ),
    }
}

/// Writes `contents` to `path` unless it already holds them (an unchanged file keeps its
/// time, so Cargo does not rebuild for it).
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// Builds the kernel for `arch` in the binary crate folder `dir`, embedding the ROMFS archive
/// `romfs` (empty when `None`) and the security module `security`; returns the path of the
/// ELF image (`dir/ostrog-kernel`).
pub fn build_with_romfs(
    arch: Arch,
    dir: &Path,
    romfs: Option<&Path>,
    security: &Security,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Security::Policy(path) = security {
        let module =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        write_if_changed(&dir.join("policy.rs"), &module)?;
    }
    let archive = match romfs {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => ostrog_romfs::Writer::new().finish(),
    };
    write_if_changed(&dir.join("romfs.cpio"), &archive)?;
    write_if_changed(&dir.join("Cargo.toml"), manifest(security).as_bytes())?;
    write_if_changed(&dir.join("build.rs"), BUILD_SCRIPT.as_bytes())?;
    write_if_changed(&dir.join("main.rs"), main_rs(security).as_bytes())?;
    // The workspace's versions of the kernel's dependencies, so nothing is resolved anew.
    let lock = crate::source_root().join("Cargo.lock");
    let lock = std::fs::read(&lock).with_context(|| format!("cannot read {}", lock.display()))?;
    write_if_changed(&dir.join("Cargo.lock"), &lock)?;

    // One target folder for every kernel binary: the library is built once per architecture.
    // Binaries share the name `ostrog-kernel`: another build must not replace ours between
    // building and copying it, so both happen under a lock.
    let target = target_dir()?.join("ostrog").join("kernels-target");
    let _lock = lock_target(&target)?;
    let status = Command::new(cargo())
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            arch.kernel_target(),
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        // The Ostrog tree's `.cargo/config.toml` sets the code model of bare-metal code;
        // Cargo reads it from the working directory.
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the kernel for {arch} failed");
    }
    let built = target
        .join(arch.kernel_target())
        .join("release")
        .join("ostrog-kernel");
    let image = dir.join("ostrog-kernel");
    std::fs::copy(&built, &image)
        .with_context(|| format!("the kernel build did not produce {}", built.display()))?;
    Ok(image)
}
