//! The kernel fuzzer (issue 17): random system calls and core requests from several
//! processes at once, with random thread and process lifecycles, deterministic from a seed.
//!
//! Run as `kfuzz` it is the parent: in rounds it starts [`WORKERS`] copies of itself (the
//! argument `w SEED ROUND INDEX CALLS`), lets them run, kills those still running at the
//! round's deadline (blocked in the kernel, most of them), and reaps them. A worker makes
//! its share of calls and ends with the number it made as its status, so the parent counts
//! only calls that really happened. The run ends when the calls add up to the total; the
//! kernel then prints its heap and frame use, which must be back at the baseline.
//!
//! Most requests are structurally valid: the fixed part of each method of the core
//! endpoints is laid out from the IDL compiler's layout (`build.rs`, `CORE_METHODS`), with
//! random integers (biased to edges), handle parameters naming random slots that carry
//! handles the worker holds (or forged numbers, rights and modes), and `bytes`/`string`
//! parameters as arena references to random data (within or beyond their bounds). A share
//! is then corrupted (a byte flipped, the length cut, a header word changed), and some calls
//! are raw system calls with random numbers, pointers and lengths.
//!
//! The seed and the call count are `OSTROG_KFUZZ` (`SEED,CALLS`) when the program is built
//! (`cargo xtask fuzz kernel --seed S --calls N`); the default is seed 1 and 20,000 calls.
//! Each worker's sequence depends only on the seed, its round and index; the interleaving
//! of the workers depends on the scheduler. Every 1,000 calls a worker prints where it is,
//! so a kernel failure shows the last point reached.
//!
//! Left out, because a random value there ends the worker or the run rather than testing
//! the kernel: starting programs (`task.Create`, `task.Fork`, `thread.Create` with a random
//! entry; the lifecycles below start them properly), `task.Exit`/`thread.Exit`,
//! `task.Parent` (its handle would let a worker kill the parent), `task.TrapEntry`, console
//! and audit writes (random text on the console the test reads), `io.PciWrite` (it would
//! reprogram the machine's devices), and `vmm.Free`/`vmm.Protect` outside the worker's own
//! scratch memory (they would unmap its code).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use ostrog_abi::message::{Header, HANDLE_COPY, HANDLE_MOVE, HANDLE_SLOT_SIZE, HEADER_SIZE};
use ostrog_abi::syscall as nr;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::sys::{self, CoreTransport};
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

/// A request parameter of a core method, as its layout places it in the fixed part.
#[derive(Clone, Copy)]
enum Param {
    /// An integer of this many bytes.
    Int(u32),
    /// A handle: the index of a slot.
    Handle,
    /// `bytes<N>`: an arena reference.
    Bytes(u32),
    /// `string<N>`: an arena reference.
    Str(u32),
    /// Anything else (arrays, structs): this many bytes of random data. No core request
    /// has one today; `build.rs` writes it for any other layout.
    #[allow(dead_code)]
    Other(u32),
}

/// A method of a core endpoint.
struct CoreMethod {
    name: &'static str,
    riid: u32,
    mid: u32,
    fixed: u32,
    params: &'static [(&'static str, u32, Param)],
}

include!(concat!(env!("OUT_DIR"), "/core_methods.rs"));

const LEFT_OUT: [&str; 11] = [
    "kl.core.Task.Create",
    "kl.core.Task.Fork",
    "kl.core.Task.Exit",
    "kl.core.Task.Parent",
    "kl.core.Task.TrapEntry",
    "kl.core.Thread.Create",
    "kl.core.Thread.Exit",
    "kl.core.Console.Write",
    "kl.core.Audit.Note",
    "kl.core.IO.PciWrite",
    "kl.core.VMM.Free",
];

