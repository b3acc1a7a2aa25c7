//! Processes in the personality against a fake kernel: pipes (the fake's stand-in for the
//! kernel's pipe objects), the `vfork` child and its tables, `execve` into a new process with
//! the descriptors it inherits, `wait4`/`waitid` statuses, `kill` of a child.

use std::collections::{BTreeMap, VecDeque};

use linux::elf::Rights;
use linux::errno::*;
use linux::mm::{Kind, Memory, Space};
use linux::nr::{number, Sys};
use linux::sys::proc::{romfs_path, wait_status, GIVE_NONBLOCK, GIVE_WRITE, MAX_FDS};
use linux::sys::{block, Blocking, Call, Kernel, Outcome, State};
use linux::{Arch, PERSONALITY_BASE};

const STACK_TOP: u64 = 0x3000_0000;
const STACK: u64 = STACK_TOP - 0x10000;
const SP: u64 = STACK_TOP - 0x1000;

/// What the fake's pipes hold (the kernel's: 64 KiB).
const PIPE_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct Fake {
    mem: BTreeMap<u64, u8>,
    execs: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// What each exec was given (`task.Give`): (label, handle).
    given: Vec<Vec<(u32, u32)>>,
    /// Pipe handles: the pipe and whether it is the write end.
    handles: BTreeMap<u32, (usize, bool)>,
    pipes: Vec<VecDeque<u8>>,
    next_handle: u32,
    closed: Vec<u32>,
    exec_error: Option<i64>,
    kills: Vec<(i32, i32)>,
    /// `task.Signal` requests: (pid, signal).
    signals: Vec<(i32, u64)>,
    released: Vec<i32>,
    notified: usize,
    forks: usize,
    fork_error: Option<i64>,
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
    // No console input is ever typed here: reads find nothing and waits time out.
    fn console_read(&mut self, _: &mut [u8]) -> Result<usize, i64> {
        Err(EAGAIN)
    }
    fn console_ready(&mut self) -> Result<bool, i64> {
        Ok(false)
    }
    fn console_wait(&mut self, _: Option<u64>) -> Result<bool, i64> {
        Ok(false)
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
    fn exec(
        &mut self,
        path: &[u8],
        args: &[u8],
        env: &[u8],
        give: &[(u32, u32)],
    ) -> Result<i32, i64> {
        if let Some(e) = self.exec_error {
            return Err(e);
        }
        for (_, h) in give {
            assert!(self.handles.contains_key(h), "gave a closed handle {h}");
        }
        self.given.push(give.to_vec());
        self.execs
            .push((path.to_vec(), args.to_vec(), env.to_vec()));
        Ok(100 + self.execs.len() as i32)
    }
    fn fork(&mut self, _files: &[(u32, u32)]) -> Result<i32, i64> {
        if let Some(e) = self.fork_error {
            return Err(e);
        }
        self.forks += 1;
        Ok(200 + self.forks as i32)
    }
    fn signal_process(&mut self, pid: i32, sig: u64) -> Result<(), i64> {
        // The parent is pid 1; children are 101 and up.
        if pid != 1 && pid < 101 {
            return Err(ESRCH);
        }
        if sig != 0 {
            self.signals.push((pid, sig));
        }
        Ok(())
    }
    fn parent_pid(&mut self) -> i32 {
        1
    }
    fn sleep_interruptible(&mut self, _: u64) -> Result<(), i64> {
        Err(EINTR)
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
    fn pipe_create(&mut self) -> Result<(u32, u32), i64> {
        if self.pipes.len() >= 100 {
            return Err(ENFILE);
        }
        self.pipes.push(VecDeque::new());
        let p = self.pipes.len() - 1;
        let (r, w) = (self.next_handle + 0x10001, self.next_handle + 0x10002);
        self.next_handle += 2;
        self.handles.insert(r, (p, false));
        self.handles.insert(w, (p, true));
        Ok((r, w))
    }
    fn pipe_read(&mut self, h: u32, buf: &mut [u8], _nonblock: bool) -> Result<usize, i64> {
        let &(p, write) = self.handles.get(&h).ok_or(EBADF)?;
        assert!(!write && buf.len() <= 4096);
        if self.pipes[p].is_empty() {
            // The fake cannot wait: a blocking read of an empty pipe with a writer is
            // checked by its `Blocking` outcome instead.
            return match self.ends(p).1 {
                true => Err(EAGAIN),
                false => Ok(0),
            };
        }
        let n = buf.len().min(self.pipes[p].len());
        for b in buf.iter_mut().take(n) {
            *b = self.pipes[p].pop_front().unwrap();
        }
        Ok(n)
    }
    fn pipe_write(&mut self, h: u32, data: &[u8], _nonblock: bool) -> Result<usize, i64> {
        let &(p, write) = self.handles.get(&h).ok_or(EBADF)?;
        assert!(write && data.len() <= 4096);
        if !self.ends(p).0 {
            return Err(EPIPE);
        }
        if PIPE_CAPACITY - self.pipes[p].len() < data.len() {
            return Err(EAGAIN);
        }
        self.pipes[p].extend(data);
        Ok(data.len())
    }
    fn pipe_poll(&mut self, hs: &[u32], _: Option<u64>, ready: &mut [u8]) -> Result<(), i64> {
        for (h, out) in hs.iter().zip(ready.iter_mut()) {
            *out = match self.handles.get(h) {
                None => 8,
                Some(&(p, false)) => {
                    u8::from(!self.pipes[p].is_empty()) | if self.ends(p).1 { 0 } else { 4 }
                }
                Some(&(p, true)) => {
                    (if PIPE_CAPACITY - self.pipes[p].len() >= 4096 {
                        2
                    } else {
                        0
                    }) | if self.ends(p).0 { 0 } else { 4 }
                }
            };
        }
        Ok(())
    }
    fn close_handle(&mut self, h: u32) {
        assert!(self.handles.remove(&h).is_some(), "closed handle {h} twice");
        self.closed.push(h);
    }
    fn vfs(
        &mut self,
        _: linux::sys::file::VfsRequest<'_>,
    ) -> Result<linux::sys::file::VfsReply, i64> {
        // No channel to a VFS server.
        Err(ENOENT)
    }
}

impl Fake {
    /// Whether pipe `p` has a read end and a write end open.
    fn ends(&self, p: usize) -> (bool, bool) {
        let mut ends = (false, false);
        for &(q, write) in self.handles.values() {
            if q == p {
                match write {
                    true => ends.1 = true,
                    false => ends.0 = true,
                }
            }
        }
        ends
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

/// A call, with the pipe work the shell does outside the lock done (the fake never waits).
fn call(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
    match call_raw(st, k, sys, args) {
        Outcome::Block(b @ (Blocking::PipeRead { .. } | Blocking::PipeWrite { .. })) => {
            Outcome::Return(block(k, b))
        }
        Outcome::Block(b @ Blocking::Poll { .. }) => Outcome::Return(block(k, b)),
        other => other,
    }
}

/// A call's outcome as the shell gets it.
fn call_raw(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
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
    // An empty pipe with a writer: the reader waits in the kernel, without the lock (and a
    // non-blocking one is told so).
    assert!(matches!(
        call_raw(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16]),
        Outcome::Block(Blocking::PipeRead {
            nonblock: false,
            len: 16,
            ..
        })
    ));
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
    // Writes go to the kernel in pieces of at most PIPE_BUF (4096) bytes; a full pipe ends
    // a non-blocking write short (EAGAIN when nothing fit).
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, O_NONBLOCK])),
        0
    );
    let w3 = u32_at(&mut k, fds + 4) as u64;
    let mut total = 0;
    loop {
        let n = ret(call(&mut st, &mut k, Sys::Write, &[w3, STACK, 0x6000]));
        if n < 0 {
            assert_eq!(n, -EAGAIN);
            break;
        }
        total += n;
    }
    assert_eq!(total as usize, PIPE_CAPACITY);
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
    assert!(made <= MAX_FDS);
    // The kernel's refusal (out of memory for another pipe) is ENFILE, and nothing leaks.
    let open = k.handles.len();
    for fd in 3..MAX_FDS as u64 {
        let _ = call(&mut st, &mut k, Sys::Close, &[fd]);
    }
    assert!(k.handles.len() < open);
    assert!(
        k.handles.is_empty(),
        "every descriptor closed: every handle closed"
    );
    k.pipes.resize(100, VecDeque::new());
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[fds, 0])), -ENFILE);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[3])), -EBADF);
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
                b"\0/\0bin/prog\0prog\0a b\0c\0".to_vec(),
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
    // The replaced program's memory is given back: nothing of it is mapped.
    assert!(st.space.mappings().is_empty());
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
fn an_exec_hands_on_its_pipe_descriptors_and_too_many_arguments_are_refused() {
    let (mut st, mut k) = setup(Arch::X86_64);
    // posix_spawn's file actions in the vfork child: dup2(w, 1), close both ends, exec.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, 0])), 0);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Pipe2,
            &[STACK + 8, O_CLOEXEC | O_NONBLOCK]
        )),
        0
    );
    let r = k.handles.keys().copied().min().unwrap();
    vfork(&mut st, &mut k, 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[4, 1])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[3, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[3])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[4])), 0);
    assert!(k.closed.is_empty(), "the parent still holds them");
    let path = STACK + 0x200;
    put_str(&mut k, path, "prog");
    let Outcome::VforkEnd(_) = call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]) else {
        panic!("the exec must end the vfork child");
    };
    // The child got the read end as 0 and the write end as 1; not the close-on-exec pipe
    // (5 and 6), nor the console's 2.
    let given = k.given.last().unwrap().clone();
    assert_eq!(given.len(), 2);
    assert_eq!(given[0], (0, r));
    assert_eq!(given[1].0, 1 | GIVE_WRITE);
    // The parent's table is back: its pipe is 3 and 4 again, the console 0-2.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[4, STACK + 0x200, 2])),
        2
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[3, STACK + 0x300, 8])),
        2
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[1, STACK, 4])), 4);
    // A new program takes what it was given: labels back to descriptors.
    let (mut child, mut ck) = setup(Arch::X86_64);
    let (cr, cw) = ck.pipe_create().unwrap();
    child.inherit(&[(0, cr), (1 | GIVE_WRITE | GIVE_NONBLOCK, cw)]);
    put_str(&mut ck, STACK + 32, "up");
    assert_eq!(
        ret(call(&mut child, &mut ck, Sys::Write, &[1, STACK + 32, 2])),
        2
    );
    assert_eq!(
        ret(call(&mut child, &mut ck, Sys::Fcntl, &[1, 3])),
        1 | 0o4000
    );
    assert_eq!(
        ret(call(&mut child, &mut ck, Sys::Read, &[0, STACK + 64, 8])),
        2
    );
    assert_eq!(
        ret(call(&mut child, &mut ck, Sys::Write, &[2, STACK, 4])),
        4
    );
    // An execve that replaces the process hands on its descriptors and closes its own.
    let (mut st, mut k) = setup(Arch::X86_64);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, 0])), 0);
    put_str(&mut k, path, "prog");
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::Replaced
    );
    assert_eq!(k.given[0].len(), 2);
    assert!(k.handles.is_empty());
    let (mut st, mut k) = setup(Arch::X86_64);
    vfork(&mut st, &mut k, 0);
    put_str(&mut k, path, "prog");
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
    // A vfork child cannot fork (its memory and tables are the parent's).
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fork, &[])), -EAGAIN);
    assert_eq!(k.forks, 0);
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
    // SIGSTOP cannot stop it; other signals go to its personality (task.Signal), SIGKILL
    // ends it (task.Kill).
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 19])), -EPERM);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 17])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[101, 15])), 0);
    assert_eq!(k.signals, vec![(101, 17), (101, 15)]);
    assert!(k.kills.is_empty());
    // It ended with 128 + 15 after this process sent it SIGTERM: killed by SIGTERM.
    st.child_ended(101, 128 + 15);
    let status = STACK + 0x700;
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Wait4, &[0, status, 0, 0])),
        101
    );
    assert_eq!(u32_at(&mut k, status), 15, "WIFSIGNALED, WTERMSIG 15");
    // A child that exits with 128 + a signal nobody sent it exited; SIGKILL is task.Kill.
    vfork(&mut st, &mut k, STACK + 0x800);
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::VforkEnd(102)
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[102, 9])), 0);
    assert_eq!(k.kills, vec![(102, 128 + 9)]);
    st.child_ended(102, 128 + 9);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Wait4, &[102, status, 0, 0])),
        102
    );
    assert_eq!(u32_at(&mut k, status), 9, "WIFSIGNALED, WTERMSIG 9");
    vfork(&mut st, &mut k, STACK + 0x800);
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[path, 0, 0]),
        Outcome::VforkEnd(103)
    );
    st.child_ended(103, 128 + 15);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Wait4, &[103, status, 0, 0])),
        103
    );
    assert_eq!(u32_at(&mut k, status), (128 + 15) << 8, "exited with 143");
    // The parent, and pids that are neither: ESRCH.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Getppid, &[])), 1);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[1, 10])), 0);
    assert_eq!(k.signals.last(), Some(&(1, 10)));
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[50, 10])), -ESRCH);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[1, 65])), -EINVAL);
    // tkill/tgkill of another process's main thread (tid = pid): the same as kill.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Tgkill, &[1, 1, 12])), 0);
    assert_eq!(k.signals.last(), Some(&(1, 12)));
    assert_eq!(ret(call(&mut st, &mut k, Sys::Tgkill, &[1, 5, 12])), -ESRCH);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Tkill, &[1, 14])), 0);
    assert_eq!(k.signals.last(), Some(&(1, 14)));
    assert_eq!(ret(call(&mut st, &mut k, Sys::Tkill, &[50, 14])), -ESRCH);
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
    // The original write end closed: copies remain (one kernel handle for all), so the
    // reader still waits.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[w])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        -EAGAIN
    );
    assert!(k.closed.is_empty());
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[5])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[r, STACK + 64, 16])),
        -EAGAIN
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
    // A copy of stdout writes to the console; a copy of stdin reads console input (none
    // typed: it waits for some).
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[1])), 3);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Write, &[3, STACK, 4])), 4);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[3, STACK, 4])),
        -EBADF
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup, &[0])), 4);
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[4, STACK, 4]),
        Outcome::WaitInput { timeout_ns: None }
    );
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
    // A pipe becomes a standard descriptor (shell redirection), and the console comes back.
    for fd in 3..10 {
        assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[fd])), 0);
    }
    assert_eq!(ret(call(&mut st, &mut k, Sys::Pipe2, &[STACK, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[3, 0])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[4, 2])), 2);
    put_str(&mut k, STACK + 32, "err");
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[2, STACK + 32, 3])),
        3
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, STACK + 64, 8])),
        3
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[0, STACK, 1])),
        -EBADF
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Lseek, &[0, 0, 0])), -ESPIPE);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Ioctl, &[2, 0x5401, STACK])),
        -ENOTTY
    );
    // FIONBIO (Rust's set_nonblocking) sets O_NONBLOCK.
    k.write_user(STACK + 0x180, &1u32.to_le_bytes());
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Ioctl,
            &[0, 0x5421, STACK + 0x180]
        )),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fcntl, &[0, 3])), 0o4000);
    // poll sees the pipe: readable after a write, its read end hung up when the writers go.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Write, &[4, STACK + 32, 1])),
        1
    );
    let pfd = STACK + 0x100;
    k.write_user(pfd, &[0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[pfd, 1, 0])), 1);
    assert_eq!(
        u16::from_le_bytes([k.mem[&(pfd + 6)], k.mem[&(pfd + 7)]]),
        1
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Dup2, &[1, 2])), 2);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[4])), 0);
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, STACK + 64, 8])),
        1
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Poll, &[pfd, 1, 0])), 1);
    assert_eq!(
        u16::from_le_bytes([k.mem[&(pfd + 6)], k.mem[&(pfd + 7)]]),
        0x10
    );
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Read, &[0, STACK + 64, 8])),
        0
    );
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[3])), 0);
    assert_eq!(ret(call(&mut st, &mut k, Sys::Close, &[0])), 0);
    assert!(k.handles.is_empty());
    // AArch64 has dup and dup3 only.
    assert!(number(Arch::Aarch64, Sys::Dup2).is_none());
    assert_eq!(number(Arch::Aarch64, Sys::Dup3), Some(24));
}

