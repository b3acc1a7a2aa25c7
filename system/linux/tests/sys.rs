//! The system-call handlers against a fake kernel: memory as a map of pages, a console
//! buffer, a clock, and logs of futex wakes and thread starts.

mod common;

use std::collections::{BTreeMap, VecDeque};

use linux::elf::Rights;
use linux::errno::*;
use linux::mm::{Kind, Memory, Space};
use linux::nr::{number, Sys};
use linux::sys::{Blocking, Call, Kernel, Outcome, State};
use linux::{Arch, PERSONALITY_BASE};

const PAGE: u64 = 4096;

#[derive(Default)]
struct Fake {
    pages: BTreeMap<u64, (Vec<u8>, Rights)>,
    next: u64,
    console: Vec<u8>,
    /// How many console writes made `console`.
    console_writes: usize,
    now: u64,
    wakes: Vec<(u64, u32)>,
    spawns: Vec<(u64, Option<u64>)>,
    joins: Vec<u64>,
    logs: Vec<String>,
    notes: Vec<String>,
    futex_value: Option<u32>,
    random_counter: u8,
    /// The audit log refuses notes (the policy denies `audit.Note`).
    refuse_notes: bool,
    notified: usize,
    /// Console input not read yet (what the kernel's buffer holds).
    input: VecDeque<u8>,
    /// The policy denies `console.Read` and `console.Poll`.
    console_denied: bool,
    /// The time-outs of console waits.
    input_waits: Vec<Option<u64>>,
    /// A wall-clock service's answer (`None`: no channel, time since boot).
    realtime: Option<Result<u64, i64>>,
    /// A log server's channel (`None`: none) and the answer it gives each line.
    log_server: Option<Result<(), i64>>,
    /// The lines of standard error the log server got.
    log_lines: Vec<Vec<u8>>,
}

impl Memory for Fake {
    fn allocate_at(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64> {
        assert_eq!(addr % PAGE, 0);
        assert_eq!(len % PAGE, 0);
        if (addr..addr + len)
            .step_by(PAGE as usize)
            .any(|p| self.pages.contains_key(&p))
        {
            return Err(ENOMEM);
        }
        for p in (addr..addr + len).step_by(PAGE as usize) {
            self.pages.insert(p, (vec![0; PAGE as usize], rights));
        }
        Ok(())
    }
    fn allocate(&mut self, len: u64, rights: Rights) -> Result<u64, i64> {
        if self.next == 0 {
            self.next = 0x4000_0000;
        }
        let at = self.next;
        self.next += len + PAGE;
        self.allocate_at(at, len, rights).map(|()| at)
    }
    fn free(&mut self, addr: u64, len: u64) -> Result<(), i64> {
        for p in (addr..addr + len).step_by(PAGE as usize) {
            assert!(
                self.pages.remove(&p).is_some(),
                "free of an unmapped page {p:#x}"
            );
        }
        Ok(())
    }
    fn protect(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64> {
        for p in (addr..addr + len).step_by(PAGE as usize) {
            self.pages
                .get_mut(&p)
                .expect("protect of an unmapped page")
                .1 = rights;
        }
        Ok(())
    }
}

impl Kernel for Fake {
    fn log_available(&mut self) -> bool {
        self.log_server.is_some()
    }
    fn log_line(&mut self, line: &[u8]) -> Result<(), i64> {
        assert!(line.len() <= linux::sys::LOG_LINE_MAX);
        let answer = self.log_server.ok_or(EBADF)?;
        if answer.is_ok() {
            self.log_lines.push(line.to_vec());
        }
        answer
    }
    fn console_write(&mut self, addr: u64, len: usize) -> Result<usize, i64> {
        let mut b = vec![0; len];
        self.read_user(addr, &mut b);
        self.console.extend_from_slice(&b);
        self.console_writes += 1;
        Ok(len)
    }
    fn console_write_bytes(&mut self, bytes: &[u8]) -> Result<usize, i64> {
        self.console.extend_from_slice(bytes);
        self.console_writes += 1;
        Ok(bytes.len())
    }
    fn console_read(&mut self, buf: &mut [u8]) -> Result<usize, i64> {
        if self.console_denied {
            return Err(EACCES);
        }
        assert!(buf.len() <= linux::sys::console::CONSOLE_READ_MAX as usize);
        if self.input.is_empty() {
            return Err(EAGAIN);
        }
        // As the kernel: what is buffered, ending after an end-of-file byte.
        let mut n = 0;
        while n < buf.len() {
            let Some(b) = self.input.pop_front() else {
                break;
            };
            buf[n] = b;
            n += 1;
            if b == 4 {
                break;
            }
        }
        Ok(n)
    }
    fn console_ready(&mut self) -> Result<bool, i64> {
        match self.console_denied {
            true => Err(EACCES),
            false => Ok(!self.input.is_empty()),
        }
    }
    fn console_wait(&mut self, timeout_ns: Option<u64>) -> Result<bool, i64> {
        self.input_waits.push(timeout_ns);
        self.console_ready()
    }
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            *b = self.pages[&(a & !(PAGE - 1))].0[(a % PAGE) as usize];
        }
    }
    fn write_user(&mut self, addr: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            self.pages.get_mut(&(a & !(PAGE - 1))).unwrap().0[(a % PAGE) as usize] = *b;
        }
    }
    fn now_ns(&mut self) -> u64 {
        self.now
    }
    fn sleep_ns(&mut self, ns: u64) {
        self.now += ns;
    }
    fn sleep_interruptible(&mut self, ns: u64) -> Result<(), i64> {
        self.now += ns;
        Ok(())
    }
    /// No other process: every pid is `ESRCH`.
    fn signal_process(&mut self, _: i32, _: u64) -> Result<(), i64> {
        Err(ESRCH)
    }
    fn parent_pid(&mut self) -> i32 {
        0
    }
    fn yield_now(&mut self) {}
    fn futex_wait(&mut self, _: u64, expected: u32, _: Option<u64>) -> Result<(), i64> {
        if self.futex_value == Some(expected) {
            Err(ETIMEDOUT)
        } else {
            Err(EAGAIN)
        }
    }
    fn futex_wake(&mut self, addr: u64, count: u32) -> Result<u64, i64> {
        self.wakes.push((addr, count));
        Ok(0)
    }
    fn spawn(&mut self, sp: u64, tls: Option<u64>) -> Result<u64, i64> {
        self.spawns.push((sp, tls));
        Ok(1000 + self.spawns.len() as u64)
    }
    fn join(&mut self, native: u64) {
        self.joins.push(native);
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.to_string());
    }
    fn audit(&mut self, text: &str) -> bool {
        assert!(text.len() <= linux::sys::AUDIT_NOTE_MAX, "{text:?}");
        self.notes.push(text.to_string());
        !self.refuse_notes
    }
    fn notify(&mut self) {
        self.notified += 1;
    }
    fn memory_usage(&mut self) -> Option<(u64, u64)> {
        Some((40960, 1 << 20))
    }
    fn process_count(&mut self) -> Option<u64> {
        Some(3)
    }
    fn realtime_ns(&mut self) -> Result<u64, i64> {
        self.realtime.unwrap_or(Ok(self.now))
    }
    fn random(&mut self, buf: &mut [u8]) -> Result<(), i64> {
        for b in buf {
            self.random_counter = self.random_counter.wrapping_add(1);
            *b = self.random_counter;
        }
        Ok(())
    }
    fn vfs(
        &mut self,
        _: linux::sys::file::VfsRequest<'_>,
    ) -> Result<linux::sys::file::VfsReply, i64> {
        // No channel to a VFS server.
        Err(ENOENT)
    }
}

const STACK_TOP: u64 = 0x3000_0000;
const STACK: u64 = STACK_TOP - 0x10000;
const BRK: u64 = 0x50_0000;
const IMAGE: u64 = 0x40_0000;

/// A process: image page at IMAGE (R X), a stack, brk after the image.
fn setup(arch: Arch) -> (State, Fake) {
    let mut fake = Fake::default();
    let mut space = Space::new();
    space.reserve(0, 0x10000);
    space.reserve(PERSONALITY_BASE, u64::MAX);
    fake.allocate_at(
        IMAGE,
        PAGE,
        Rights {
            read: true,
            write: false,
            exec: true,
        },
    )
    .unwrap();
    space.record(
        IMAGE,
        IMAGE + PAGE,
        Rights {
            read: true,
            write: false,
            exec: true,
        },
        Kind::Image,
    );
    fake.allocate_at(STACK, STACK_TOP - STACK, Rights::RW)
        .unwrap();
    space.record(STACK, STACK_TOP, Rights::RW, Kind::Stack);
    space.set_brk_start(BRK);
    (State::new(arch, space, 42, STACK_TOP, b"/bin/test"), fake)
}

fn call(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
    call_at(st, k, sys, args, STACK_TOP - 0x1000)
}

fn call_at(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64], sp: u64) -> Outcome {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let nr = number(st.arch, sys).expect("no such call on this arch");
    st.dispatch(
        k,
        &mut Call {
            nr,
            args: a,
            tls: 0,
            sp,
        },
    )
}

