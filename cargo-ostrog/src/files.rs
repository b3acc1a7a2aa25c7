//! The files of a solution's `files/` folder, which go into the ROMFS by their path below
//! it (docs/solutions.md, "Files").

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The folder of a solution whose files go into the ROMFS, by their paths below it
/// (`files/etc/app.conf` is the ROMFS file `etc/app.conf`, `/rom/etc/app.conf` to the VFS
/// server).
pub const FILES_DIR: &str = "files";

/// The largest file `files/` may hold: 16 MiB (the kernel copies a ROMFS file into memory
/// for the process that reads it).
pub const FILE_MAX: u64 = 16 << 20;

/// The most `files/` may hold in all: 64 MiB (the kernel image embeds the ROMFS).
pub const FILES_TOTAL_MAX: u64 = 64 << 20;

/// The longest ROMFS name: 255 bytes (`kl.core.ROMFS` takes paths of fewer than 256).
pub const ROMFS_NAME_MAX: usize = 255;

/// The files under `DIR/files/`, recursively, as `(ROMFS name, contents)` sorted by name;
/// none without the folder. Every problem is an error naming the file: a name that is not
/// UTF-8 or longer than [`ROMFS_NAME_MAX`], a symbolic link or other non-regular file, a
/// file over [`FILE_MAX`], all of them over [`FILES_TOTAL_MAX`].
pub fn solution_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let root = dir.join(FILES_DIR);
    let mut out = Vec::new();
    match std::fs::symlink_metadata(&root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", root.display())),
        Ok(m) if !m.is_dir() => bail!(
            "{}: not a folder (a solution's `{FILES_DIR}/` holds the files for the ROMFS)",
            root.display()
        ),
        Ok(_) => {}
    }
    let mut total = 0u64;
    collect_files(&root, "", &mut out, &mut total)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    total: &mut u64,
) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(String::from) else {
            bail!(
                "{}: the name is not UTF-8 (ROMFS names are UTF-8)",
                path.display()
            );
        };
        let name = format!("{prefix}{file_name}");
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            collect_files(&path, &format!("{name}/"), out, total)?;
            continue;
        }
        if !meta.is_file() {
            bail!(
                "{}: not a regular file (a symbolic link, device or socket); the ROMFS holds \
                 regular files only",
                path.display()
            );
        }
        if name.len() > ROMFS_NAME_MAX {
            bail!(
                "{}: its ROMFS name `{name}` is {} bytes long, at most {ROMFS_NAME_MAX}",
                path.display(),
                name.len()
            );
        }
        if meta.len() > FILE_MAX {
            bail!(
                "{}: {} bytes, more than the {FILE_MAX} a ROMFS file may hold",
                path.display(),
                meta.len()
            );
        }
        *total += meta.len();
        if *total > FILES_TOTAL_MAX {
            bail!(
                "{}: with it the files of `{FILES_DIR}/` exceed {FILES_TOTAL_MAX} bytes in all",
                path.display()
            );
        }
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        out.push((name, data));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ostrog-files-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(FILES_DIR)).unwrap();
        dir
    }

    #[test]
    fn files_are_collected_recursively_by_relative_path() {
        let dir = files_dir("ok");
        let files = dir.join(FILES_DIR);
        std::fs::create_dir_all(files.join("etc/app")).unwrap();
        std::fs::create_dir_all(files.join("empty")).unwrap();
        std::fs::write(files.join("motd"), "hi\n").unwrap();
        std::fs::write(files.join("etc/app/app.conf"), "level = 3\n").unwrap();
        std::fs::write(files.join("etc/b"), "").unwrap();
        let got = solution_files(&dir).unwrap();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["etc/app/app.conf", "etc/b", "motd"]);
        assert_eq!(got[0].1, b"level = 3\n");
        // The names make a valid ROMFS, found under the same names.
        let mut w = ostrog_romfs::Writer::new();
        for (n, d) in &got {
            w.add_file(n, d).unwrap();
        }
        let bytes = w.finish();
        let archive = ostrog_romfs::Archive::new(&bytes).unwrap();
        assert_eq!(archive.find("etc/app/app.conf"), Some(&b"level = 3\n"[..]));
        // No folder, no files.
        std::fs::remove_dir_all(&files).unwrap();
        assert!(solution_files(&dir).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_files_are_refused_naming_the_file() {
        let err = |dir: &Path| format!("{:#}", solution_files(dir).unwrap_err());
        let dir = files_dir("big");
        let big = dir.join(FILES_DIR).join("big.bin");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(FILE_MAX + 1)
            .unwrap();
        let e = err(&dir);
        assert!(e.contains("big.bin") && e.contains("more than"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();

        let dir = files_dir("total");
        for i in 0..5 {
            std::fs::File::create(dir.join(FILES_DIR).join(format!("f{i}")))
                .unwrap()
                .set_len(FILE_MAX)
                .unwrap();
        }
        assert!(err(&dir).contains("in all"));
        std::fs::remove_dir_all(&dir).unwrap();

        let dir = files_dir("long");
        let long = "d".repeat(200);
        std::fs::create_dir_all(dir.join(FILES_DIR).join(&long)).unwrap();
        std::fs::write(dir.join(FILES_DIR).join(&long).join("x".repeat(60)), "").unwrap();
        assert!(err(&dir).contains("at most 255"));
        std::fs::remove_dir_all(&dir).unwrap();

        #[cfg(unix)]
        {
            let dir = files_dir("link");
            std::os::unix::fs::symlink("/etc/passwd", dir.join(FILES_DIR).join("pw")).unwrap();
            let e = err(&dir);
            assert!(e.contains("pw") && e.contains("not a regular file"), "{e}");
            std::fs::remove_dir_all(&dir).unwrap();

            use std::os::unix::ffi::OsStrExt;
            let dir = files_dir("utf8");
            let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
            std::fs::write(dir.join(FILES_DIR).join(bad), "").unwrap();
            assert!(err(&dir).contains("not UTF-8"));
            std::fs::remove_dir_all(&dir).unwrap();
        }

        let dir = files_dir("notdir");
        std::fs::remove_dir_all(dir.join(FILES_DIR)).unwrap();
        std::fs::write(dir.join(FILES_DIR), "").unwrap();
        assert!(err(&dir).contains("not a folder"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
