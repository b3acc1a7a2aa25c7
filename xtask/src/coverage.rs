//! `cargo xtask linux-coverage`: the share of the Linux system calls that musl and Rust
//! `std` use which the personality implements (issue 13).
//!
//! The calls used are found in machine code, on x86_64:
//!
//! - **musl**: every call its C library can make: the disassembly (`objdump -dr`) of
//!   Debian's `/usr/lib/x86_64-linux-musl/libc.a` (package `musl-tools`);
//! - **Rust `std`**: every call linked into the static Rust `std` test programs that make
//!   no raw calls of their own (`tests/linux/hello-std` and the conformance suite's
//!   `rs-std`, built for `x86_64-unknown-linux-musl`): the musl functions `std` pulls in
//!   and `std`'s own `syscall(SYS_..)` calls.
//!
//! A call site is a `syscall` instruction with the number loaded into `eax` just before it
//! (`mov $N,%eax`, or `xor %eax,%eax` for 0), or a call of musl's `syscall` or
//! `__syscall_cp` with the number loaded into `edi`. Names come from the kernel headers
//! (`asm/unistd_64.h`, package `linux-libc-dev`). A call is implemented when the
//! personality's table (`linux::nr`) has it and it is not in `nr::NOT_IMPLEMENTED`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;

/// The system-call numbers issued in `objdump -dr` output.
pub fn numbers_in_disassembly(text: &str) -> BTreeSet<u64> {
    let mut found = BTreeSet::new();
    let mut recent: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.ends_with(">:") {
            recent.clear(); // a new function
            continue;
        }
        let relocation = line.contains("R_X86_64_PLT32");
        let insn = match line.split_once(":\t") {
            Some((_, insn)) => insn.trim(),
            None if relocation => "",
            None => continue,
        };
        let by_register = |reg: &[&str], recent: &[&str]| -> Option<u64> {
            for prev in recent.iter().rev().take(12) {
                if prev.starts_with("xor") && reg.iter().any(|r| *prev == format!("xor    {r},{r}"))
                {
                    return Some(0);
                }
                let Some(rest) = prev.strip_prefix("mov") else {
                    continue;
                };
                let rest = rest.trim_start_matches(['l', 'q']).trim();
                let Some((value, dest)) = rest.split_once(',') else {
                    continue;
                };
                if !reg.contains(&dest) {
                    continue;
                }
                return value
                    .strip_prefix("$0x")
                    .and_then(|v| u64::from_str_radix(v, 16).ok());
            }
            None
        };
        let wrapper = |s: &str| {
            ["<syscall>", "<__syscall_cp>", "<__syscall_cp_c>"]
                .iter()
                .any(|w| s.contains(w))
                || [
                    "\tsyscall-0x4",
                    "\t__syscall_cp-0x4",
                    "\t__syscall_cp_c-0x4",
                ]
                .iter()
                .any(|w| s.ends_with(w))
        };
        if insn == "syscall" {
            if let Some(n) = by_register(&["%eax", "%rax", "%al"], &recent) {
                found.insert(n);
            }
        } else if (insn.starts_with("call") || insn.starts_with("jmp")) && wrapper(insn)
            || relocation && wrapper(line)
        {
            if let Some(n) = by_register(&["%edi", "%rdi"], &recent) {
                found.insert(n);
            }
        }
        if !relocation {
            recent.push(insn);
        }
    }
    found.retain(|&n| n < 1024);
    found
}

fn disassemble(file: &Path) -> Result<String> {
    let out = Command::new("objdump")
        .args(["-dr", "--no-show-raw-insn"])
        .arg(file)
        .output()
        .context("cannot run objdump (Debian package binutils)")?;
    if !out.status.success() {
        bail!("objdump could not disassemble {}", file.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// x86_64 system-call names by number, from the kernel headers.
fn names() -> Result<BTreeMap<u64, String>> {
    let candidates = [
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
        "/usr/include/asm/unistd_64.h",
    ];
    let Some(text) = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        bail!("no asm/unistd_64.h (Debian package linux-libc-dev)");
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("#define __NR_")?;
            let (name, n) = rest.split_once(char::is_whitespace)?;
            Some((n.trim().parse().ok()?, name.to_string()))
        })
        .collect())
}