fn ret(o: Outcome) -> i64 {
    match o {
        Outcome::Return(v) => v,
        other => panic!("expected a result, got {other:?}"),
    }
}

/// A scratch buffer on the stack.
const BUF: u64 = STACK;

#[test]
fn brk_grows_shrinks_and_gives_zeroed_pages() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Brk, &[0])), BRK as i64);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Brk, &[BRK + 10_000])),
        (BRK + 10_000) as i64
    );
    assert_eq!(k.pages.range(BRK..BRK + 3 * PAGE).count(), 3);
    k.write_user(BRK + 9_000, b"dirty");
    // Shrinking frees the whole pages above the new break; growing again gives zeros.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Brk, &[BRK + 100])),
        (BRK + 100) as i64
    );
    assert_eq!(k.pages.range(BRK..BRK + 3 * PAGE).count(), 1);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Brk, &[BRK + 10_000])),
        (BRK + 10_000) as i64
    );
    let mut b = [1u8; 5];
    k.read_user(BRK + 9_000, &mut b);
    assert_eq!(b, [0; 5]);
    // Below the start, or into another mapping: the break stays.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Brk, &[BRK - 1])),
        (BRK + 10_000) as i64
    );
    let fixed = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[BRK + 0x10000, PAGE, 3, 0x22 | 0x10, u64::MAX, 0],
    ));
    assert_eq!(fixed, (BRK + 0x10000) as i64);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Brk, &[BRK + 0x20000])),
        (BRK + 10_000) as i64
    );
}

#[test]
fn mmap_munmap_mprotect_split_like_linux() {
    let (mut st, mut k) = setup(Arch::Aarch64);
    let anon = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS
    let a = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[0, 4 * PAGE, 3, anon, u64::MAX, 0],
    ));
    assert!(a > 0 && (a as u64).is_multiple_of(PAGE));
    let a = a as u64;
    // Unmap the second page: two pieces remain, the page is gone.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Munmap, &[a + PAGE, PAGE])),
        0
    );
    assert!(!k.pages.contains_key(&(a + PAGE)));
    assert!(k.pages.contains_key(&a) && k.pages.contains_key(&(a + 2 * PAGE)));
    // mprotect over the hole fails; over the last two pages it splits.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mprotect, &[a, 3 * PAGE, 1])),
        -ENOMEM
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mprotect,
            &[a + 3 * PAGE, PAGE, 0]
        )),
        0
    );
    assert_eq!(k.pages[&(a + 3 * PAGE)].1, Rights::NONE);
    assert_eq!(k.pages[&(a + 2 * PAGE)].1, Rights::RW);
    // A write through a PROT_NONE page is EFAULT, not a fault in the personality.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[1, a + 3 * PAGE, 4])),
        -EFAULT
    );
    // W+X, file mappings, bad flags and the personality's range are refused.
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, PAGE, 6, anon, u64::MAX, 0]
        )),
        -EACCES
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mmap, &[0, PAGE, 1, 2, 0, 0])),
        -ENODEV
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, 0, 1, anon, u64::MAX, 0]
        )),
        -EINVAL
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, PAGE, 1, 0x20, u64::MAX, 0]
        )),
        -EINVAL
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[PERSONALITY_BASE, PAGE, 3, anon | 0x10, u64::MAX, 0]
        )),
        -ENOMEM
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Munmap,
            &[PERSONALITY_BASE, PAGE]
        )),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Munmap, &[a + 1, PAGE])),
        -EINVAL
    );
    // MAP_FIXED replaces what was there (fresh zero page); MAP_FIXED_NOREPLACE refuses.
    k.write_user(a, b"old");
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[a, PAGE, 3, anon | 0x10, u64::MAX, 0]
        )),
        a as i64
    );
    let mut b = [9u8; 3];
    k.read_user(a, &mut b);
    assert_eq!(b, [0; 3]);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[a, PAGE, 3, anon | 0x10_0000, u64::MAX, 0]
        )),
        -EEXIST
    );
    // A free hint is honoured.
    let hint = 0x2000_0000;
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[hint, PAGE, 3, anon, u64::MAX, 0]
        )),
        hint as i64
    );
}

#[test]
fn madvise_dontneed_really_zeroes() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let a = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[0, 2 * PAGE, 3, 0x22, u64::MAX, 0],
    )) as u64;
    k.write_user(a + PAGE + 5, b"data");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Madvise, &[a, 2 * PAGE, 4])),
        0
    );
    let mut b = [1u8; 4];
    k.read_user(a + PAGE + 5, &mut b);
    assert_eq!(b, [0; 4]);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Madvise, &[a, PAGE, 3])),
        0,
        "WILLNEED is a hint"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Madvise, &[a, PAGE, 12])),
        -EINVAL,
        "MADV_MERGEABLE"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Madvise, &[IMAGE, PAGE, 4])),
        -EINVAL,
        "image pages"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Madvise, &[0x2000_0000, PAGE, 4])),
        -ENOMEM
    );
}

#[test]
fn standard_error_goes_to_the_log_server_a_record_per_line() {
    let (mut st, mut k) = setup(Arch::X86_64);
    k.log_server = Some(Ok(()));
    k.write_user(BUF, b"one\ntw");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[2, BUF, 6])), 6);
    k.write_user(BUF, b"o\n\nthree");
    // writev to descriptor 2 is line-buffered too.
    let mut iov = Vec::new();
    for (base, len) in [(BUF, 3u64), (BUF + 3, 5)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    k.write_user(BUF + 0x100, &iov);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Writev, &[2, BUF + 0x100, 2])),
        8
    );
    assert_eq!(k.log_lines, [b"one".to_vec(), b"two".to_vec(), Vec::new()]);
    // Standard output stays on the console.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[1, BUF, 1])), 1);
    assert_eq!(k.console, b"o");
    // The last line without its newline is sent at exit.
    st.flush_stderr(&mut k);
    assert_eq!(k.log_lines.last().unwrap(), b"three");
    // A long line goes in records of at most LOG_LINE_MAX bytes.
    let long = vec![b'x'; 2500];
    k.write_user(BUF, &long);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[2, BUF, 2500])),
        2500
    );
    assert_eq!(k.log_lines.len(), 6);
    assert!(k.log_lines[4..].iter().all(|l| l.len() == 1024));
    // A bad pointer is EFAULT; the policy's refusal is the writer's EACCES.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[2, 0x1234_0000, 4])),
        -EFAULT
    );
    k.log_server = Some(Err(EACCES));
    k.write_user(BUF, b"denied\n");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[2, BUF, 7])),
        -EACCES
    );
    assert_eq!(k.console, b"o", "nothing falls back to the console");
}

#[test]
fn write_and_writev_reach_the_console() {
    let (mut st, mut k) = setup(Arch::X86_64);
    k.write_user(BUF, b"hello, world\n");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[1, BUF, 13])), 13);
    // iovec[2] = {BUF, 5}, {BUF+7, 6}
    let mut iov = Vec::new();
    for (base, len) in [(BUF, 5u64), (BUF + 7, 6)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    k.write_user(BUF + 0x100, &iov);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Writev, &[2, BUF + 0x100, 2])),
        11
    );
    assert_eq!(k.console, b"hello, world\nhelloworld\n");
    assert_eq!(k.console_writes, 2, "a short writev is one console write");
    // A bad vector after a good one: written piece by piece, up to the bad one.
    let mut bad = iov[..16].to_vec();
    bad.extend_from_slice(&0x1234_0000u64.to_le_bytes());
    bad.extend_from_slice(&4u64.to_le_bytes());
    k.write_user(BUF + 0x200, &bad);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Writev, &[1, BUF + 0x200, 2])),
        5
    );
    assert_eq!(k.console, b"hello, world\nhelloworld\nhello");
    k.console.truncate(24);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[1, 0x1234_0000, 4])),
        -EFAULT
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[5, BUF, 4])), -EBADF);
    // An `int` fd: the register's upper half is not part of it.
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Write,
            &[0xdead_beef_0000_0001, BUF, 1]
        )),
        1
    );
    k.console.pop();
    k.input.extend(b"\x04");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 4])),
        0,
        "Ctrl-D at the start of a line: end of file"
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[1])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[1, BUF, 4])), -EBADF);
}

