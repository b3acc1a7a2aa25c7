//! Processes in the personality against a fake kernel: in-process pipes, the `vfork` child
//! and its tables, `execve` into a new process, `wait4`/`waitid` statuses, `kill` of a
//! child.

use std::collections::BTreeMap;

use linux::elf::Rights;
use linux::errno::*;
use linux::mm::{Kind, Memory, Space};
use linux::nr::{number, Sys};
use linux::sys::proc::{romfs_path, wait_status, MAX_PIPE_FDS, PIPE_BUDGET, PIPE_CAPACITY};
use linux::sys::{Call, Kernel, Outcome, State};
use linux::{Arch, PERSONALITY_BASE};

const STACK_TOP: u64 = 0x3000_0000;
const STACK: u64 = STACK_TOP - 0x10000;
const SP: u64 = STACK_TOP - 0x1000;

#[derive(Default)]
struct Fake {
    mem: BTreeMap<u64, u8>,
    execs: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    exec_error: Option<i64>,
    kills: Vec<(i32, i32)>,
    released: Vec<i32>,
    notified: usize,
}

impl Memory for Fake {
    fn allocate_at(&mut self, _: u64, _: u64, _: Rights) -> Result<(), i64> {
        Ok(())
    }
    fn allocate(&mut self, _: u64, _: Rights) -> Result<u64, i64> {
        Err(ENOMEM)
    }
    fn free(&mut self, _: u64, _: u64) -> Result<(), i64> {
        Ok(())
    }
    fn protect(&mut self, _: u64, _: u64, _: Rights) -> Result<(), i64> {
        Ok(())
    }
}

impl Kernel for Fake {
    fn console_write(&mut self, _: u64, len: usize) -> Result<usize, i64> {
        Ok(len)
    }
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = *self.mem.get(&(addr + i as u64)).unwrap_or(&0);
        }
    }
    fn write_user(&mut self, addr: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            self.mem.insert(addr + i as u64, *b);
        }
    }
    fn now_ns(&mut self) -> u64 {
        0
    }
    fn sleep_ns(&mut self, _: u64) {}
    fn yield_now(&mut self) {}
    fn futex_wait(&mut self, _: u64, _: u32, _: Option<u64>) -> Result<(), i64> {
        Err(EAGAIN)
    }
    fn futex_wake(&mut self, _: u64, _: u32) -> Result<u64, i64> {
        Ok(0)
    }
    fn spawn(&mut self, _: u64, _: Option<u64>) -> Result<u64, i64> {
        Ok(7)
    }
    fn join(&mut self, _: u64) {}
    fn log(&mut self, _: &str) {}
    fn console_write_bytes(&mut self, bytes: &[u8]) -> Result<usize, i64> {
        Ok(bytes.len())
    }
    fn audit(&mut self, _: &str) -> bool {
        true
    }
    fn random(&mut self, _: &mut [u8]) -> Result<(), i64> {
        Ok(())
    }
    fn exec(&mut self, path: &[u8], args: &[u8], env: &[u8]) -> Result<i32, i64> {
        if let Some(e) = self.exec_error {
            return Err(e);
        }
        self.execs
            .push((path.to_vec(), args.to_vec(), env.to_vec()));
        Ok(100 + self.execs.len() as i32)
    }
    fn kill_child(&mut self, pid: i32, code: i32) -> Result<(), i64> {
        self.kills.push((pid, code));
        Ok(())
    }
    fn release_child(&mut self, pid: i32) {
        self.released.push(pid);
    }
    fn notify(&mut self) {
        self.notified += 1;
    }
    fn vfs(
        &mut self,
        _: linux::sys::file::VfsRequest<'_>,
    ) -> Result<linux::sys::file::VfsReply, i64> {
        // No channel to a VFS server.
        Err(ENOENT)
    }
}

