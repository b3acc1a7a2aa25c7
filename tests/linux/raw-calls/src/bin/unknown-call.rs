//! unknown-call: makes a system call Linux does not have, twice. Linux answers ENOSYS;
//! so does Ostrog's personality, which also audits the call once (not once per call) with
//! the program's class.

#[path = "../sys.rs"]
mod sys;

fn main() {
    for _ in 0..2 {
        let ret = sys::syscall(sys::UNKNOWN, [0; 6]);
        println!(
            "unknown-call: system call {} -> {}",
            sys::UNKNOWN,
            sys::errno_name(ret)
        );
    }
    println!("unknown-call: done");
}
