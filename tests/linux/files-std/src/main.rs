//! std::fs through the Linux personality and the VFS server: `files-std DATA ROM [policy]`
//! works in the folder DATA (`/data/Files` on Ostrog, a temporary folder on the host) and
//! reads its own executable and `etc/files-std.conf` (shipped in the solution's `files/`)
//! from ROM (`/rom`). It prints only what the host prints too; with `policy` it then tries
//! what the test policy denies its class (lx.Files) and prints the errno of each attempt
//! (Ostrog only: the host has no such policy).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

fn kind(r: std::io::Result<impl Sized>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn errno(r: std::io::Result<impl Sized>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("errno {}", e.raw_os_error().unwrap_or(0)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(data), Some(rom)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: files-std DATA ROM [policy]");
        std::process::exit(2);
    };
    let base = format!("{data}/work");
    let p = |rest: &str| format!("{base}/{rest}");

    fs::create_dir_all(p("a/b/c")).unwrap();
    println!(
        "files-std: create_dir_all a/b/c: {}",
        Path::new(&p("a/b/c")).is_dir()
    );
    fs::write(p("a/hello.txt"), "hello, files\n").unwrap();
    print!(
        "files-std: read back: {}",
        fs::read_to_string(p("a/hello.txt")).unwrap()
    );
    let mut f = OpenOptions::new()
        .append(true)
        .open(p("a/hello.txt"))
        .unwrap();
    writeln!(f, "a second line, appended").unwrap();
    drop(f);
    let text = fs::read_to_string(p("a/hello.txt")).unwrap();
    println!(
        "files-std: after append: {} lines, {} bytes",
        text.lines().count(),
        text.len()
    );

    // A file of several requests' size, read back whole and in part.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(p("big.bin"), &big).unwrap();
    let back = fs::read(p("big.bin")).unwrap();
    println!(
        "files-std: big: {} bytes, equal: {}",
        back.len(),
        back == big
    );
    let mut f = File::open(p("big.bin")).unwrap();
    f.seek(SeekFrom::Start(50_000)).unwrap();
    let mut four = [0u8; 4];
    f.read_exact(&mut four).unwrap();
    println!("files-std: at 50000: {four:?}");
    let end = f.seek(SeekFrom::End(-10)).unwrap();
    println!("files-std: seek to end - 10: {end}");
    drop(f);
    let f = OpenOptions::new().write(true).open(p("big.bin")).unwrap();
    f.set_len(10).unwrap();
    f.sync_all().unwrap();
    drop(f);
    println!(
        "files-std: after set_len: {} bytes",
        fs::metadata(p("big.bin")).unwrap().len()
    );

    let m = fs::metadata(p("a/hello.txt")).unwrap();
    println!(
        "files-std: metadata hello.txt: len {} file {} dir {}",
        m.len(),
        m.is_file(),
        m.is_dir()
    );
    let m = fs::metadata(p("a")).unwrap();
    println!(
        "files-std: metadata a: file {} dir {}",
        m.is_file(),
        m.is_dir()
    );

    fs::write(p("a/second.txt"), b"2").unwrap();
    let mut names: Vec<String> = fs::read_dir(p("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("files-std: read_dir a: {names:?}");

    fs::rename(p("a/hello.txt"), p("a/b/renamed.txt")).unwrap();
    println!(
        "files-std: rename: old {} new {}",
        Path::new(&p("a/hello.txt")).exists(),
        Path::new(&p("a/b/renamed.txt")).exists()
    );
    fs::remove_file(p("a/second.txt")).unwrap();
    println!(
        "files-std: remove_file: exists {}",
        Path::new(&p("a/second.txt")).exists()
    );

    println!(
        "files-std: read a missing file: {}",
        kind(fs::read(p("missing")))
    );
    println!(
        "files-std: create_dir an existing one: {}",
        kind(fs::create_dir(p("a")))
    );
    println!(
        "files-std: remove_dir a non-empty one: {}",
        kind(fs::remove_dir(p("a")))
    );
    println!(
        "files-std: read_to_string a folder: {}",
        kind(fs::read_to_string(p("a")))
    );
    println!(
        "files-std: open a file as a folder: {}",
        kind(fs::read_dir(p("big.bin")))
    );
    let exclusive = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p("big.bin"));
    println!(
        "files-std: create_new an existing file: {}",
        kind(exclusive)
    );

    // Relative paths: the working directory.
    std::env::set_current_dir(p("a/b")).unwrap();
    print!(
        "files-std: relative read: {}",
        fs::read_to_string("renamed.txt")
            .unwrap()
            .lines()
            .next()
            .unwrap_or_default()
    );
    println!();
    println!(
        "files-std: ../../big.bin: {} bytes",
        fs::metadata("../../big.bin").unwrap().len()
    );

    let me = fs::read(format!("{rom}/files-std")).unwrap();
    println!(
        "files-std: rom: ELF {}, same as its length {}",
        me.starts_with(b"\x7fELF"),
        me.len() == fs::metadata(format!("{rom}/files-std")).unwrap().len() as usize
    );

    // A file the solution ships in its files/ folder (the host: the same file copied there).
    println!(
        "files-std: rom/etc/files-std.conf: {:?}",
        fs::read_to_string(format!("{rom}/etc/files-std.conf")).map_err(|e| e.kind())
    );

    fs::remove_dir_all(&base).unwrap();
    println!(
        "files-std: remove_dir_all: exists {}",
        Path::new(&base).exists()
    );

    if args.get(3).map(String::as_str) == Some("policy") {
        // The policy lets lx.Files write only under /data/Files and read /rom.
        println!(
            "files-std: policy: write /data/Other/x: {}",
            errno(fs::write("/data/Other/x", b"x"))
        );
        println!(
            "files-std: policy: escape with ..: {}",
            errno(fs::write(format!("{data}/../Other/x"), b"x"))
        );
        println!(
            "files-std: policy: mkdir /etc: {}",
            errno(fs::create_dir("/etc"))
        );
        println!("files-std: policy: list /: {}", errno(fs::read_dir("/")));
        println!(
            "files-std: policy: write /rom/files-std: {}",
            errno(fs::write(format!("{rom}/files-std"), b"x"))
        );
        println!(
            "files-std: policy: own folder still works: {}",
            errno(fs::write(format!("{data}/ok"), b"ok"))
        );
        let e = fs::read("/data/Other/x").unwrap_err();
        println!(
            "files-std: policy: read /data/Other/x: {:?}",
            e.kind() == ErrorKind::PermissionDenied
        );
    }
    println!("files-std: done");
}