#[test]
fn signal_actions_and_masks_are_kept() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let act: Vec<u8> = [0x401234u64, 0x0400_0000, 0x401000, 1 << 1]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    k.write_user(BUF, &act);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[13, BUF, 0, 8])),
        0
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigaction,
            &[13, 0, BUF + 64, 8]
        )),
        0
    );
    let mut old = [0u8; 32];
    k.read_user(BUF + 64, &mut old);
    assert_eq!(&old[..], &act[..]);
    assert_eq!(st.action(13).unwrap().handler, 0x401234);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[9, BUF, 0, 8])),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[65, BUF, 0, 8])),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[13, BUF, 0, 4])),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[13, 0x10, 0, 8])),
        -EFAULT
    );
    // Masks: block SIGINT|SIGKILL (KILL cannot be blocked), then unblock SIGINT.
    k.write_user(BUF, &((1u64 << 1) | (1 << 8)).to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[0, BUF, 0, 8])),
        0
    );
    assert_eq!(st.sigmask(0), 1 << 1);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigprocmask,
            &[1, BUF, BUF + 8, 8]
        )),
        0
    );
    assert_eq!(st.sigmask(0), 0);
    let mut w = [0u8; 8];
    k.read_user(BUF + 8, &mut w);
    assert_eq!(u64::from_le_bytes(w), 1 << 1);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[7, BUF, 0, 8])),
        -EINVAL
    );
    // raise(SIGABRT) with the default action ends the process; SIGCHLD is ignored.
    assert_eq!(
        call(&mut st, &mut k, Sys::Tkill, &[42, 6]),
        Outcome::ExitProcess(134)
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[42, 17])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[7, 6])), -ESRCH);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Kill, &[42, 19])),
        -ENOSYS,
        "SIGSTOP"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Kill, &[42, 0])),
        0,
        "existence check"
    );
    // Blocked: pending until unblocked, then the default action.
    k.write_user(BUF, &(1u64 << 5).to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[0, BUF, 0, 8])),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[42, 6])), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::RtSigprocmask, &[1, BUF, 0, 8]),
        Outcome::ExitProcess(134)
    );
}

fn clone_flags() -> u64 {
    // VM FS FILES SIGHAND THREAD SYSVSEM SETTLS PARENT_SETTID CHILD_CLEARTID
    0x100 | 0x200 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x10_0000 | 0x20_0000
}

#[test]
fn clone_makes_a_thread_whose_exit_clears_and_wakes_its_tid() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch);
        let child_stack = ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, 16 * PAGE, 3, 0x22, u64::MAX, 0],
        )) as u64;
        // As musl's x86_64 __clone passes it: 16-byte aligned minus 8.
        let child_sp = child_stack + 16 * PAGE - 72;
        let (ptid, ctid, tls) = (BUF, BUF + 8, 0x1234_5000u64);
        k.write_user(ctid, &7u32.to_le_bytes());
        let args = match arch {
            Arch::X86_64 => [clone_flags(), child_sp, ptid, ctid, tls],
            Arch::Aarch64 => [clone_flags(), child_sp, ptid, tls, ctid],
        };
        let tid = ret(call(&mut st, &mut k, Sys::Clone, &args));
        assert_eq!(tid, 43);
        assert_eq!(k.spawns, vec![(child_sp, Some(tls))], "{arch:?}");
        let mut w = [0u8; 4];
        k.read_user(ptid, &mut w);
        assert_eq!(i32::from_le_bytes(w), 43, "CLONE_PARENT_SETTID");
        // Calls from the child's stack are the child's.
        assert_eq!(
            ret(call_at(&mut st, &mut k, Sys::Gettid, &[], child_sp - 500)),
            43
        );
        assert_eq!(ret(call(&mut st, &mut k, Sys::Gettid, &[])), 42);
        assert_eq!(
            ret(call_at(&mut st, &mut k, Sys::Getpid, &[], child_sp - 500)),
            42
        );
        // The child exits: its tid word is cleared and woken; the process goes on.
        assert_eq!(
            call_at(&mut st, &mut k, Sys::Exit, &[3], child_sp - 500),
            Outcome::ExitThread(3)
        );
        k.read_user(ctid, &mut w);
        assert_eq!(u32::from_le_bytes(w), 0);
        assert_eq!(k.wakes, vec![(ctid, 1)]);
        // The last thread's exit ends the process.
        assert_eq!(
            call(&mut st, &mut k, Sys::Exit, &[5]),
            Outcome::ExitProcess(5)
        );
        // fork is not supported.
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Clone, &[17, 0, 0, 0, 0])),
            -ENOSYS
        );
    }
}

#[test]
fn futex_wait_and_wake() {
    let (mut st, mut k) = setup(Arch::X86_64);
    k.write_user(BUF, &5u32.to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Futex, &[BUF, 128, 4, 0])),
        -EAGAIN
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Futex, &[BUF, 128, 5, 0]),
        Outcome::Block(Blocking::Futex {
            addr: BUF,
            expected: 5,
            timeout_ns: None
        })
    );
    // Relative time-out of 1.5 s.
    let ts: Vec<u8> = [1u64, 500_000_000]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    k.write_user(BUF + 16, &ts);
    assert_eq!(
        call(&mut st, &mut k, Sys::Futex, &[BUF, 0, 5, BUF + 16]),
        Outcome::Block(Blocking::Futex {
            addr: BUF,
            expected: 5,
            timeout_ns: Some(1_500_000_000)
        })
    );
    // WAIT_BITSET takes an absolute time.
    k.now = 1_000_000_000;
    assert_eq!(
        call(
            &mut st,
            &mut k,
            Sys::Futex,
            &[BUF, 9 | 128, 5, BUF + 16, 0, u32::MAX as u64]
        ),
        Outcome::Block(Blocking::Futex {
            addr: BUF,
            expected: 5,
            timeout_ns: Some(500_000_000)
        })
    );
    k.futex_value = Some(5);
    assert_eq!(
        linux::sys::block(
            &mut k,
            Blocking::Futex {
                addr: BUF,
                expected: 5,
                timeout_ns: Some(1)
            }
        ),
        -ETIMEDOUT
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Futex, &[BUF, 1 | 128, 1])),
        0
    );
    assert_eq!(k.wakes, vec![(BUF, 1)]);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Futex, &[BUF + 1, 0, 5, 0])),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Futex, &[0x10, 0, 5, 0])),
        -EFAULT
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Futex, &[BUF, 6, 5, 0])),
        -ENOSYS,
        "LOCK_PI"
    );
}

#[test]
fn unknown_calls_are_enosys_and_audited_once_per_number() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let unknown = |st: &mut State, k: &mut Fake, nr: u64| {
        st.dispatch(
            k,
            &mut Call {
                nr,
                args: [0; 6],
                tls: 0,
                sp: STACK_TOP - 64,
            },
        )
    };
    for _ in 0..3 {
        assert_eq!(unknown(&mut st, &mut k, 999), Outcome::Return(-ENOSYS));
    }
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Rseq, &[BUF, 32, 0, 0])),
        -ENOSYS
    );
    assert_eq!(k.notes.len(), 2, "{:?}", k.notes);
    assert!(k.notes[0].contains("/bin/test") && k.notes[0].contains("system call 999 "));
    assert!(k.notes[1].contains("(rseq)"));
    assert!(k.logs.is_empty(), "{:?}", k.logs);
    // Where the audit log refuses the note, the console has it.
    k.refuse_notes = true;
    assert_eq!(unknown(&mut st, &mut k, 1000), Outcome::Return(-ENOSYS));
    assert_eq!(unknown(&mut st, &mut k, 1000), Outcome::Return(-ENOSYS));
    assert_eq!(k.notes.len(), 3, "{:?}", k.notes);
    assert_eq!(k.logs.len(), 1, "{:?}", k.logs);
    assert!(k.logs[0].contains("system call 1000 ") && k.logs[0].contains("(pid "));
}

#[test]
fn audit_notes_fit_the_kernels_limit() {
    let (mut st, mut k) = setup(Arch::X86_64);
    for nr in 2000..2000 + 70 {
        let _ = st.dispatch(
            &mut k,
            &mut Call {
                nr,
                args: [0; 6],
                tls: 0,
                sp: STACK_TOP - 64,
            },
        );
    }
    // 64 calls, then one line saying the rest are not reported, then nothing.
    assert_eq!(k.notes.len(), 65, "{:?}", k.notes);
    assert!(k.notes[64].contains("further unsupported calls"));
}

#[test]
fn getrandom_gives_the_kernels_bytes_and_checks_flags_and_pointers() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Getrandom, &[BUF, 300, 0])),
        300
    );
    let mut got = [0u8; 300];
    k.read_user(BUF, &mut got);
    let expected: Vec<u8> = (1..=300u32).map(|i| i as u8).collect();
    assert_eq!(
        &got[..],
        &expected[..],
        "the kernel's bytes, in order, across pieces"
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Getrandom,
            &[BUF, 16, linux::sys::GRND_NONBLOCK]
        )),
        16
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Getrandom, &[BUF, 16, 8])),
        -EINVAL,
        "unknown flag"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Getrandom, &[BUF, 16, 6])),
        -EINVAL,
        "GRND_RANDOM with GRND_INSECURE"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Getrandom, &[8, 16, 0])),
        -EFAULT,
        "unmapped"
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Getrandom, &[BUF, 0, 0])), 0);
    assert!(k.logs.is_empty(), "{:?}", k.logs);
}