/// Processes fuzzing at once.
const WORKERS: u64 = 3;
/// Calls a worker makes in one round (at most).
const CALLS_PER_WORKER: u64 = 700;
/// A round's deadline: workers still running then are killed.
const ROUND_NS: u64 = 3_000_000_000;
/// Scratch memory a worker allocates, the only memory random addresses point into.
const SCRATCH: usize = 64 * 1024;
/// Handles a worker keeps to use in later requests.
const POOL: usize = 32;

/// xorshift64*: small, and the same sequence on every architecture.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn config() -> (u64, u64) {
    let text = option_env!("OSTROG_KFUZZ").unwrap_or("1,20000");
    let mut parts = text.split(',').map(|p| p.trim().parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(seed), Some(calls)) => (seed, calls),
        _ => (1, 20_000),
    }
}

fn tasks() -> TaskProxy<CoreTransport> {
    TaskProxy {
        transport: CoreTransport,
        riid: riid::TASK,
    }
}

/// What one worker holds while it fuzzes.
struct Worker {
    rng: Rng,
    scratch: usize,
    handles: Vec<u32>,
    /// Futex words and blocked threads are left to the process's end.
    threads: u32,
}

impl Worker {
    /// An address: into the scratch memory mostly, else null, the kernel half, the top, an
    /// unaligned or unmapped one.
    fn address(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => 0,
            1 => 0xffff_8000_0000_0000 + self.rng.below(1 << 30),
            2 => u64::MAX - self.rng.below(4096),
            3 => 0x5000_0000 + self.rng.below(1 << 20),
            _ => (self.scratch + self.rng.below(SCRATCH as u64) as usize) as u64,
        }
    }

    /// An integer biased to the edges: 0, 1, small, powers of two and their neighbours,
    /// the type's maximum, an address, a handle.
    fn integer(&mut self) -> u64 {
        match self.rng.below(10) {
            0 => 0,
            1 => 1,
            2 => self.rng.below(64),
            3 => {
                let p = 1u64 << self.rng.below(64);
                p.wrapping_add(self.rng.below(3)).wrapping_sub(1)
            }
            4 => u64::MAX,
            5 => self.address(),
            6 => self.handle() as u64,
            7 => 4096 * self.rng.below(64),
            _ => self.rng.next(),
        }
    }

    /// A handle number: one the worker holds, mostly; else a forged one.
    fn handle(&mut self) -> u32 {
        if !self.handles.is_empty() && self.rng.chance(70) {
            let i = self.rng.below(self.handles.len() as u64) as usize;
            return self.handles[i];
        }
        match self.rng.below(4) {
            0 => 0,
            1 => self.rng.below(64) as u32,
            2 => u32::MAX,
            _ => self.rng.next() as u32,
        }
    }

    fn keep_handle(&mut self, h: u32) {
        if h == 0 || self.handles.contains(&h) {
            return;
        }
        if self.handles.len() >= POOL {
            let i = self.rng.below(POOL as u64) as usize;
            self.handles[i] = h;
        } else {
            self.handles.push(h);
        }
    }

    /// A request of `m` laid out from its IDL layout, with random values.
    fn request(&mut self, m: &CoreMethod) -> Vec<u8> {
        let slots = self.rng.below(4) as usize;
        let mut fixed = vec![0u8; m.fixed as usize];
        let mut arena: Vec<u8> = Vec::new();
        for &(name, offset, param) in m.params {
            let at = offset as usize;
            match param {
                Param::Int(size) => {
                    let mut v = self.integer();
                    // Waits end soon: a worker that sleeps for an hour tests nothing.
                    if name.contains("timeout") || name == "ms" || name == "ns" {
                        v %= if name.ends_with("ms") { 3 } else { 3_000_000 };
                    }
                    if m.name == "kl.core.VMM.Protect" && name == "addr" {
                        v = (self.scratch as u64 + self.rng.below(SCRATCH as u64)) & !4095;
                    }
                    let bytes = v.to_le_bytes();
                    let n = (size as usize).min(8);
                    if let Some(dst) = fixed.get_mut(at..at + n) {
                        dst.copy_from_slice(&bytes[..n]);
                    }
                }
                Param::Handle => {
                    let index = if slots > 0 && self.rng.chance(90) {
                        self.rng.below(slots as u64) as u32
                    } else {
                        self.rng.below(16) as u32
                    };
                    if let Some(dst) = fixed.get_mut(at..at + 4) {
                        dst.copy_from_slice(&index.to_le_bytes());
                    }
                }
                Param::Bytes(bound) | Param::Str(bound) => {
                    let len = match self.rng.below(6) {
                        0 => 0,
                        1 => bound as u64 + self.rng.below(16),
                        2 => bound as u64,
                        _ => self.rng.below(u64::from(bound.min(256)) + 1),
                    } as usize;
                    let len = len.min(4096);
                    let start = arena.len() as u32;
                    for _ in 0..len {
                        let b = if matches!(param, Param::Str(_)) && self.rng.chance(95) {
                            b'a' + self.rng.below(26) as u8
                        } else {
                            self.rng.next() as u8
                        };
                        arena.push(b);
                    }
                    let start = if self.rng.chance(95) {
                        start
                    } else {
                        self.rng.next() as u32
                    };
                    if let Some(dst) = fixed.get_mut(at..at + 8) {
                        dst[..4].copy_from_slice(&start.to_le_bytes());
                        dst[4..].copy_from_slice(&(len as u32).to_le_bytes());
                    }
                }
                Param::Other(size) => {
                    for i in 0..size as usize {
                        if let Some(b) = fixed.get_mut(at + i) {
                            *b = self.rng.next() as u8;
                        }
                    }
                }
            }
        }
        let header = Header {
            riid: m.riid,
            mid: m.mid,
            flags: if self.rng.chance(97) {
                0
            } else {
                self.rng.next() as u32
            },
            handle_count: slots as u32,
            fixed_size: fixed.len() as u32,
            arena_size: arena.len() as u32,
            src_class: 0,
            reserved: 0,
            src_sid: 0,
        };
        let mut msg = vec![0u8; HEADER_SIZE];
        header.write(&mut msg);
        for _ in 0..slots {
            let h = self.handle();
            let rights = if self.rng.chance(80) {
                self.rng.below(1 << 10) as u32
            } else {
                self.rng.next() as u32 & 0xffff
            };
            let mode = match self.rng.below(10) {
                0 => self.rng.next() as u32 >> 16,
                1..=3 => HANDLE_MOVE,
                _ => HANDLE_COPY,
            };
            msg.extend_from_slice(&h.to_le_bytes());
            msg.extend_from_slice(&(rights | mode << 16).to_le_bytes());
        }
        msg.extend_from_slice(&fixed);
        msg.extend_from_slice(&arena);
        msg
    }

    /// Breaks a request: a byte flipped, the length cut or grown, a header word replaced.
    fn corrupt(&mut self, msg: &mut Vec<u8>) {
        match self.rng.below(4) {
            0 if !msg.is_empty() => {
                let i = self.rng.below(msg.len() as u64) as usize;
                msg[i] ^= 1 << self.rng.below(8);
            }
            1 => msg.truncate(self.rng.below(msg.len() as u64 + 1) as usize),
            2 => {
                for _ in 0..self.rng.below(64) {
                    msg.push(self.rng.next() as u8);
                }
            }
            _ => {
                let word = self.rng.below(8) as usize * 4;
                let v = self.integer() as u32;
                if let Some(dst) = msg.get_mut(word..word + 4) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }

    /// One core request; the handles of a successful answer are kept.
    fn core_call(&mut self) {
        let m = loop {
            let m = &CORE_METHODS[self.rng.below(CORE_METHODS.len() as u64) as usize];
            if !LEFT_OUT.contains(&m.name) {
                break m;
            }
        };
        let mut msg = self.request(m);
        if self.rng.chance(15) {
            self.corrupt(&mut msg);
        }
        let mut response = [0u8; 512];
        let out_len = match self.rng.below(20) {
            0 => self.rng.below(HEADER_SIZE as u64) as usize,
            _ => response.len(),
        };
        if let Ok(len) = sys::call(0, &msg, &mut response[..out_len], 50) {
            let answer = &response[..len.min(out_len)];
            if let Some(h) = Header::read(answer) {
                for i in 0..(h.handle_count as usize).min(8) {
                    let at = HEADER_SIZE + i * HANDLE_SLOT_SIZE;
                    if let Some(w) = answer.get(at..at + 4) {
                        self.keep_handle(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
                    }
                }
            }
        }
    }

    /// A raw system call: a random number (native or not) with random arguments; buffers
    /// point into the scratch memory or nowhere valid.
    fn raw_call(&mut self) {
        let number = match self.rng.below(6) {
            0 => nr::CALL,
            1 => nr::RECV,
            2 => nr::REPLY,
            3 => nr::BASE + 3 + self.rng.below(8) as usize,
            4 => self.rng.below(500) as usize,
            _ => self.rng.next() as usize,
        };
        let mut args = [0usize; 6];
        args[0] = self.handle() as usize;
        for a in &mut args[1..] {
            *a = match self.rng.below(3) {
                0 => self.address() as usize,
                1 => self.rng.below(8192) as usize,
                _ => self.integer() as usize,
            };
        }
        // The output buffer and the time-outs: never the worker's own stack or code, never
        // long.
        if number == nr::CALL {
            args[3] = self.address() as usize;
            args[5] %= 3;
        }
        if number == nr::RECV {
            args[1] = self.address() as usize;
            args[3] %= 3;
        }
        let _ = sys::raw(number, args);
    }

    /// A thread that ends at once and is joined, or one left blocked in the kernel
    /// (sleeping, waiting on a futex word, joining another) for the process's end.
    fn thread_lifecycle(&mut self) {
        if self.threads >= 8 {
            return;
        }
        let word = self.scratch + (self.rng.below(SCRATCH as u64 / 4) as usize) * 4;
        let kind = self.rng.below(4);
        let spawned = thread::spawn(15, move || match kind {
            0 => 3,
            1 => {
                let _ = sys::sleep_ms(60_000);
                0
            }
            2 => {
                let _ = sys::futex_wait_raw(word, 0, u64::MAX);
                0
            }
            _ => {
                let _ = sys::thread_join(1);
                0
            }
        });
        if let Ok(t) = spawned {
            self.threads += 1;
            if kind == 0 {
                let _ = t.join();
                self.threads -= 1;
            }
        }
    }

    /// Memory in and out of the scratch region: allocate, protect and free pages.
    fn memory(&mut self) {
        let size = 4096 * (1 + self.rng.below(16) as usize);
        if let Ok(addr) = sys::vmm().allocate(size as u64, 1) {
            let addr = addr.addr as usize;
            if self.rng.chance(50) {
                let _ = sys::protect(addr, 4096 * (1 + self.rng.below(4) as usize), 0);
            }
            if self.rng.chance(80) {
                let _ = sys::free(addr, size);
            }
        }
    }
}

fn worker(seed: u64, round: u64, index: u64, calls: u64) -> i32 {
    let rng = Rng::new(seed ^ round.wrapping_mul(0x1000_0001) ^ index.wrapping_mul(0x77));
    let Ok(scratch) = sys::vmm().allocate(SCRATCH as u64, 1) else {
        return 0;
    };
    let mut w = Worker {
        rng,
        scratch: scratch.addr as usize,
        handles: Vec::new(),
        threads: 0,
    };
    let mut made = 0;
    while made < calls {
        match w.rng.below(100) {
            0..=69 => w.core_call(),
            70..=92 => w.raw_call(),
            93..=95 => w.thread_lifecycle(),
            96..=98 => w.memory(),
            _ => {
                // A fault now and then: the process is killed with its threads blocked.
                if w.rng.chance(2) {
                    println!("kfuzz: worker {round}.{index} faults on purpose at call {made}");
                    // SAFETY: reading address 0 faults by design; the kernel kills the
                    // process, which is what this lifecycle tests.
                    unsafe { core::ptr::read_volatile(core::ptr::null::<u8>()) };
                }
                w.core_call();
            }
        }
        made += 1;
        if made % 1000 == 0 {
            println!("kfuzz: worker {round}.{index} at call {made}");
        }
    }
    made as i32
}

fn parse_args(args: &[u8]) -> Option<[u64; 4]> {
    let text = core::str::from_utf8(args).ok()?;
    let mut words = text.split(['\0', ' ']).filter(|w| !w.is_empty());
    if words.next()? != "w" {
        return None;
    }
    let mut out = [0u64; 4];
    for v in &mut out {
        *v = words.next()?.parse().ok()?;
    }
    Some(out)
}

fn main() -> i32 {
    let args = tasks().args().map(|a| a.args).unwrap_or_default();
    if let Some([seed, round, index, calls]) = parse_args(&args) {
        return worker(seed, round, index, calls);
    }
    let (seed, total) = config();
    println!("kfuzz: seed {seed}, {total} calls, {WORKERS} workers at once");
    let mut made = 0u64;
    let (mut killed, mut faulted, mut rounds) = (0u32, 0u32, 0u64);
    while made < total {
        if rounds > total / 100 + 100 {
            println!("kfuzz: FAILED: only {made} calls after {rounds} rounds");
            return 1;
        }
        let mut started = Vec::new();
        for index in 0..WORKERS {
            let calls = CALLS_PER_WORKER.min(total - made);
            let args = format!("w {seed} {rounds} {index} {calls}\0");
            let mut t = tasks();
            let task = match t.create(
                "kfuzz-worker".into(),
                "kfuzz".into(),
                "kfuzz".into(),
                args.into_bytes(),
                Default::default(),
                15,
            ) {
                Ok(r) => r.task,
                Err(e) => {
                    println!("kfuzz: FAILED: cannot create a worker: {e:?}");
                    return 1;
                }
            };
            let sid = sys::handles().sid(task).map(|r| r.sid).unwrap_or(0);
            if t.start(task).is_err() {
                println!("kfuzz: FAILED: cannot start a worker");
                return 1;
            }
            started.push((task, sid));
        }
        let deadline = sys::now_ns().unwrap_or(0) + ROUND_NS;
        loop {
            let running = started
                .iter()
                .filter(|(_, sid)| tasks().alive(*sid).is_ok_and(|a| a.live != 0))
                .count();
            if running == 0 || sys::now_ns().unwrap_or(u64::MAX) > deadline {
                break;
            }
            let _ = sys::sleep_ms(5);
        }
        for (task, _) in started {
            let mut t = tasks();
            let _ = t.kill(task, -99);
            match t.wait(task).map(|r| r.code) {
                Ok(-99) => killed += 1,
                Ok(code) if code >= 0 => made += code as u64,
                Ok(_) => faulted += 1,
                Err(e) => {
                    println!("kfuzz: FAILED: cannot wait for a worker: {e:?}");
                    return 1;
                }
            }
            let _ = sys::handles().close(task);
        }
        rounds += 1;
    }
    // The calls the kernel refused before the policy are in its audit log (at most
    // `AUDIT_CAPACITY` records, held until read): read it as Klog would, so that the heap
    // the kernel reports at the end is what the programs left behind, not the log.
    let mut audited = 0;
    for _ in 0..1000 {
        match sys::audit().read() {
            Ok(r) if !r.records.is_empty() || r.dropped != 0 => audited += r.records.len(),
            _ => break,
        }
    }
    println!(
        "kfuzz: {made} calls in {rounds} rounds; {killed} workers killed at the deadline, \
         {faulted} ended by a fault; seed {seed}; {audited} bytes of audit records read"
    );
    0
}
