//! A static Linux program whose standard error goes to the log server (its entity has a
//! channel `log`): each line is a record, whatever the writes that made it; standard output
//! stays on the console.
use std::io::Write;

fn main() {
    println!("linux: standard output stays on the console");
    eprintln!("linux: a line on standard error");
    let mut err = std::io::stderr();
    let _ = err.write_all(b"linux: a line in ");
    let _ = err.write_all(b"two writes\nlinux: and a second in the same write\n");
    let _ = err.write_all(b"linux: bad UTF-8 \xff shown as a replacement\n");
    let _ = err.write_all(b"linux: the last words, without a newline");
}