#[test]
fn identity_time_and_process_information() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Uname, &[BUF])), 0);
    let mut u = [0u8; 390];
    k.read_user(BUF, &mut u);
    assert_eq!(&u[..6], b"Linux\0");
    assert_eq!(&u[4 * 65..4 * 65 + 7], b"x86_64\0");
    k.now = 3_000_000_123;
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[1, BUF])), 0);
    let mut ts = [0u8; 16];
    k.read_user(BUF, &mut ts);
    assert_eq!(u64::from_le_bytes(ts[..8].try_into().unwrap()), 3);
    assert_eq!(u64::from_le_bytes(ts[8..].try_into().unwrap()), 123);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::ClockGettime, &[2, BUF])),
        -EINVAL,
        "CPU time"
    );
    // arch_prctl changes the frame's fs_base.
    let mut c = Call {
        nr: 158,
        args: [0x1002, 0x7777_0000, 0, 0, 0, 0],
        tls: 0,
        sp: STACK_TOP - 64,
    };
    assert_eq!(st.dispatch(&mut k, &mut c), Outcome::Return(0));
    assert_eq!(c.tls, 0x7777_0000);
    // readlink("/proc/self/exe")
    k.write_user(BUF, b"/proc/self/exe\0");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Readlink, &[BUF, BUF + 64, 100])),
        9
    );
    let mut p = [0u8; 9];
    k.read_user(BUF + 64, &mut p);
    assert_eq!(&p, b"/bin/test");
    k.write_user(BUF, b"/etc/passwd\0");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Readlink, &[BUF, BUF + 64, 100])),
        -ENOENT
    );
    // RLIMIT_STACK is the 8 MiB stack; raising the hard limit is refused.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Prlimit64, &[0, 3, 0, BUF])),
        0
    );
    let mut l = [0u8; 16];
    k.read_user(BUF, &mut l);
    assert_eq!(u64::from_le_bytes(l[..8].try_into().unwrap()), 8 << 20);
    k.write_user(
        BUF,
        &[(16u64 << 20).to_le_bytes(), (16u64 << 20).to_le_bytes()].concat(),
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Prlimit64, &[0, 3, BUF, 0])),
        -EPERM
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Ioctl, &[1, 0x5401, BUF])),
        0,
        "isatty(1)"
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Ioctl, &[1, 0x1234, BUF])),
        -ENOTTY
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::SchedGetaffinity, &[0, 128, BUF])),
        8
    );
    // Rust std's start: poll on fds 0-2 with no events; none is POLLNVAL.
    let fds: Vec<u8> = (0..3i32)
        .flat_map(|fd| [fd.to_le_bytes(), [0; 4]].concat())
        .collect();
    k.write_user(BUF, &fds);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[BUF, 3, 0])), 0);
    let mut back = [0u8; 24];
    k.read_user(BUF, &mut back);
    assert!(back.chunks(8).all(|p| p[6] == 0 && p[7] == 0));
    assert_eq!(
        call(&mut st, &mut k, Sys::Nanosleep, &[0x10, 0]),
        Outcome::Return(-EFAULT)
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::ExitGroup, &[3]),
        Outcome::ExitProcess(3)
    );
}

#[test]
fn no_arguments_make_a_handler_panic() {
    // Every known call and some unknown ones, with hostile arguments (null, unaligned,
    // huge, pointers into the personality or to the end of the address space), in a
    // deterministic pseudo-random mix. A panic fails the test; any result is allowed.
    let nasty = [
        0,
        1,
        7,
        4096,
        BUF,
        BUF + 3,
        STACK_TOP - 8,
        STACK_TOP - 1,
        IMAGE,
        PERSONALITY_BASE,
        u64::MAX,
        u64::MAX - 7,
        i64::MAX as u64,
        0x8000_0000,
    ];
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch);
        for round in 0..20_000 {
            let nr = next() % 460;
            let mut args = [0u64; 6];
            for a in &mut args {
                let r = next();
                *a = if r % 3 == 0 {
                    r
                } else {
                    nasty[(r % nasty.len() as u64) as usize]
                };
            }
            let sp = if round % 2 == 0 {
                STACK_TOP - 256
            } else {
                next()
            };
            let mut c = Call {
                nr,
                args,
                tls: 0,
                sp,
            };
            let _ = st.dispatch(&mut k, &mut c);
        }
    }
}

#[test]
fn a_musl_program_is_loaded_and_its_stack_built() {
    let file = common::musl_static();
    let plan = linux::elf::plan(file, Arch::X86_64).unwrap();
    let mut k = Fake::default();
    let argv: Vec<&[u8]> = vec![b"/bin/hello", b"x"];
    let envp: Vec<&[u8]> = vec![b"HOME=/root"];
    let started = linux::load::start(
        &mut k,
        &linux::load::Program {
            arch: Arch::X86_64,
            file,
            file_at: 0x6000_0000,
            argv: &argv,
            envp: &envp,
            path: b"/bin/hello",
            random: [7; 16],
            pid: 9,
            user_min: 0x10000,
        },
    )
    .unwrap();
    assert_eq!(started.pc, plan.entry);
    // Every file byte is where the plan says, the rest of each region is zero, and the
    // rights are the final ones.
    for c in &plan.copies {
        let mut b = vec![0; c.len];
        k.read_user(c.addr, &mut b);
        assert!(
            b == file[c.offset..c.offset + c.len],
            "segment at {:#x}",
            c.addr
        );
    }
    for r in &plan.regions {
        for p in (r.start..r.end).step_by(PAGE as usize) {
            assert_eq!(k.pages[&p].1, r.rights, "page {p:#x}");
        }
    }
    let bss_end = plan.regions.last().unwrap().end;
    let mut tail = [1u8; 8];
    k.read_user(bss_end - 8, &mut tail);
    assert_eq!(tail, [0; 8]);
    // The stack: argc 2, argv[0] the path.
    let mut w = [0u8; 8];
    k.read_user(started.sp, &mut w);
    assert_eq!(u64::from_le_bytes(w), 2);
    assert_eq!(started.sp % 16, 0);
    let mut st = started.state;
    // brk starts at the page after the image, and works.
    let at = |st: &mut State, k: &mut Fake, sys, args: &[u64]| {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        let nr = number(Arch::X86_64, sys).unwrap();
        st.dispatch(
            k,
            &mut Call {
                nr,
                args: a,
                tls: 0,
                sp: started.sp - 512,
            },
        )
    };
    assert_eq!(
        at(&mut st, &mut k, Sys::Brk, &[0]),
        Outcome::Return(plan.brk as i64)
    );
    assert_eq!(
        at(&mut st, &mut k, Sys::Brk, &[plan.brk + 5000]),
        Outcome::Return((plan.brk + 5000) as i64)
    );
    assert_eq!(at(&mut st, &mut k, Sys::Gettid, &[]), Outcome::Return(9));
    // The file's own mapping and the personality are out of the program's reach.
    assert_eq!(
        at(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0x6000_0000, PAGE, 3, 0x32, u64::MAX, 0]
        ),
        Outcome::Return(-ENOMEM)
    );
    // A dynamic executable is refused before anything is mapped.
    let mut k2 = Fake::default();
    let r = linux::load::start(
        &mut k2,
        &linux::load::Program {
            arch: Arch::X86_64,
            file: common::dynamic(),
            file_at: 0x6000_0000,
            argv: &argv,
            envp: &envp,
            path: b"/bin/dyn",
            random: [0; 16],
            pid: 9,
            user_min: 0x10000,
        },
    );
    assert!(matches!(
        r,
        Err(linux::load::Error::Elf(linux::elf::Error::Dynamic))
    ));
    assert!(k2.pages.is_empty());
}

#[test]
fn a_thread_unmapping_its_own_stack_has_it_unmapped_after_it_ends() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let stack = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[0, 8 * PAGE, 3, 0x22, u64::MAX, 0],
    )) as u64;
    let sp = stack + 8 * PAGE - 72;
    // Detached: no CLONE_CHILD_CLEARTID.
    let flags = clone_flags() & !0x20_0000;
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Clone, &[flags, sp, BUF, 0, 0])),
        43
    );
    // musl's __unmapself: munmap of the whole stack from the stack, then exit.
    assert_eq!(
        ret(call_at(
            &mut st,
            &mut k,
            Sys::Munmap,
            &[stack, 8 * PAGE],
            sp - 300
        )),
        0
    );
    assert!(
        k.pages.contains_key(&stack),
        "still mapped: the exit call needs it"
    );
    assert_eq!(
        call_at(&mut st, &mut k, Sys::Exit, &[0], sp - 300),
        Outcome::ExitThread(0)
    );
    assert!(k.pages.contains_key(&stack));
    // The next call of any thread joins the ended thread and unmaps its stack.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Getpid, &[])), 42);
    assert_eq!(k.joins, vec![1001]);
    assert!((stack..stack + 8 * PAGE)
        .step_by(PAGE as usize)
        .all(|p| !k.pages.contains_key(&p)));
    // The main thread unmapping its own stack does it at once (no kernel thread to join).
    assert_eq!(ret(call(&mut st, &mut k, Sys::Munmap, &[STACK, PAGE])), 0);
    assert!(!k.pages.contains_key(&STACK));
}

#[test]
fn fcntl_close_on_exec_reads_back() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 1])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 2, 1])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[1, 1])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 2, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 1])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[2])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[2, 1])), -EBADF);
}

#[test]
fn the_calls_listed_as_not_implemented_return_enosys() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for &sys in linux::nr::NOT_IMPLEMENTED {
            let Some(_) = number(arch, sys) else {
                continue;
            };
            let (mut st, mut k) = setup(arch);
            assert_eq!(
                ret(call(&mut st, &mut k, sys, &[BUF, 4096, 0, 0])),
                -ENOSYS,
                "{sys:?} on {arch:?}"
            );
        }
    }
}