const SIGCHLD: u64 = 17;

#[test]
fn fork_makes_a_child_whose_status_wait_reports() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch);
        let pid = match arch {
            // x86_64 has `fork`; musl's fork on AArch64 is clone(SIGCHLD, 0).
            Arch::X86_64 => ret(call(&mut st, &mut k, Sys::Fork, &[])),
            Arch::Aarch64 => ret(call(&mut st, &mut k, Sys::Clone, &[SIGCHLD, 0])),
        };
        assert_eq!(pid, 201);
        assert_eq!(k.forks, 1);
        // Running: WNOHANG finds nothing, a blocking wait waits.
        assert_eq!(ret(call(&mut st, &mut k, Sys::Wait4, &[201, 0, 1, 0])), 0);
        assert_eq!(
            call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, 0, 0, 0]),
            Outcome::WaitEvent
        );
        st.child_ended(201, 7);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, STACK, 0, 0])),
            201
        );
        assert_eq!(u32_at(&mut k, STACK), 7 << 8);
        assert_eq!(k.released, vec![201]);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, 0, 0, 0])),
            -ECHILD
        );
    }
}

#[test]
fn fork_with_parent_settid_writes_the_pid_and_other_flags_are_refused() {
    const CLONE_PARENT_SETTID: u64 = 0x10_0000;
    const CLONE_CHILD_SETTID: u64 = 0x100_0000;
    const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
    let (mut st, mut k) = setup(Arch::X86_64);
    let flags = SIGCHLD | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Clone,
            &[flags, 0, STACK + 8, STACK + 16, 0]
        )),
        201
    );
    assert_eq!(u32_at(&mut k, STACK + 8), 201);
    // A parent_tid that is not writable: EFAULT, and no copy is made.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Clone, &[flags, 0, 0x20, 0, 0])),
        -EFAULT
    );
    assert_eq!(k.forks, 1);
    // CLONE_FILES (0x400) without CLONE_VM is no fork: not supported.
    assert_eq!(
        ret(call(&mut st, &mut k, Sys::Clone, &[SIGCHLD | 0x400, 0])),
        -ENOSYS
    );
    assert_eq!(k.forks, 1);
}

