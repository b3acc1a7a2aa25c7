//! The initial stack, parsed back word by word.

use linux::elf::{LoadPlan, Region, Rights};
use linux::stack::{self, Start, *};
use linux::Arch;

fn plan(arch: Arch) -> LoadPlan {
    LoadPlan {
        arch,
        bias: 0,
        regions: vec![Region {
            start: 0x400000,
            end: 0x401000,
            rights: Rights {
                read: true,
                write: false,
                exec: true,
            },
        }],
        copies: vec![],
        entry: 0x400123,
        phdr: 0x400040,
        phnum: 7,
        phent: 56,
        brk: 0x401000,
        exec_stack: false,
        tls: None,
    }
}

const TOP: u64 = 0x5000_0000;

struct Mem<'a> {
    sp: u64,
    bytes: &'a [u8],
}

impl Mem<'_> {
    fn word(&self, addr: u64) -> u64 {
        let i = (addr - self.sp) as usize;
        u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap())
    }
    fn cstr(&self, addr: u64) -> Vec<u8> {
        let i = (addr - self.sp) as usize;
        let end = self.bytes[i..]
            .iter()
            .position(|&b| b == 0)
            .expect("unterminated string");
        self.bytes[i..i + end].to_vec()
    }
    fn slice(&self, addr: u64, len: usize) -> &[u8] {
        let i = (addr - self.sp) as usize;
        &self.bytes[i..i + len]
    }
}

#[test]
fn layout_parses_back_exactly() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let argv: Vec<&[u8]> = vec![b"/bin/hello", b"one", b"", b"three words"];
        let envp: Vec<&[u8]> = vec![b"HOME=/", b"TERM=dumb"];
        let random = *b"0123456789abcdef";
        let s = stack::build(
            TOP,
            &plan(arch),
            &Start {
                argv: &argv,
                envp: &envp,
                execfn: b"/bin/hello",
                random,
                hwcap: 0,
            },
        )
        .unwrap();
        assert_eq!(s.sp % 16, 0, "sp must be 16-byte aligned");
        assert_eq!(s.sp + s.bytes.len() as u64, TOP);
        assert_eq!(
            &s.bytes[s.bytes.len() - 8..],
            &[0; 8],
            "8 zero bytes at the top"
        );
        let m = Mem {
            sp: s.sp,
            bytes: &s.bytes,
        };
        let mut at = s.sp;
        assert_eq!(m.word(at), 4, "argc");
        at += 8;
        for a in &argv {
            assert_eq!(m.cstr(m.word(at)), *a);
            at += 8;
        }
        assert_eq!(m.word(at), 0);
        at += 8;
        for e in &envp {
            assert_eq!(m.cstr(m.word(at)), *e);
            at += 8;
        }
        assert_eq!(m.word(at), 0);
        at += 8;
        let mut aux = std::collections::BTreeMap::new();
        let mut order = vec![];
        loop {
            let (k, v) = (m.word(at), m.word(at + 8));
            at += 16;
            if k == AT_NULL {
                assert_eq!(v, 0);
                break;
            }
            assert!(aux.insert(k, v).is_none(), "auxv key {k} twice");
            order.push(k);
        }
        assert_eq!(aux[&AT_PHDR], 0x400040);
        assert_eq!(aux[&AT_PHENT], 56);
        assert_eq!(aux[&AT_PHNUM], 7);
        assert_eq!(aux[&AT_PAGESZ], 4096);
        assert_eq!(aux[&AT_BASE], 0);
        assert_eq!(aux[&AT_FLAGS], 0);
        assert_eq!(aux[&AT_ENTRY], 0x400123);
        for k in [AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_HWCAP] {
            assert_eq!(aux[&k], 0, "auxv {k}");
        }
        assert_eq!(aux[&AT_CLKTCK], 100);
        assert_eq!(m.slice(aux[&AT_RANDOM], 16), &random);
        assert_eq!(m.cstr(aux[&AT_PLATFORM]), arch.machine().as_bytes());
        assert_eq!(m.cstr(aux[&AT_EXECFN]), b"/bin/hello");
        assert_eq!(order.len(), 17);
        // Every pointer lies inside the stack content, below the terminator.
        for v in [aux[&AT_RANDOM], aux[&AT_PLATFORM], aux[&AT_EXECFN]] {
            assert!(v >= at && v < TOP - 8);
        }
    }
}

#[test]
fn alignment_holds_for_every_argument_count() {
    for n in 0..9 {
        let argv: Vec<&[u8]> = (0..n).map(|_| &b"ab"[..]).collect();
        let s = stack::build(
            TOP,
            &plan(Arch::X86_64),
            &Start {
                argv: &argv,
                envp: &[],
                execfn: b"x",
                random: [0; 16],
                hwcap: 0,
            },
        )
        .unwrap();
        assert_eq!(s.sp % 16, 0);
        assert_eq!(
            u64::from_le_bytes(s.bytes[..8].try_into().unwrap()),
            n as u64
        );
    }
}

#[test]
fn oversized_or_nul_arguments_are_refused() {
    let big = vec![b'a'; MAX_SIZE];
    let argv: Vec<&[u8]> = vec![&big];
    let start = Start {
        argv: &argv,
        envp: &[],
        execfn: b"x",
        random: [0; 16],
        hwcap: 0,
    };
    assert_eq!(
        stack::build(TOP, &plan(Arch::X86_64), &start),
        Err(stack::Error::TooBig)
    );
    let argv: Vec<&[u8]> = vec![b"a\0b"];
    let start = Start {
        argv: &argv,
        envp: &[],
        execfn: b"x",
        random: [0; 16],
        hwcap: 0,
    };
    assert_eq!(
        stack::build(TOP, &plan(Arch::X86_64), &start),
        Err(stack::Error::Nul)
    );
}
