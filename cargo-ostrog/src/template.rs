//! `cargo ostrog new`: a working two-program solution to start from (`cargo-ostrog/template/`):
//! a client and a server of an IDL interface, `init.yaml`, a policy with PAL tests that
//! grants one method and denies another, Klog, and a scenario test.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The template's files: (path in the solution, contents with `{{OSTROG}}` standing for the
/// Ostrog source tree).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../template/Cargo.toml")),
    ("init.yaml", include_str!("../template/init.yaml")),
    ("security.psl", include_str!("../template/security.psl")),
    (
        "spec/app/Greeter.idl",
        include_str!("../template/spec/app/Greeter.idl"),
    ),
    (
        "spec/app/Client.edl",
        include_str!("../template/spec/app/Client.edl"),
    ),
    (
        "spec/app/Server.edl",
        include_str!("../template/spec/app/Server.edl"),
    ),
    (
        "tests/greeting.scenario",
        include_str!("../template/tests/greeting.scenario"),
    ),
    (
        "programs/client/Cargo.toml",
        include_str!("../template/programs/client/Cargo.toml"),
    ),
    (
        "programs/client/build.rs",
        include_str!("../template/programs/client/build.rs"),
    ),
    (
        "programs/client/src/main.rs",
        include_str!("../template/programs/client/src/main.rs"),
    ),
    (
        "programs/server/Cargo.toml",
        include_str!("../template/programs/server/Cargo.toml"),
    ),
    (
        "programs/server/build.rs",
        include_str!("../template/programs/server/build.rs"),
    ),
    (
        "programs/server/src/main.rs",
        include_str!("../template/programs/server/src/main.rs"),
    ),
];

/// Creates the solution folder `path` (which must not exist yet).
pub fn create(path: &Path) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; `new` creates a fresh folder",
            path.display()
        );
    }
    let root = crate::source_root();
    let root = root.canonicalize().unwrap_or(root);
    for (file, text) in FILES {
        let target = path.join(file);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = text.replace("{{OSTROG}}", &root.display().to_string());
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}
