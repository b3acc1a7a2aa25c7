//! Pipes between processes through Rust `std`: the program runs itself (`./pipes-std`) with
//! an argument that makes it a child:
//!
//! - `upper`: copies standard input to standard output in upper case, and its byte count
//!   to standard error;
//! - `hello`: prints two lines and exits with 3;
//! - `count`: counts the bytes of standard input (and sums them) until end of file;
//! - `early`: reads 10 bytes and exits without reading the rest.
//!
//! Without an argument it is the parent: each case prints what came back. Nothing printed
//! depends on the run, so the host's output is the reference.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

const ME: &str = "./pipes-std";

fn child(role: &str) {
    match role {
        "upper" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).unwrap();
            print!("{}", text.to_uppercase());
            eprintln!("upper: {} bytes", text.len());
        }
        "hello" => {
            println!("hello: line one");
            println!("hello: line two");
            std::process::exit(3);
        }
        "count" => {
            let mut buf = vec![0u8; 10_000];
            let (mut count, mut sum, mut reads) = (0usize, 0u64, 0usize);
            loop {
                match std::io::stdin().read(&mut buf).unwrap() {
                    0 => break,
                    n => {
                        count += n;
                        reads += 1;
                        sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
                    }
                }
            }
            // How many reads it took depends on timing: only that there were several.
            println!(
                "count: {count} bytes, sum {sum}, several reads: {}",
                reads > 1
            );
        }
        "early" => {
            let mut first = [0u8; 10];
            std::io::stdin().read_exact(&mut first).unwrap();
            println!("early: read {:?}, leaving", String::from_utf8_lossy(&first));
        }
        other => panic!("unknown role {other}"),
    }
}

fn main() {
    if let Some(role) = std::env::args().nth(1) {
        child(&role);
        return;
    }
    // 1. A filter: standard input and output piped, standard error piped too (read together
    //    with standard output by `wait_with_output`: poll on two pipes).
    let mut filter = Command::new(ME)
        .arg("upper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = filter.stdin.take().unwrap();
    input
        .write_all(b"hello through a pipe\nsecond line\n")
        .unwrap();
    // Closing the write end is the filter's end of file.
    drop(input);
    let out = filter.wait_with_output().unwrap();
    print!("filter stdout: {}", String::from_utf8_lossy(&out.stdout));
    print!("filter stderr: {}", String::from_utf8_lossy(&out.stderr));
    println!("filter status: {:?}", out.status.code());

    // 2. output(): everything the child printed, then end of file when it exits. (Standard
    //    input inherited: output() would otherwise open /dev/null, and there are no files.)
    let out = Command::new(ME)
        .arg("hello")
        .stdin(Stdio::inherit())
        .output()
        .unwrap();
    print!("output: {}", String::from_utf8_lossy(&out.stdout));
    println!("output status: {:?}", out.status.code());

    // 3. Flow control: 200 KiB, three times what a pipe holds, to a child that counts them.
    let mut counter = Command::new(ME)
        .arg("count")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
    let mut input = counter.stdin.take().unwrap();
    input.write_all(&data).unwrap();
    drop(input);
    let mut report = String::new();
    counter
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    print!("{report}");
    println!("expected: {} bytes, sum {expected}", data.len());
    println!("count status: {:?}", counter.wait().unwrap().code());

    // 4. A broken pipe: the reader has exited, so a write fails with EPIPE (Rust ignores
    //    SIGPIPE, so the error is returned, not the signal's end).
    let mut early = Command::new(ME)
        .arg("early")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = early.stdin.take().unwrap();
    input.write_all(b"0123456789").unwrap();
    println!("early status: {:?}", early.wait().unwrap().code());
    let err = input.write_all(&[b'x'; 100_000]).unwrap_err();
    println!("write after the reader exited: {:?}", err.kind());

    // 5. End of file when the writer exits, read after the child is gone.
    let mut hello = Command::new(ME)
        .arg("hello")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = hello.wait().unwrap();
    let mut rest = String::new();
    hello
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    println!(
        "after exit: {} lines, {:?}",
        rest.lines().count(),
        status.code()
    );
    println!("pipes-std: done");
}