/// One line of the report: implemented of used, and the missing names.
fn report(what: &str, used: &BTreeSet<u64>, names: &BTreeMap<u64, String>) -> String {
    let implemented: BTreeSet<u64> = linux::nr::calls(linux::Arch::X86_64)
        .filter(|c| c.2)
        .map(|c| c.0)
        .collect();
    let have = used.intersection(&implemented).count();
    let name = |n: &u64| names.get(n).cloned().unwrap_or_else(|| format!("#{n}"));
    let missing: Vec<String> = used.difference(&implemented).map(name).collect();
    format!(
        "Linux calls implemented: {have} of {} used by {what} ({:.0}%)\n  missing: {}\n",
        used.len(),
        100.0 * have as f64 / used.len().max(1) as f64,
        missing.join(" ")
    )
}

/// Builds the Rust `std` programs for x86_64; their paths.
fn rust_programs() -> Result<Vec<std::path::PathBuf>> {
    let target = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    let _lock = cargo_ostrog::kernel::lock_target(&target)?;
    let root = cargo_ostrog::source_root().join("tests/linux");
    let sets: [(&str, &[&str]); 2] = [
        ("solution", &["hello-std"]),
        ("conformance/solution", &["rs-std"]),
    ];
    let mut paths = Vec::new();
    for (dir, bins) in sets {
        let bins: Vec<String> = bins.iter().map(|b| b.to_string()).collect();
        cargo_ostrog::linux::build_binaries(
            &root.join(dir).join("Cargo.toml"),
            &target,
            &bins,
            Arch::X86_64,
        )?;
        let out = target.join(Arch::X86_64.linux_target()).join("release");
        paths.extend(bins.iter().map(|b| out.join(b)));
    }
    Ok(paths)
}

/// The report: musl with Rust `std`, then each alone.
pub fn run() -> Result<bool> {
    let names = names()?;
    let libc = Path::new("/usr/lib/x86_64-linux-musl/libc.a");
    if !libc.is_file() {
        bail!("{} is missing (Debian package musl-tools)", libc.display());
    }
    let musl = numbers_in_disassembly(&disassemble(libc)?);
    let mut rust = BTreeSet::new();
    for program in rust_programs()? {
        rust.extend(numbers_in_disassembly(&disassemble(&program)?));
    }
    if musl.len() < 100 || rust.len() < 10 {
        bail!(
            "the scan found too few calls (musl {}, Rust std {}): the disassembly format \
             is not the one expected",
            musl.len(),
            rust.len()
        );
    }
    let both: BTreeSet<u64> = musl.union(&rust).copied().collect();
    print!("{}", report("musl and Rust std (x86_64)", &both, &names));
    print!(
        "{}",
        report(
            "the Rust std programs (x86_64, std with the musl it links)",
            &rust,
            &names
        )
    );
    let unseen: Vec<&str> = linux::nr::calls(linux::Arch::X86_64)
        .filter(|c| c.2 && !both.contains(&c.0))
        .map(|c| c.1)
        .collect();
    println!(
        "implemented but used by neither (Linux programs may still call them): {}",
        unseen.join(" ")
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_numbers_of_syscall_instructions_and_wrappers() {
        let text = "\
0000000000000000 <getpid>:
   0:\tmov    $0x27,%eax
   5:\tsyscall
   7:\tret
0000000000000010 <read>:
  10:\txor    %eax,%eax
  12:\tmov    %rdi,%rsi
  14:\tsyscall
0000000000000020 <close>:
  20:\tmov    $0x3,%edi
  25:\tcall   2a <close+0xa>
\t\t\t26: R_X86_64_PLT32\t__syscall_cp-0x4
0000000000000030 <futex>:
  30:\tmov    $0xca,%edi
  35:\tcall   401000 <syscall>
0000000000000040 <other>:
  40:\tmov    %rbx,%rax
  43:\tsyscall
";
        let found: Vec<u64> = numbers_in_disassembly(text).into_iter().collect();
        assert_eq!(found, vec![0, 3, 0x27, 0xca]);
    }
}