#[test]
fn mmap_of_a_file_needs_an_open_descriptor() {
    let (mut st, mut k) = setup(Arch::X86_64);
    // MAP_PRIVATE of fd 55: not open.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mmap, &[0, PAGE, 1, 2, 55, 0])),
        -EBADF
    );
    // fd 1 is open but no file: no device to map.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mmap, &[0, PAGE, 1, 2, 1, 0])),
        -ENODEV
    );
}

#[test]
fn mremap_grows_in_place_moves_and_shrinks() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let anon = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS
    let fixed = 0x10 | anon;
    let a = 0x2000_0000u64;
    let map = |st: &mut State, k: &mut Fake, at: u64, len: u64| {
        ret(call(st, k, Sys::Mmap, &[at, len, 3, fixed, u64::MAX, 0]))
    };
    assert_eq!(map(&mut st, &mut k, a, 2 * PAGE), a as i64);
    k.write_user(a, b"first page");
    k.write_user(a + PAGE, b"second page");
    // The pages after it are free: it grows in place (twice: across its two records).
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[a, 2 * PAGE, 3 * PAGE, 0]
        )),
        a as i64
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[a, 3 * PAGE, 4 * PAGE, 0]
        )),
        a as i64
    );
    // Something right after it: without MREMAP_MAYMOVE it cannot grow.
    assert_eq!(
        map(&mut st, &mut k, a + 4 * PAGE, PAGE),
        (a + 4 * PAGE) as i64
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[a, 4 * PAGE, 8 * PAGE, 0]
        )),
        -ENOMEM
    );
    // With it, it moves and keeps its contents; the old pages are gone.
    let b = ret(call(
        &mut st,
        &mut k,
        Sys::Mremap,
        &[a, 4 * PAGE, 8 * PAGE, 1],
    ));
    assert!(b > 0 && b as u64 != a, "{b:#x}");
    let b = b as u64;
    let mut got = [0u8; 11];
    k.read_user(b + PAGE, &mut got);
    assert_eq!(&got, b"second page");
    assert_eq!(
        map(&mut st, &mut k, a, PAGE),
        a as i64,
        "the old place is free"
    );
    // Shrinking unmaps the tail.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mremap, &[b, 8 * PAGE, PAGE, 0])),
        b as i64
    );
    assert_eq!(map(&mut st, &mut k, b + PAGE, PAGE), (b + PAGE) as i64);
    // Errors as on Linux.
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[b + 1, PAGE, 2 * PAGE, 1]
        )),
        -EINVAL
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[b, PAGE, 2 * PAGE, 0x80]
        )),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mremap, &[b, PAGE, 2 * PAGE, 2])),
        -EINVAL,
        "MREMAP_FIXED needs MREMAP_MAYMOVE"
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Mremap,
            &[0x3000_0000, PAGE, 2 * PAGE, 1]
        )),
        -EFAULT
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Mremap, &[b, PAGE, 0, 1])),
        -EINVAL
    );
}

// Signal delivery (src/signal.rs and State::deliver/fault/sigreturn).

mod signals {
    use super::*;
    use linux::signal::{self, SignalRegs};
    use linux::sys::SignalEnv;
    use ostrog_abi::trap::{self, x86_64::TrapFrame as X86, ACCESS_WRITE, FAULT_PAGE};

    const HANDLER: u64 = IMAGE + 0x100;
    const RESTORER: u64 = IMAGE + 0x200;
    const TRAMPOLINE: u64 = PERSONALITY_BASE + 0x40;
    const ENV: SignalEnv = SignalEnv {
        trampoline: TRAMPOLINE,
        floor: u64::MAX,
        save_fp: None,
    };
    const SP: u64 = STACK_TOP - 0x1000;

    fn sigaction(st: &mut State, k: &mut Fake, sig: u64, handler: u64, flags: u64, mask: u64) {
        let act = [handler, flags, RESTORER, mask];
        let bytes: Vec<u8> = act.iter().flat_map(|w| w.to_le_bytes()).collect();
        k.write_user(BUF + 0x100, &bytes);
        assert_eq!(
            ret(call(st, k, Sys::RtSigaction, &[sig, BUF + 0x100, 0, 8])),
            0
        );
    }

    fn frame() -> X86 {
        X86 {
            rsp: SP,
            rip: IMAGE + 0x10,
            rax: 0,
            rbx: 0xb0b,
            rflags: 0x202,
            ..Default::default()
        }
    }