#[test]
fn a_refused_fork_is_an_error_and_leaves_no_child() {
    let (mut st, mut k) = setup(Arch::X86_64);
    for e in [EAGAIN, ENOMEM] {
        k.fork_error = Some(e);
        assert_eq!(ret(call(&mut st, &mut k, Sys::Fork, &[])), -e);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Wait4, &[u64::MAX, 0, 1, 0])),
            -ECHILD
        );
    }
    // At most MAX_CHILDREN children: then EAGAIN without asking the kernel.
    k.fork_error = None;
    for _ in 0..64 {
        assert!(ret(call(&mut st, &mut k, Sys::Fork, &[])) > 0);
    }
    assert_eq!(ret(call(&mut st, &mut k, Sys::Fork, &[])), -EAGAIN);
    assert_eq!(k.forks, 64);
}

#[test]
fn kill_of_a_forked_child_ends_it() {
    let (mut st, mut k) = setup(Arch::X86_64);
    let pid = ret(call(&mut st, &mut k, Sys::Fork, &[]));
    // SIGTERM goes to the child's personality (task.Signal), whose default action ends it
    // with 128 + 15; the parent sent it, so wait reports the signal.
    assert_eq!(ret(call(&mut st, &mut k, Sys::Kill, &[pid as u64, 15])), 0);
    assert_eq!(k.signals, vec![(pid as i32, 15)]);
    st.child_ended(pid as i32, 128 + 15);
    assert_eq!(
        ret(call(
            &mut st,
            &mut k,
            Sys::Wait4,
            &[pid as u64, STACK, 0, 0]
        )),
        pid
    );
    assert_eq!(u32_at(&mut k, STACK), 15);
}

