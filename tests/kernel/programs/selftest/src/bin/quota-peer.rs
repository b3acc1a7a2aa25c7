//! Runs beside `quota-hog`: while the hog holds all it may, this program still allocates
//! (`vmm.Allocate`, `romfs.Read`), and it gives a child a memory limit with
//! `task.SetMemoryLimit` (refused above its own limit, or below what the child already
//! holds; refused once the child is started). Prints `quota-peer: FAILED ...` when a check
//! does not hold.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::{self, VMM_WRITE};

ostrog_rt::main!(main);

const MIB: usize = 1024 * 1024;
const PAGE: usize = 4096;

fn expect(got: Result<(), Status>, want: Status, what: &str) -> i32 {
    match got {
        Err(e) if e == want => 0,
        Err(e) => {
            println!("quota-peer: FAILED {what}: {}", e.name());
            1
        }
        Ok(()) => {
            println!("quota-peer: FAILED {what}: accepted");
            1
        }
    }
}

fn main() -> i32 {
    let mut failed = 0;
    // Let the hog take what it may first (it then holds it for 4 s).
    let _ = sys::sleep_ms(2500);
    let mut got = 0;
    for _ in 0..32 {
        match sys::vmm().allocate(MIB as u64, VMM_WRITE) {
            Ok(r) => {
                for page in (0..MIB).step_by(PAGE) {
                    // SAFETY: the pages were just mapped writable for this process.
                    unsafe { core::ptr::write_volatile((r.addr as usize + page) as *mut u8, 2) };
                }
                got += 1;
            }
            Err(e) => {
                println!(
                    "quota-peer: FAILED vmm.Allocate refused after {got} MiB: {}",
                    sys::call_status(e).name()
                );
                failed += 1;
                break;
            }
        }
    }
    if let Err(e) = sys::romfs_read("quota-hog") {
        println!("quota-peer: FAILED romfs.Read refused: {}", e.name());
        failed += 1;
    }
    println!("quota-peer: allocated {got} MiB and read a file while the hog held its limit");

    // A child's limit: at most the peer's own, at least what its image holds.
    let (_, own) = sys::memory_usage().unwrap_or((0, 0));
    let mut tasks = sys::tasks();
    let child = match tasks.create(
        "small".into(),
        "hello".into(),
        "hello".into(),
        Default::default(),
        Default::default(),
        15,
    ) {
        Ok(r) => r.task,
        Err(e) => {
            println!("quota-peer: FAILED create: {}", sys::call_status(e).name());
            return failed + 1;
        }
    };
    failed += expect(
        sys::set_memory_limit(child, own + MIB as u64),
        Status::InvalidArgument,
        "a child's limit above the creator's",
    );
    failed += expect(
        sys::set_memory_limit(child, PAGE as u64),
        Status::NoMemory,
        "a child's limit below its image",
    );
    if let Err(e) = sys::set_memory_limit(child, 2 * MIB as u64) {
        println!("quota-peer: FAILED a 2 MiB limit refused: {}", e.name());
        failed += 1;
    }
    if let Err(e) = tasks.start(child) {
        println!("quota-peer: FAILED start: {}", sys::call_status(e).name());
        failed += 1;
    }
    failed += expect(
        sys::set_memory_limit(child, MIB as u64),
        Status::Busy,
        "a started child's limit",
    );
    match tasks.wait(child) {
        Ok(r) if r.code == 0 => {}
        Ok(r) => {
            println!("quota-peer: FAILED the child ended with {}", r.code);
            failed += 1;
        }
        Err(e) => {
            println!("quota-peer: FAILED wait: {e:?}");
            failed += 1;
        }
    }
    println!("quota-peer: a child's limit is set before it starts, within the creator's");
    println!("quota-peer: done, {failed} failed");
    failed
}