    #[test]
    fn raise_runs_the_handler_and_sigreturn_restores() {
        let (mut st, mut k) = setup(Arch::X86_64);
        sigaction(
            &mut st,
            &mut k,
            10,
            HANDLER,
            signal::SA_RESTORER | signal::SA_SIGINFO,
            1 << 11,
        );
        // tkill(self, SIGUSR1) returns 0, then the handler is entered.
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Tkill, &[42, 10], SP)), 0);
        let mut f = frame();
        assert_eq!(st.deliver(&mut k, &mut f, ENV), None);
        assert_eq!(f.rip, HANDLER);
        assert_eq!(f.rdi, 10);
        assert!(f.rsp < SP - 128 && (f.rsp + 8).is_multiple_of(16));
        let mut word = [0u8; 8];
        k.read_user(f.rsp, &mut word);
        assert_eq!(u64::from_le_bytes(word), RESTORER, "return address");
        let mut info = [0u8; 24];
        k.read_user(f.rsi, &mut info);
        assert_eq!(i32::from_le_bytes(info[0..4].try_into().unwrap()), 10);
        assert_eq!(i32::from_le_bytes(info[8..12].try_into().unwrap()), -6);
        assert_eq!(i32::from_le_bytes(info[16..20].try_into().unwrap()), 42);
        // In the handler: its signal and sa_mask are blocked; nothing more is delivered.
        assert_eq!(st.sigmask(0), 1 << 9 | 1 << 11);
        let mut again = f;
        assert_eq!(st.deliver(&mut k, &mut again, ENV), None);
        assert_eq!(again, f);
        // The handler returns to the restorer: rt_sigreturn with rsp past pretcode.
        let mut back = X86 {
            rsp: f.rsp + 8,
            rip: RESTORER + 8,
            rax: 15,
            ..f
        };
        st.sigreturn(&mut k, &mut back).unwrap();
        assert_eq!(back, frame());
        assert_eq!(st.sigmask(0), 0);
    }

    #[test]
    fn blocked_signals_wait_and_default_actions_end_the_process() {
        let (mut st, mut k) = setup(Arch::X86_64);
        sigaction(&mut st, &mut k, 12, HANDLER, signal::SA_RESTORER, 0);
        k.write_user(BUF, &(1u64 << 11).to_le_bytes());
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[0, BUF, 0, 8])),
            0
        );
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Kill, &[42, 12], SP)), 0);
        let mut f = frame();
        assert_eq!(st.deliver(&mut k, &mut f, ENV), None);
        assert_eq!(f, frame(), "blocked: not delivered");
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[1, BUF, 0, 8])),
            0
        );
        assert_eq!(st.deliver(&mut k, &mut f, ENV), None);
        assert_eq!(f.rip, HANDLER, "delivered once unblocked");
        // A default-ignored signal is dropped; SIGTERM's default ends the process.
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Kill, &[42, 28], SP)), 0);
        assert_eq!(
            call_at(&mut st, &mut k, Sys::Kill, &[42, 15], SP),
            Outcome::ExitProcess(143)
        );
    }

    #[test]
    fn resethand_nodefer_and_the_alternate_stack() {
        let (mut st, mut k) = setup(Arch::X86_64);
        let alt = ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, 4 * PAGE, 3, 0x22, u64::MAX, 0],
        )) as u64;
        let ss = [alt, 0, 4 * PAGE];
        let bytes: Vec<u8> = ss.iter().flat_map(|w| w.to_le_bytes()).collect();
        k.write_user(BUF + 0x200, &bytes);
        assert_eq!(
            ret(call_at(
                &mut st,
                &mut k,
                Sys::Sigaltstack,
                &[BUF + 0x200, 0],
                SP
            )),
            0
        );
        let flags =
            signal::SA_RESTORER | signal::SA_ONSTACK | signal::SA_NODEFER | signal::SA_RESETHAND;
        sigaction(&mut st, &mut k, 10, HANDLER, flags, 0);
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Tkill, &[42, 10], SP)), 0);
        let mut f = frame();
        assert_eq!(st.deliver(&mut k, &mut f, ENV), None);
        assert!(
            f.rsp >= alt && f.rsp < alt + 4 * PAGE,
            "on the alternate stack"
        );
        assert_eq!(st.sigmask(0), 0, "SA_NODEFER");
        assert_eq!(st.action(10).unwrap().handler, 0, "SA_RESETHAND");
        // A call from the handler on the alternate stack is the same thread's.
        assert_eq!(st.current(f.rsp - 64), 0);
        // sigaltstack from the handler: SS_ONSTACK, and no change while on it.
        assert_eq!(
            ret(call_at(
                &mut st,
                &mut k,
                Sys::Sigaltstack,
                &[0, BUF + 0x300],
                f.rsp - 64
            )),
            0
        );
        let mut w = [0u8; 8];
        k.read_user(BUF + 0x308, &mut w);
        assert_eq!(u64::from_le_bytes(w), u64::from(signal::SS_ONSTACK));
        assert_eq!(
            ret(call_at(
                &mut st,
                &mut k,
                Sys::Sigaltstack,
                &[BUF + 0x200, 0],
                f.rsp - 64
            )),
            -EPERM
        );
        // The saved uc_stack says SS_ONSTACK.
        let mut w = [0u8; 8];
        k.read_user(f.rdx + 24, &mut w);
        assert_eq!(u64::from_le_bytes(w), u64::from(signal::SS_ONSTACK));
    }

    #[test]
    fn faults_become_sigsegv_or_end_the_process() {
        let (mut st, mut k) = setup(Arch::X86_64);
        let page = ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, PAGE, 0, 0x22, u64::MAX, 0],
        )) as u64;
        let mut f = frame();
        // No handler: the process ends with 139 and a line.
        let kind = FAULT_PAGE | ACCESS_WRITE;
        assert_eq!(
            st.fault(&mut k, &mut f, kind, page + 8, IMAGE + 0x10, ENV),
            Some(Outcome::ExitProcess(139))
        );
        assert!(k.logs.last().unwrap().contains("killed by signal 11"));
        sigaction(
            &mut st,
            &mut k,
            11,
            HANDLER,
            signal::SA_RESTORER | signal::SA_SIGINFO,
            0,
        );
        assert_eq!(
            st.fault(&mut k, &mut f, kind, page + 8, IMAGE + 0x10, ENV),
            None
        );
        assert_eq!(f.rip, HANDLER);
        assert_eq!(f.rdi, 11);
        let mut info = [0u8; 24];
        k.read_user(f.rsi, &mut info);
        assert_eq!(
            i32::from_le_bytes(info[8..12].try_into().unwrap()),
            signal::SEGV_ACCERR
        );
        assert_eq!(
            u64::from_le_bytes(info[16..24].try_into().unwrap()),
            page + 8
        );
        // A fault in the handler with SIGSEGV blocked ends the process.
        let mut g = f;
        assert_eq!(
            st.fault(&mut k, &mut g, kind, 0x8, HANDLER, ENV),
            Some(Outcome::ExitProcess(139))
        );
        // An illegal instruction without a handler: 132.
        let mut h = frame();
        assert_eq!(
            st.fault(&mut k, &mut h, trap::FAULT_ILLEGAL, 0, IMAGE + 0x10, ENV),
            Some(Outcome::ExitProcess(132))
        );
    }

    #[test]
    fn no_room_for_the_frame_ends_the_process() {
        let (mut st, mut k) = setup(Arch::X86_64);
        sigaction(&mut st, &mut k, 10, HANDLER, signal::SA_RESTORER, 0);
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Tkill, &[42, 10], SP)), 0);
        // The stack pointer at the bottom of the stack: the frame would go below it.
        let mut f = X86 {
            rsp: STACK + 64,
            ..frame()
        };
        assert_eq!(
            st.deliver(&mut k, &mut f, ENV),
            Some(Outcome::ExitProcess(139))
        );
        // A bad frame at rt_sigreturn ends the process too.
        let mut g = X86 {
            rsp: 0x1000,
            ..frame()
        };
        assert_eq!(st.sigreturn(&mut k, &mut g), Err(Outcome::ExitProcess(139)));
    }

    #[test]
    fn fault_stacks_are_made_once_per_thread_and_freed_at_its_exit() {
        let (mut st, mut k) = setup(Arch::X86_64);
        let top = st.new_fault_stack(&mut k, SP).unwrap();
        assert_eq!(st.new_fault_stack(&mut k, SP), None, "made once");
        let start = top - linux::sys::FAULT_STACK_SIZE;
        assert!(k.pages.contains_key(&start));
        // The program cannot map over it.
        assert!(
            ret(call(
                &mut st,
                &mut k,
                Sys::Mmap,
                &[start, PAGE, 3, 0x10_0022, u64::MAX, 0]
            )) < 0
        );
        // A thread's own, freed when it exits.
        let child_stack = ret(call(
            &mut st,
            &mut k,
            Sys::Mmap,
            &[0, 16 * PAGE, 3, 0x22, u64::MAX, 0],
        )) as u64;
        let child_sp = child_stack + 16 * PAGE - 72;
        let flags = 0x100 | 0x800 | 0x1_0000;
        assert!(
            ret(call(
                &mut st,
                &mut k,
                Sys::Clone,
                &[flags, child_sp, 0, 0, 0]
            )) > 0
        );
        let child_top = st.new_fault_stack(&mut k, child_sp - 200).unwrap();
        assert_ne!(child_top, top);
        let child_start = child_top - linux::sys::FAULT_STACK_SIZE;
        assert!(k.pages.contains_key(&child_start));
        assert_eq!(
            call_at(&mut st, &mut k, Sys::Exit, &[0], child_sp - 200),
            Outcome::ExitThread(0)
        );
        assert!(!k.pages.contains_key(&child_start), "freed");
        assert!(k.pages.contains_key(&start), "the main thread's stays");
    }

    #[test]
    fn aarch64_handlers_return_through_the_trampoline() {
        use ostrog_abi::trap::aarch64::TrapFrame as A64;
        let (mut st, mut k) = setup(Arch::Aarch64);
        // musl on AArch64 sets no restorer.
        let act = [HANDLER, 0u64, 0, 0];
        let bytes: Vec<u8> = act.iter().flat_map(|w| w.to_le_bytes()).collect();
        k.write_user(BUF + 0x100, &bytes);
        assert_eq!(
            ret(call(
                &mut st,
                &mut k,
                Sys::RtSigaction,
                &[10, BUF + 0x100, 0, 8]
            )),
            0
        );
        assert_eq!(ret(call_at(&mut st, &mut k, Sys::Tkill, &[42, 10], SP)), 0);
        let start = A64 {
            sp: SP,
            pc: IMAGE + 0x10,
            ..Default::default()
        };
        let mut f = start;
        // The floor keeps the frame below the personality's stack.
        let env = SignalEnv {
            floor: SP - 0x4000,
            ..ENV
        };
        assert_eq!(st.deliver(&mut k, &mut f, env), None);
        assert_eq!(f.pc, HANDLER);
        assert_eq!(f.x[30], TRAMPOLINE);
        assert!(f.sp + A64::SIZE <= SP - 0x4000 && f.sp.is_multiple_of(16));
        let mut back = A64 {
            pc: TRAMPOLINE + 8,
            ..f
        };
        st.sigreturn(&mut k, &mut back).unwrap();
        assert_eq!(back, start);
        assert_eq!(st.sigmask(0), 0);
    }
}

fn u64_at(k: &mut Fake, at: u64) -> u64 {
    let mut b = [0u8; 8];
    k.read_user(at, &mut b);
    u64::from_le_bytes(b)
}

#[test]
fn sysinfo_reports_uptime_and_the_process_memory() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch);
        k.now = 5_500_000_000;
        k.write_user(BUF, &[0xff; 112]);
        assert_eq!(ret(call(&mut st, &mut k, Sys::Sysinfo, &[BUF])), 0);
        assert_eq!(u64_at(&mut k, BUF), 5); // uptime
        assert_eq!(u64_at(&mut k, BUF + 8), 0); // loads
        assert_eq!(u64_at(&mut k, BUF + 32), 1 << 20); // totalram: the limit
        assert_eq!(u64_at(&mut k, BUF + 40), (1 << 20) - 40960); // freeram
        assert_eq!(u64_at(&mut k, BUF + 64), 0); // totalswap
        let mut procs = [0u8; 2];
        k.read_user(BUF + 80, &mut procs);
        assert_eq!(u16::from_le_bytes(procs), 3);
        assert_eq!(u64_at(&mut k, BUF + 104) as u32, 1); // mem_unit
        assert_eq!(ret(call(&mut st, &mut k, Sys::Sysinfo, &[0x10])), -EFAULT);
    }
}

#[test]
fn prctl_names_threads_and_keeps_the_dumpable_flag() {
    let (mut st, mut k) = setup(Arch::X86_64);
    // The first name is the executable's.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[16, BUF])), 0);
    let mut name = [0u8; 16];
    k.read_user(BUF, &mut name);
    assert_eq!(&name, b"test\0\0\0\0\0\0\0\0\0\0\0\0");
    // Set: at most 15 bytes kept.
    k.write_user(BUF + 64, b"a-very-long-thread-name\0");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[15, BUF + 64])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[16, BUF])), 0);
    k.read_user(BUF, &mut name);
    assert_eq!(&name, b"a-very-long-thr\0");
    // Per thread: a thread made now starts with the creator's name, then sets its own.
    let child_stack = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[0, 16 * PAGE, 3, 0x22, u64::MAX, 0],
    )) as u64;
    let child_sp = child_stack + 16 * PAGE - 72;
    let args = [clone_flags(), child_sp, BUF + 256, BUF + 264, 0x1234_5000];
    assert_eq!(ret(call(&mut st, &mut k, Sys::Clone, &args)), 43);
    k.write_user(BUF + 64, b"worker\0");
    assert_eq!(
        ret(call_at(
            &mut st,
            &mut k,
            Sys::Prctl,
            &[15, BUF + 64],
            child_sp - 64
        )),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[16, BUF])), 0);
    k.read_user(BUF, &mut name);
    assert_eq!(&name, b"a-very-long-thr\0");
    assert_eq!(
        ret(call_at(
            &mut st,
            &mut k,
            Sys::Prctl,
            &[16, BUF],
            child_sp - 64
        )),
        0
    );
    k.read_user(BUF, &mut name);
    assert_eq!(&name[..7], b"worker\0");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[15, 0x10])), -EFAULT);
    // Dumpable: 1, settable to 0 or 1 only.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[3])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[4, 2])), -EINVAL);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[4, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[3])), 0);
    // Anything else.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Prctl, &[38, 1])), -EINVAL);
}