#[test]
fn execve_of_proc_self_exe_or_a_rom_path_runs_that_file_with_the_whole_argv() {
    for (path, file) in [
        ("/proc/self/exe", "bin/test"),
        ("/rom/busybox", "busybox"),
        ("busybox", "busybox"),
    ] {
        let (mut st, mut k) = setup(Arch::Aarch64);
        put_str(&mut k, STACK + 0x200, path);
        // A multi-call program chooses by argv[0]: it reaches the new program.
        put_array(&mut k, STACK + 0x300, STACK + 0x400, &["wc", "-l"]);
        assert_eq!(
            call(
                &mut st,
                &mut k,
                Sys::Execve,
                &[STACK + 0x200, STACK + 0x300, 0]
            ),
            Outcome::Replaced
        );
        let mut args = b"\0/\0".to_vec();
        args.extend_from_slice(file.as_bytes());
        args.extend_from_slice(b"\0wc\0-l\0");
        assert_eq!(k.execs, vec![(file.as_bytes().to_vec(), args, Vec::new())]);
    }
    // .. out of /rom, or /rom itself: no such file.
    for path in ["/rom/../x", "/rom/"] {
        let (mut st, mut k) = setup(Arch::Aarch64);
        put_str(&mut k, STACK + 0x200, path);
        assert_eq!(
            ret(call(&mut st, &mut k, Sys::Execve, &[STACK + 0x200, 0, 0])),
            -ENOENT
        );
        assert!(k.execs.is_empty());
    }
}