fn setup(arch: Arch) -> (State, Fake) {
    let mut space = Space::new();
    space.reserve(0, 0x10000);
    space.reserve(PERSONALITY_BASE, u64::MAX);
    space.record(STACK, STACK_TOP, Rights::RW, Kind::Stack);
    (
        State::new(arch, space, 42, STACK_TOP, b"/bin/test"),
        Fake::default(),
    )
}

fn call(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let nr = number(st.arch, sys).expect("no such call on this arch");
    st.dispatch(
        k,
        &mut Call {
            nr,
            args: a,
            tls: 0,
            sp: SP,
        },
    )
}

fn ret(o: Outcome) -> i64 {
    match o {
        Outcome::Return(v) => v,
        other => panic!("expected a result, got {other:?}"),
    }
}

fn u32_at(k: &mut Fake, at: u64) -> u32 {
    let mut b = [0u8; 4];
    k.read_user(at, &mut b);
    u32::from_le_bytes(b)
}

/// Writes `s` NUL-terminated at `at`; the address after it.
fn put_str(k: &mut Fake, at: u64, s: &str) -> u64 {
    k.write_user(at, s.as_bytes());
    k.write_user(at + s.len() as u64, &[0]);
    at + s.len() as u64 + 1
}

/// A NULL-terminated pointer array at `at` of strings placed from `strings`.
fn put_array(k: &mut Fake, at: u64, mut strings: u64, items: &[&str]) {
    for (i, s) in items.iter().enumerate() {
        k.write_user(at + i as u64 * 8, &strings.to_le_bytes());
        strings = put_str(k, strings, s);
    }
    k.write_user(at + items.len() as u64 * 8, &0u64.to_le_bytes());
}

const O_CLOEXEC: u64 = 0o2000000;
const O_NONBLOCK: u64 = 0o4000;

#[test]
fn pipes_carry_bytes_and_report_end_of_file_and_broken_pipes() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let fds = STACK;
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, O_CLOEXEC])), 0);
    let (r, w) = (u32_at(&mut k, fds) as u64, u32_at(&mut k, fds + 4) as u64);
    assert_eq!((r, w), (3, 4));
    // Close-on-exec is kept per descriptor.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[r, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[r, 2, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[r, 1])), 0);
    // An empty pipe with a writer: the reader waits (and a non-blocking one is told so).
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16]),
        Outcome::WaitEvent
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Fcntl, &[r, 4, O_NONBLOCK])),
        0
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        -EAGAIN
    );
    put_str(&mut k, STACK + 32, "hello");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[w, STACK + 32, 5])),
        5
    );
    assert!(k.notified > 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 3])),
        3
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 67, 16])),
        2
    );
    let mut got = [0u8; 5];
    k.read_user(STACK + 64, &mut got);
    assert_eq!(&got, b"hello");
    // Wrong ends, bad pointers.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[r, STACK + 32, 5])),
        -EBADF
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[w, STACK + 32, 5])),
        -EBADF
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[w, 0x1000, 5])),
        -EFAULT
    );
    // No writer left: end of file; no reader left: EPIPE.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[w])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[w])), -EBADF);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])), 0);
    let (r2, w2) = (u32_at(&mut k, fds) as u64, u32_at(&mut k, fds + 4) as u64);
    assert_eq!((r2, w2), (4, 5), "the lowest free descriptors");
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[r2])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[w2, STACK + 32, 5])),
        -EPIPE
    );
    // A full pipe makes the writer wait.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])), 0);
    let w3 = u32_at(&mut k, fds + 4) as u64;
    let mut total = 0;
    while let Outcome::Return(n) = call(&mut st, &mut k, Sys::Write, &[w3, STACK, 0x8000]) {
        assert!(n > 0);
        total += n;
    }
    assert_eq!(total as usize, PIPE_CAPACITY);
    // All pipes together hold at most PIPE_BUDGET bytes: a second full pipe fills it.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, O_NONBLOCK])),
        0
    );
    let w4 = u32_at(&mut k, fds + 4) as u64;
    while let Outcome::Return(n) = call(&mut st, &mut k, Sys::Write, &[w4, STACK, 0x8000]) {
        if n < 0 {
            assert_eq!(n, -EAGAIN);
            break;
        }
        total += n;
    }
    assert_eq!(total as usize, PIPE_BUDGET);
    // Bad flags, bad pointer, and the bound on descriptors.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 1])), -EINVAL);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Pipe2, &[0x1000, 0])),
        -EFAULT
    );
    let mut made = 0;
    loop {
        match ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])) {
            0 => made += 2,
            e => {
                assert_eq!(e, -EMFILE);
                break;
            }
        }
    }
    assert!(made <= MAX_PIPE_FDS);
}

