//! `cargo ostrog new`: a working two-program solution to start from (`cargo-ostrog/template/`):
//! a client and a server of an IDL interface, `init.yaml`, a policy with PAL tests that
//! grants one method and denies another, Klog, and a scenario test.
//!
//! `cargo ostrog new --linux`: a solution with one Rust `std` Linux program run through the
//! Linux personality (`cargo-ostrog/template/linux/`, see `docs/linux.md`), its policy with
//! PAL tests, Klog, and a scenario test.

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

/// The Linux template's files, as [`FILES`].
const LINUX_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../template/linux/Cargo.toml")),
    ("init.yaml", include_str!("../template/linux/init.yaml")),
    (
        "security.psl",
        include_str!("../template/linux/security.psl"),
    ),
    (
        "spec/app/Hello.edl",
        include_str!("../template/linux/spec/app/Hello.edl"),
    ),
    (
        "tests/hello.scenario",
        include_str!("../template/linux/tests/hello.scenario"),
    ),
    (
        "programs/hello/Cargo.toml",
        include_str!("../template/linux/programs/hello/Cargo.toml"),
    ),
    (
        "programs/hello/src/main.rs",
        include_str!("../template/linux/programs/hello/src/main.rs"),
    ),
];

/// The solutions `cargo ostrog new` creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// A native client and server.
    Native,
    /// One Rust `std` Linux program.
    Linux,
}

/// Creates the solution folder `path` (which must not exist yet).
pub fn create(path: &Path) -> Result<()> {
    create_from(path, Template::Native)
}

/// Creates the solution folder `path` (which must not exist yet) from `template`.
pub fn create_from(path: &Path, template: Template) -> Result<()> {
    let files = match template {
        Template::Native => FILES,
        Template::Linux => LINUX_FILES,
    };
    if path.exists() {
        bail!(
            "{} already exists; `new` creates a fresh folder",
            path.display()
        );
    }
    let root = crate::source_root();
    let root = root.canonicalize().unwrap_or(root);
    for (file, text) in files {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linux_template_checks_clean_and_runs_its_program_as_linux() {
        let dir = std::env::temp_dir().join(format!("ostrog-new-linux-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        create_from(&dir, Template::Linux).expect("creates");
        assert!(
            create_from(&dir, Template::Linux).is_err(),
            "refuses an existing folder"
        );
        let solution = crate::solution::Solution::open(&dir).expect("opens");
        let classes = crate::solution::check(&solution).expect("checks clean");
        assert!(classes.contains(&"app.Hello".to_string()));
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .expect("init.yaml checks");
        let (linux, native) = crate::linux::entity_paths(&described);
        assert_eq!(linux.into_iter().collect::<Vec<_>>(), ["hello"]);
        assert!(native.contains("Klog"));
        let (passed, failed) =
            ostrog_policy::pal_test_cli(&dir, &mut Vec::new()).expect("PAL tests run");
        assert_eq!((passed > 0, failed), (true, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn docs_linux_shows_the_linux_template_init_yaml() {
        let doc = std::fs::read_to_string(crate::source_root().join("docs/linux.md"))
            .expect("docs/linux.md exists");
        let init = LINUX_FILES
            .iter()
            .find(|(f, _)| *f == "init.yaml")
            .map(|(_, t)| *t)
            .expect("the template has an init.yaml");
        assert!(
            doc.contains(&format!("```yaml\n{init}```")),
            "docs/linux.md must show the Linux template's init.yaml as it is"
        );
    }
}