#[test]
fn a_new_program_gets_its_working_directory_path_and_whole_argv() {
    use linux::sys::proc::{exec_args, ExecArgs};
    let from_exec: [&[u8]; 5] = [b"", b"/data/x", b"busybox", b"wc", b"-l"];
    assert_eq!(
        exec_args(&from_exec),
        Some(ExecArgs {
            cwd: b"/data/x",
            path: b"busybox",
            argv: vec![b"wc", b"-l"]
        })
    );
    let from_einit: [&[u8]; 2] = [b"hello", b"a"];
    assert_eq!(
        exec_args(&from_einit),
        Some(ExecArgs {
            cwd: b"/",
            path: b"hello",
            argv: vec![b"hello", b"a"]
        })
    );
    let no_path: [&[u8]; 2] = [b"", b"/"];
    assert_eq!(exec_args(&no_path), None);
    assert_eq!(exec_args(&[]), None);
    // Only a canonical absolute working directory is taken.
    let (mut st, mut k) = setup(Arch::X86_64);
    for bad in [&b"data"[..], b"/data/../x", b"/data/", b"//x", b"/a/./b"] {
        st.inherit_cwd(bad);
        put_str(&mut k, STACK + 0x200, "/proc/self/exe");
        assert_eq!(
            call(&mut st, &mut k, Sys::Execve, &[STACK + 0x200, 0, 0]),
            Outcome::Replaced
        );
        assert_eq!(k.execs[0].1, b"\0/\0bin/test\0".to_vec());
        (st, k) = setup(Arch::X86_64);
    }
    // The working directory follows the program through execve.
    st.inherit_cwd(b"/data/x");
    put_str(&mut k, STACK + 0x200, "/proc/self/exe");
    assert_eq!(
        call(&mut st, &mut k, Sys::Execve, &[STACK + 0x200, 0, 0]),
        Outcome::Replaced
    );
    assert_eq!(k.execs[0].1, b"\0/data/x\0bin/test\0".to_vec());
}