/// A `vfork` child (musl's posix_spawn: `clone(CLONE_VM | CLONE_VFORK | SIGCHLD, stack)`).
fn vfork(st: &mut State, k: &mut Fake, stack: u64) {
    let flags = 0x100 | 0x4000 | 17;
    assert_eq!(
        call(st, k, Sys::Clone, &[flags, stack]),
        Outcome::Vfork { sp: stack }
    );
}

#[test]
fn a_vfork_child_execs_a_new_process_and_the_parent_gets_its_tables_back() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch);
        let fds = STACK;
        assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, O_CLOEXEC])), 0);
        let (r, w) = (3, 4);
        vfork(&mut st, &mut k, STACK + 0x800);
        // A second vfork while the first child runs: EAGAIN.
        assert_eq!(
            ret(call(
                &mut st,
                &mut k,
                Sys::Clone,
                &[0x4100 | 17, STACK + 0x400]
            )),
            -EAGAIN
        );
        // The child closes the read end and resets a signal action: both only its own.
        assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[r])), 0);
        let act = STACK + 0x100;
        k.write_user(act, &1u64.to_le_bytes()); // SIG_IGN
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::RtSigaction, &[13, act, 0, 8])),
            0
        );
        // execve("./prog", ["prog", "a b", "c"], ["K=V"]).
        let path = STACK + 0x200;
        put_str(&mut k, path, "./bin/prog");
        put_array(&mut k, STACK + 0x300, STACK + 0x400, &["prog", "a b", "c"]);
        put_array(&mut k, STACK + 0x500, STACK + 0x600, &["K=V"]);
        assert_eq!(
            call(
                &mut st,
                &mut k,
                Sys::Execve,
                &[path, STACK + 0x300, STACK + 0x500]
            ),
            Outcome::VforkEnd(101)
        );
        assert_eq!(
            k.execs,
            vec![(
                b"bin/prog".to_vec(),
                b"bin/prog\0a b\0c\0".to_vec(),
                b"K=V\0".to_vec()
            )]
        );
        // The parent: its read end is open, the write end too, SIGPIPE is as it was.
        assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[r, 1])), 1);
        assert_eq!(st.action(13).map(|a| a.handler), Some(0));
        assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[w])), 0);
        // The child closed-on-exec its write end: the parent reads end of file.
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 4])),
            0
        );
        // It has not ended: wait4 waits, WNOHANG says 0; then it ends with 3.
        let status = STACK + 0x700;
        assert_eq!(
            call(&mut st, &mut k, Sys::Wait4, &[101, status, 0, 0]),
            Outcome::WaitEvent
        );
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, status, 1, 0])),
            0
        );
        st.child_ended(101, 3);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, status, 0, 0])),
            101
        );
        assert_eq!(u32_at(&mut k, status), 3 << 8);
        assert_eq!(k.released, vec![101]);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, status, 0, 0])),
            -ECHILD
        );
    }
}