#[test]
fn scheduling_policy_is_sched_other_only() {
    let (mut st, mut k) = setup(Arch::Aarch64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::SchedGetscheduler, &[0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::SchedGetscheduler, &[42])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::SchedGetscheduler, &[7])),
        -ESRCH
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::SchedGetscheduler,
            &[-1i64 as u64]
        )),
        -EINVAL
    );
    k.write_user(BUF, &[0xff; 4]);
    assert_eq!(ret(call(&mut st, &mut k, Sys::SchedGetparam, &[0, BUF])), 0);
    let mut p = [0u8; 4];
    k.read_user(BUF, &mut p);
    assert_eq!(i32::from_le_bytes(p), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::SchedGetparam, &[0, 0])),
        -EINVAL
    );
    // SCHED_OTHER with priority 0: accepted; a priority: EINVAL; real-time: EPERM.
    k.write_user(BUF, &0i32.to_le_bytes());
    let set = |st: &mut State, k: &mut Fake, policy: u64| {
        ret(call(st, k, Sys::SchedSetscheduler, &[0, policy, BUF]))
    };
    assert_eq!(set(&mut st, &mut k, 0), 0);
    assert_eq!(set(&mut st, &mut k, 1), -EINVAL);
    assert_eq!(set(&mut st, &mut k, 7), -EINVAL);
    k.write_user(BUF, &10i32.to_le_bytes());
    assert_eq!(set(&mut st, &mut k, 0), -EINVAL);
    assert_eq!(set(&mut st, &mut k, 1), -EPERM);
    assert_eq!(set(&mut st, &mut k, 2), -EPERM);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::SchedSetscheduler, &[0, 0, 0])),
        -EINVAL
    );
}

#[test]
fn pause_waits_until_a_signal_arrives_for_the_thread() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert!(number(Arch::Aarch64, Sys::Pause).is_none());
    let child_stack = ret(call(
        &mut st,
        &mut k,
        Sys::Mmap,
        &[0, 16 * PAGE, 3, 0x22, u64::MAX, 0],
    )) as u64;
    let child_sp = child_stack + 16 * PAGE - 72;
    let args = [clone_flags(), child_sp, BUF + 256, BUF + 264, 0x1234_5000];
    assert_eq!(ret(call(&mut st, &mut k, Sys::Clone, &args)), 43);
    // A handler for SIGUSR1 (10), SIGUSR2 (12) blocked in the main thread.
    k.write_user(BUF, &0x40_1000u64.to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[10, BUF, 0, 8])),
        0
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[12, BUF, 0, 8])),
        0
    );
    k.write_user(BUF + 64, &(1u64 << 11).to_le_bytes());
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigprocmask,
            &[0, BUF + 64, 0, 8]
        )),
        0
    );
    assert_eq!(call(&mut st, &mut k, Sys::Pause, &[]), Outcome::WaitEvent);
    // The other thread sends the blocked signal: the main thread keeps waiting.
    let before = k.notified;
    assert_eq!(
        ret(call_at(
            &mut st,
            &mut k,
            Sys::Tkill,
            &[42, 12],
            child_sp - 64
        )),
        0
    );
    assert!(k.notified > before);
    assert_eq!(call(&mut st, &mut k, Sys::Pause, &[]), Outcome::WaitEvent);
    // Then one it takes: pause returns EINTR (the handler runs on the way back).
    assert_eq!(
        ret(call_at(
            &mut st,
            &mut k,
            Sys::Tkill,
            &[42, 10],
            child_sp - 64
        )),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pause, &[])), -EINTR);
}

#[test]
fn console_input_is_read_from_fd_0_and_its_copies() {
    let (mut st, mut k) = setup(Arch::X86_64);
    k.input.extend(b"hello\nworld\n");
    // What is buffered, up to the count.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 4])), 4);
    let mut b = [0u8; 8];
    k.read_user(BUF, &mut b[..4]);
    assert_eq!(&b[..4], b"hell");
    // readv scatters over its vectors.
    let iov: Vec<u8> = [BUF + 0x100, 3, BUF + 0x200, 100]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    k.write_user(BUF + 0x80, &iov);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Readv, &[0, BUF + 0x80, 2])),
        8
    );
    k.read_user(BUF + 0x100, &mut b[..3]);
    assert_eq!(&b[..3], b"o\nw");
    k.read_user(BUF + 0x200, &mut b[..5]);
    assert_eq!(&b[..5], b"orld\n");
    // Nothing buffered: the call waits without the lock and is made again.
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[0, BUF, 4]),
        Outcome::WaitInput { timeout_ns: None }
    );
    // A zero count reads nothing and does not wait.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 0])), 0);
    // O_NONBLOCK: EAGAIN, and F_GETFL says so.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[0, 4, 0o4000])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[0, 3])), 0o4000);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 4])), -EAGAIN);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[0, 4, 0])), 0);
    // A copy of fd 0 reads the console too.
    let copy = ret(call(&mut st, &mut k, Sys::Dup, &[0]));
    assert_eq!(copy, 3);
    k.input.extend(b"x");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[3, BUF, 4])), 1);
    // Ctrl-D in the middle of a line: the bytes before it; alone: end of file.
    k.input.extend(b"ab\x04\x04cd");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 64])), 2);
    k.read_user(BUF, &mut b[..2]);
    assert_eq!(&b[..2], b"ab");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 64])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 64])), 2);
    // Ctrl-D at the start of a line, read with the line: the line, then end of file
    // (without waiting: the input is empty now).
    k.input.extend(b"last\n\x04");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 64])), 5);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 64])), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[0, BUF, 64]),
        Outcome::WaitInput { timeout_ns: None }
    );
}

#[test]
fn console_input_bad_buffers_huge_counts_and_denial() {
    let (mut st, mut k) = setup(Arch::Aarch64);
    k.input.extend(b"keep me");
    // A buffer that is not writable: EFAULT, and no input is taken.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, 0x1234_0000, 4])),
        -EFAULT
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, IMAGE, 4])),
        -EFAULT
    );
    assert_eq!(k.input.len(), 7);
    // A huge count: at most CONSOLE_READ_MAX bytes are asked for (and must be writable).
    k.input.extend(std::iter::repeat_n(b'z', 3000));
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, u64::MAX])),
        1024
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Read,
            &[0, STACK_TOP - 16, 1 << 40]
        )),
        -EFAULT
    );
    // readv: too many vectors, a bad vector array.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Readv, &[0, BUF, 1025])),
        -EINVAL
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Readv, &[0, 0x10, 1])),
        -EFAULT
    );
    // The policy denies console input: EACCES, and poll says POLLERR.
    k.console_denied = true;
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 4])), -EACCES);
    k.write_user(BUF, &[0, 0, 0, 0, 1, 0, 0, 0]);
    k.write_user(BUF + 0x40, &[0; 16]);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Ppoll, &[BUF, 1, BUF + 0x40, 0])),
        1
    );
    let mut p = [0u8; 8];
    k.read_user(BUF, &mut p);
    assert_eq!(u16::from_le_bytes([p[6], p[7]]), 8);
    // A closed fd 0 reads nothing.
    k.console_denied = false;
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[0, BUF, 4])), -EBADF);
}

#[test]
fn poll_reports_console_input_and_waits_for_it() {
    let (mut st, mut k) = setup(Arch::X86_64);
    // fd 0 POLLIN, fd 1 POLLOUT.
    let fds = [0u8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0];
    k.write_user(BUF, &fds);
    // Nothing typed: only stdout is ready.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[BUF, 2, 0])), 1);
    let mut p = [0u8; 16];
    k.read_user(BUF, &mut p);
    assert_eq!(u16::from_le_bytes([p[6], p[7]]), 0);
    // fd 0 alone: a time-out of 0 answers at once, others wait for input.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 0])), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 50]),
        Outcome::WaitInput {
            timeout_ns: Some(50_000_000)
        }
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Poll, &[BUF, 1, u64::MAX]),
        Outcome::WaitInput { timeout_ns: None }
    );
    // Typed: POLLIN.
    k.input.extend(b"q");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 0])), 1);
    k.read_user(BUF, &mut p[..8]);
    assert_eq!(u16::from_le_bytes([p[6], p[7]]), 1);
    // TCGETS still says a terminal.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Ioctl, &[0, 0x5401, BUF])), 0);
}

