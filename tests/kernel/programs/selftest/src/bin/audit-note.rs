//! Writes audit notes (`audit.Note`): the kernel records them with this program's class and
//! SID, shows control characters as `?` (no forged lines), and refuses a text over 128
//! bytes.
#![no_std]
#![no_main]

use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

fn main() -> i32 {
    match sys::audit_note("audit-note: hello\n[audit] forged\x1b[2J") {
        Ok(()) => println!("audit-note: noted"),
        Err(s) => println!("audit-note: FAILED to note: {}", s.name()),
    }
    let long = [b'x'; sys::AUDIT_NOTE_MAX + 1];
    let text = core::str::from_utf8(&long).unwrap_or("");
    match sys::audit_note(text) {
        Ok(()) => println!("audit-note: FAILED: a note of 129 bytes was taken"),
        Err(s) => println!("audit-note: a note of 129 bytes is refused: {}", s.name()),
    }
    0
}