#[test]
fn a_failed_exec_is_reported_through_the_pipe_and_the_child_exit_status() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, O_CLOEXEC])),
        0
    );
    vfork(&mut st, &mut k, STACK + 0x800);
    k.exec_error = Some(EACCES);
    let path = STACK + 0x200;
    put_str(&mut k, path, "prog");
    put_array(&mut k, STACK + 0x300, STACK + 0x400, &["prog"]);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Execve,
            &[path, STACK + 0x300, 0]
        )),
        -EACCES
    );
    // As musl's child: the errno into the pipe, then _exit(127).
    k.write_user(STACK + 0x100, &(EACCES as u32).to_le_bytes());
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[4, STACK + 0x100, 4])),
        4
    );
    let Outcome::VforkEnd(pid) = call(&mut st, &mut k, Sys::ExitGroup, &[127]) else {
        panic!("the vfork child's exit must resume the parent");
    };
    assert!(pid > 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[4])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[3, STACK + 0x40, 4])),
        4
    );
    assert_eq!(u32_at(&mut k, STACK + 0x40), EACCES as u32);
    // waitid: the child exited with 127.
    let info = STACK + 0x900;
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Waitid,
            &[1, pid as u64, info, 4, 0]
        )),
        0
    );
    assert_eq!(u32_at(&mut k, info), 17, "SIGCHLD");
    assert_eq!(u32_at(&mut k, info + 8), 1, "CLD_EXITED");
    assert_eq!(u32_at(&mut k, info + 16), pid as u32);
    assert_eq!(u32_at(&mut k, info + 24), 127);
    assert!(k.released.is_empty(), "no process behind it");
    // Missing files, `..`, names too long for the kernel, execve outside a vfork child.
    assert_eq!(romfs_path(b"/../x"), None);
    assert_eq!(romfs_path(b"///./a/b"), Some(&b"a/b"[..]));
    assert_eq!(romfs_path(b"/"), None);
    // Outside a vfork child too, the kernel's refusal is the error.
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Execve,
            &[path, STACK + 0x300, 0]
        )),
        -EACCES
    );
}

#[test]
fn execve_outside_vfork_replaces_the_process_by_a_new_one() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let path = STACK + 0x200;
    put_str(&mut k, path, "/prog");
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::Replaced
    );
    assert_eq!(k.execs.len(), 1);
    assert_eq!(st.replacement_ended(), None);
    st.child_ended(101, 4);
    assert_eq!(st.replacement_ended(), Some(4));
    // Killed by a signal: 128 + the signal, as a shell says.
    let (mut st, mut k) = setup(Arch::X86_64);
    put_str(&mut k, path, "prog");
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::Replaced
    );
    st.child_ended(101, -1);
    assert_eq!(st.replacement_ended(), Some(128 + 9));
    // A process with several threads is not replaced.
    let (mut st, mut k) = setup(Arch::X86_64);
    let thread = 0x100 | 0x800 | 0x1_0000;
    assert!(ret(call(&mut st, &mut k, Sys::Clone, &[thread, STACK + 0x8000])) > 0);
    put_str(&mut k, path, "prog");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Execve, &[path, 0, 0])),
        -ENOSYS
    );
    assert!(k.execs.is_empty());
}

#[test]
fn an_exec_with_an_inherited_pipe_or_too_many_arguments_is_refused() {
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, 0])), 0);
    vfork(&mut st, &mut k, 0);
    let path = STACK + 0x200;
    put_str(&mut k, path, "prog");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Execve, &[path, 0, 0])),
        -ENOSYS
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[3])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[4])), 0);
    let long = "x".repeat(1500);
    put_array(
        &mut k,
        STACK + 0x300,
        STACK + 0x400,
        &["prog", &long, &long],
    );
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Execve,
            &[path, STACK + 0x300, 0]
        )),
        -E2BIG
    );
    put_str(&mut k, path, &"p".repeat(65));
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Execve, &[path, 0, 0])),
        -ENAMETOOLONG
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Execve, &[0x1000, 0, 0])),
        -EFAULT
    );
    assert!(k.execs.is_empty());
    // fork is not there.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fork, &[])), -ENOSYS);
}