#[test]
fn signals_from_other_processes_pend_are_waited_for_and_interrupt_waits() {
    use linux::sys::Interruption;
    let (mut st, mut k) = setup(Arch::X86_64);
    let nr = |sys| number(Arch::X86_64, sys).unwrap();
    let me = st.current(STACK_TOP - 0x1000);
    // A handler for SIGUSR1 (10), without SA_RESTART.
    k.write_user(BUF, &0x40_1000u64.to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[10, BUF, 0, 8])),
        0
    );
    // Nothing pending; then SIGUSR1 from process 77 while it is blocked: pending.
    let set = BUF + 64;
    k.write_user(set, &(1u64 << 9).to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[0, set, 0, 8])),
        0
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigpending, &[BUF + 128, 8])),
        0
    );
    assert_eq!(u64_at(&mut k, BUF + 128), 0);
    let before = k.notified;
    st.signal_arrived(&mut k, 10, 77);
    assert!(k.notified > before, "waiting threads look again");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigpending, &[BUF + 128, 8])),
        0
    );
    assert_eq!(u64_at(&mut k, BUF + 128), 1 << 9);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigpending, &[BUF + 128, 9])),
        -EINVAL
    );
    // sigtimedwait takes it, with its sender; then nothing is left: EAGAIN at once with a
    // zero time-out, a timed wait until the time-out with another.
    let zero = BUF + 256;
    k.write_user(zero, &[0u8; 16]);
    let info = BUF + 512;
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigtimedwait,
            &[set, info, zero, 8]
        )),
        10
    );
    assert_eq!(u32_at(&mut k, info), 10);
    assert_eq!(u32_at(&mut k, info + 8), 0, "SI_USER");
    assert_eq!(u32_at(&mut k, info + 16), 77, "si_pid: the sender");
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigtimedwait,
            &[set, info, zero, 8]
        )),
        -EAGAIN
    );
    let second = BUF + 288;
    k.write_user(second, &1u64.to_le_bytes());
    k.write_user(second + 8, &0u64.to_le_bytes());
    k.now = 5_000;
    let timed = [set, info, second, 8];
    assert_eq!(
        call(&mut st, &mut k, Sys::RtSigtimedwait, &timed),
        Outcome::WaitEventUntil(1_000_005_000)
    );
    k.now = 500_000_000;
    assert_eq!(
        call(&mut st, &mut k, Sys::RtSigtimedwait, &timed),
        Outcome::WaitEventUntil(1_000_005_000),
        "the deadline stays the first call's"
    );
    k.now = 1_000_005_000;
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigtimedwait, &timed)),
        -EAGAIN
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigtimedwait,
            &[set, info, zero, 4]
        )),
        -EINVAL
    );
    // SIGCHLD with its default action (ignore) and not blocked is dropped.
    st.signal_arrived(&mut k, 17, 101);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigpending, &[BUF + 128, 8])),
        0
    );
    assert_eq!(u64_at(&mut k, BUF + 128), 0);
    // sigsuspend with nothing blocked waits; a signal from another process ends it.
    let none = BUF + 96;
    k.write_user(none, &0u64.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::RtSigsuspend, &[none, 8]),
        Outcome::WaitEvent
    );
    assert_eq!(st.sigmask(me), 0, "the suspend mask while it waits");
    assert_eq!(
        st.interruption(me, nr(Sys::RtSigsuspend)),
        Interruption::Retry
    );
    st.signal_arrived(&mut k, 10, 77);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigsuspend, &[none, 8])),
        -EINTR
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigsuspend, &[none, 4])),
        -EINVAL
    );
    // What a signal means for an interrupted wait: EINTR for nanosleep and for a futex
    // without SA_RESTART, the call made again with it, a retry when it is blocked.
    assert_eq!(st.interruption(me, nr(Sys::Nanosleep)), Interruption::Eintr);
    assert_eq!(st.interruption(me, nr(Sys::Futex)), Interruption::Eintr);
    k.write_user(BUF + 8, &0x1000_0000u64.to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigaction, &[10, BUF, 0, 8])),
        0
    );
    assert_eq!(st.interruption(me, nr(Sys::Futex)), Interruption::Restart);
    assert_eq!(st.interruption(me, nr(Sys::Nanosleep)), Interruption::Eintr);
    assert_eq!(st.interruption(me, nr(Sys::Pause)), Interruption::Retry);
    k.write_user(set, &(1u64 << 9).to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::RtSigprocmask, &[2, set, 0, 8])),
        0
    );
    assert_eq!(st.interruption(me, nr(Sys::Futex)), Interruption::Retry);
    // A nanosleep cut short reports the time left.
    let req = BUF + 320;
    let rem = BUF + 352;
    let call_ = Call {
        nr: nr(Sys::Nanosleep),
        args: [req, rem, 0, 0, 0, 0],
        tls: 0,
        sp: STACK_TOP - 0x1000,
    };
    st.sleep_interrupted(&mut k, &call_, 2_500_000_000);
    assert_eq!(u64_at(&mut k, rem), 2);
    assert_eq!(u64_at(&mut k, rem + 8), 500_000_000);
    // Another process: through the kernel; ESRCH by default.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[4242, 10])), -ESRCH);
    // What the kernel is told the thread takes: every signal it does not block (SIGKILL
    // and SIGSTOP always), once per change; those its sigtimedwait waits for too.
    let sp = STACK_TOP - 0x1000;
    let kill_stop = 1u64 << 8 | 1 << 18;
    assert_eq!(st.accept_change(sp), Some(!(1u64 << 9) | kill_stop));
    assert_eq!(st.accept_change(sp), None);
    // (The SIGUSR1 that ended the sigsuspend above is still pending here: no frame took it.)
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigtimedwait,
            &[set, info, zero, 8]
        )),
        10
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::RtSigtimedwait, &[set, info, 0, 8]),
        Outcome::WaitEvent
    );
    assert_eq!(st.accept_change(sp), Some(u64::MAX));
    st.signal_arrived(&mut k, 10, 77);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::RtSigtimedwait,
            &[set, info, 0, 8]
        )),
        10
    );
    assert_eq!(st.accept_change(sp), Some(!(1u64 << 9) | kill_stop));
    assert_eq!(
        st.before_call(nr(Sys::RtSigpending)),
        linux::sys::BeforeCall::TakePending
    );
    assert_eq!(
        st.before_call(nr(Sys::RtSigreturn)),
        linux::sys::BeforeCall::Sigreturn
    );
    assert_eq!(
        st.before_call(nr(Sys::Getpid)),
        linux::sys::BeforeCall::Nothing
    );
}

fn u32_at(k: &mut Fake, at: u64) -> u32 {
    let mut b = [0u8; 4];
    k.read_user(at, &mut b);
    u32::from_le_bytes(b)
}

#[test]
fn real_time_is_the_wall_clock_services_and_its_refusal_is_the_programs_error() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let secs = |k: &mut Fake, at: u64| {
        let mut b = [0u8; 16];
        k.read_user(at, &mut b);
        (
            u64::from_le_bytes(b[..8].try_into().unwrap()),
            u64::from_le_bytes(b[8..].try_into().unwrap()),
        )
    };
    k.now = 5_000_000_007;
    // No service: real time is time since boot.
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[0, BUF])), 0);
    assert_eq!(secs(&mut k, BUF), (5, 7));
    // With one: CLOCK_REALTIME, CLOCK_REALTIME_COARSE, gettimeofday and time read it;
    // CLOCK_MONOTONIC does not.
    k.realtime = Some(Ok(1_796_526_309_250_000_000));
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[0, BUF])), 0);
    assert_eq!(secs(&mut k, BUF), (1_796_526_309, 250_000_000));
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[5, BUF])), 0);
    assert_eq!(secs(&mut k, BUF), (1_796_526_309, 250_000_000));
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[1, BUF])), 0);
    assert_eq!(secs(&mut k, BUF), (5, 7));
    assert_eq!(ret(call(&mut st, &mut k, Sys::Gettimeofday, &[BUF, 0])), 0);
    assert_eq!(secs(&mut k, BUF), (1_796_526_309, 250_000));
    assert_eq!(ret(call(&mut st, &mut k, Sys::Time, &[0])), 1_796_526_309);
    // An absolute CLOCK_REALTIME sleep is measured on the wall clock.
    k.write_user(BUF, &1_796_526_310u64.to_le_bytes());
    k.write_user(BUF + 8, &0u64.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::ClockNanosleep, &[0, 1, BUF, 0]),
        Outcome::Block(Blocking::Sleep { ns: 750_000_000 })
    );
    // The service refuses (the policy denied the program): the calls fail with its errno.
    k.realtime = Some(Err(EACCES));
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::ClockGettime, &[0, BUF])),
        -EACCES
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Gettimeofday, &[BUF, 0])),
        -EACCES
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Time, &[0])), -EACCES);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::ClockNanosleep, &[0, 1, BUF, 0])),
        -EACCES
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::ClockGettime, &[1, BUF])), 0);
}