#[test]
fn kill_of_a_child_ends_it_and_wait_reports_the_signal() {
    let (mut st, mut k) = setup(Arch::Aarch64);
    vfork(&mut st, &mut k, STACK + 0x800);
    let path = STACK + 0x200;
    put_str(&mut k, path, "prog");
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::VforkEnd(101)
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 17])), -EPERM);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 15])), 0);
    assert_eq!(k.kills, vec![(101, 128 + 15)]);
    st.child_ended(101, 128 + 15);
    let status = STACK + 0x700;
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Wait4, &[0, status, 0, 0])),
        101
    );
    assert_eq!(u32_at(&mut k, status), 15, "WIFSIGNALED, WTERMSIG 15");
    // Exit statuses: a code the program chose, and the kernel's end of a faulting one.
    assert_eq!(wait_status(0), 0);
    assert_eq!(wait_status(300), 44 << 8);
    assert_eq!(wait_status(-1), 9);
}

#[test]
fn dup_of_a_pipe_end_keeps_the_pipe_open_until_every_copy_is_closed() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let fds = STACK;
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])), 0);
    let (r, w) = (u32_at(&mut k, fds) as u64, u32_at(&mut k, fds + 4) as u64);
    assert_eq!((r, w), (3, 4));
    // dup: the lowest free descriptor, without close-on-exec.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[w])), 5);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[5, 1])), 0);
    // F_DUPFD_CLOEXEC at 10 or above; F_DUPFD at 3 or above finds 6.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[w, 1030, 10])), 10);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[10, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[w, 0, 3])), 6);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[6])), 0);
    // Writing through a copy reaches the same pipe.
    put_str(&mut k, STACK + 32, "ab");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[5, STACK + 32, 2])),
        2
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        2
    );
    // The original write end closed: copies remain, so the reader still waits.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[w])), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16]),
        Outcome::WaitEvent
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[5])), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16]),
        Outcome::WaitEvent
    );
    // dup2 onto the last write copy closes it: end of file.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[r, 10])), 10);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        0
    );
    // The read end duplicated, both copies closed one by one: the writer gets EPIPE only
    // after the last.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])), 0);
    let (r, w) = (u32_at(&mut k, fds) as u64, u32_at(&mut k, fds + 4) as u64);
    let r2 = ret(call(&mut st, &mut k, Sys::Dup3, &[r, 20, O_CLOEXEC])) as u64;
    assert_eq!(r2, 20);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[r2, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[r])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[w, STACK + 32, 2])),
        2
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[r2])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[w, STACK + 32, 2])),
        -EPIPE
    );
}

#[test]
fn dup_errors_and_console_copies() {
    let (mut st, mut k) = setup(Arch::X86_64);
    // Bad descriptors, equal dup3 descriptors, flags, limits.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[9])), -EBADF);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[9, 12])), -EBADF);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[9, 9])), -EBADF);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[1, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup3, &[1, 1, 0])), -EINVAL);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup3, &[1, 5, 1])), -EINVAL);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[1, 64])), -EBADF);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[1, 0, 64])), -EINVAL);
    // A copy of stdout writes to the console; a copy of stdin reads end of file.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[1])), 3);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[3, STACK, 4])), 4);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[3, STACK, 4])),
        -EBADF
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[0])), 4);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Read, &[4, STACK, 4])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[4, STACK, 4])),
        -EBADF
    );
    // dup takes the lowest free descriptor, a closed standard one too.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[1])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[1, STACK, 4])),
        -EBADF
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[3])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[1, STACK, 4])), 4);
    // All 64 descriptors in use: EMFILE.
    for fd in 5..64 {
        assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[1])), fd);
    }
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[1])), -EMFILE);
    // A pipe cannot become a standard descriptor yet.
    for fd in 3..10 {
        assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[fd])), 0);
    }
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[3, 0])), -ENOSYS);
    // AArch64 has dup and dup3 only.
    assert!(number(Arch::Aarch64, Sys::Dup2).is_none());
    assert_eq!(number(Arch::Aarch64, Sys::Dup3), Some(24));
}
