//! The kernel's QEMU scenario tests: boot a real image, read the console, check how the
//! machine ended.
//!
//! Each scenario is a file `tests/kernel/scenarios/NAME.scenario`, named after the behaviour
//! it proves, in the format of the solutions' scenario files ([`ScenarioTest`]: `expect:`,
//! `reject:`, `status:`, `cmdline:`, `boot: iso`, `accel: tcg`, `arch:`, `check:`). What lines
//! in order cannot say is a named check of [`CHECKS`], which a file asks for with
//! `check: NAME`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Accel, Ending};
use cargo_ostrog::solution::{first_missing, ScenarioTest};

/// A check of the whole console: `Err` says what is wrong.
pub type ConsoleCheck = fn(&str) -> Result<(), String>;

/// The named checks a scenario file may ask for (`check: NAME`).
pub const CHECKS: &[(&str, ConsoleCheck)] = &[
    ("memory-baseline", memory_back_to_baseline),
    ("fault-in-guard-page", fault_in_guard_page),
    ("unclaimed-port-killed", unclaimed_port_killed),
    (
        "strays-reported-soft-int-killed",
        strays_reported_soft_int_killed,
    ),
    (
        "einit-first-then-forbidden-audited",
        einit_first_then_forbidden_audited,
    ),
    ("hostile-tally", hostile_tally),
    ("fpu-classes-match", fpu_classes_match),
    ("interleaved", interleaved),
    ("faults-reported", faults_reported),
    ("hello-and-many-calls", hello_and_many_calls),
    ("fast-and-full-agree", fast_and_full_agree),
];

/// The folder of the kernel's scenario files.
pub fn dir() -> PathBuf {
    cargo_ostrog::source_root().join("tests/kernel/scenarios")
}

/// Every kernel scenario, sorted by name; a file that does not parse is an error naming its
/// line.
pub fn load() -> Result<Vec<ScenarioTest>> {
    let names: Vec<&str> = CHECKS.iter().map(|(name, _)| *name).collect();
    let scenarios = cargo_ostrog::solution::scenario_files(&dir(), &names)?;
    if scenarios.is_empty() {
        anyhow::bail!("no scenario files in {}", dir().display());
    }
    Ok(scenarios)
}

/// Heap the kernel may keep after its programs are gone: bounded bookkeeping that grew while
/// they ran (the last exit statuses for `task.Wait`, scheduler queue capacity). A leak of
/// even one message copy per round of the soak is far more.
const HEAP_KEPT: u64 = 32 * 1024;

/// The kernel's memory line at power-off shows frames back where they were before any
/// program ran, and the heap within [`HEAP_KEPT`] of it: nothing a program made the kernel
/// hold outlives it.
fn memory_back_to_baseline(console: &str) -> Result<(), String> {
    let line = console
        .lines()
        .find(|l| l.starts_with("memory: heap "))
        .ok_or("no memory line")?;
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [heap, heap0, frames, frames0] if heap <= heap0 + HEAP_KEPT && frames == frames0 => Ok(()),
        _ => Err(format!("kernel memory not back to its baseline: {line}")),
    }
}

/// The kernel fault of the stack-overflow self test is at an address in the guard pages
/// below the stack it printed.
fn fault_in_guard_page(console: &str) -> Result<(), String> {
    let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok();
    let line = console
        .lines()
        .find_map(|l| l.strip_prefix("selftest: overflowing the kernel stack "))
        .ok_or("the self test did not say which stack")?;
    let (range, guard) = line.split_once(", guard from ").ok_or("no guard address")?;
    let bottom = range
        .split('-')
        .next()
        .and_then(hex)
        .ok_or("no stack bottom")?;
    let guard = hex(guard).ok_or("bad guard address")?;
    let fault = console
        .lines()
        .find_map(|l| l.trim().strip_prefix("faulting address: "))
        .and_then(hex)
        .ok_or("no faulting address")?;
    if !(guard..bottom).contains(&fault) {
        return Err(format!(
            "fault at {fault:#x}, outside the guard {guard:#x}-{bottom:#x}"
        ));
    }
    Ok(())
}

/// The program that read a port it never claimed was killed for it (#GP), with a report.
fn unclaimed_port_killed(console: &str) -> Result<(), String> {
    if !console.contains("ports-unclaimed: reading port 0x71 without a claim") {
        return Err("ports-unclaimed did not run".into());
    }
    let line = console
        .lines()
        .find(|l| l.contains("process ports-unclaimed (class ports-unclaimed, sid"))
        .ok_or("no report for ports-unclaimed")?;
    if !line.contains("killed: general protection fault") {
        return Err(format!(
            "ports-unclaimed was not killed for its port: {line}"
        ));
    }
    Ok(())
}

/// Every stray interrupt was reported as ignored (each vector once), and the program that
/// raised a vector by software was killed for it, alone.
fn strays_reported_soft_int_killed(console: &str) -> Result<(), String> {
    let expected: Vec<String> = if console.contains("(x86_64) booting") {
        (16..32)
            .chain([100, 200])
            .map(|v| format!("interrupt: vector {v} has no handler; ignored"))
            .chain(["interrupt: non-maskable interrupt ignored".to_string()])
            .collect()
    } else {
        (0..16)
            .map(|id| format!("interrupt: id {id} has no handler; ignored"))
            .collect()
    };
    for line in &expected {
        if !console.contains(line.as_str()) {
            return Err(format!("console lacks {line:?}"));
        }
    }
    // Vector 17 is sent twice; it is reported once.
    if console.matches("vector 17 has no handler").count() > 1 {
        return Err("vector 17 was reported more than once".into());
    }
    let line = console
        .lines()
        .find(|l| l.contains("process soft-int (class soft-int, sid"))
        .ok_or("no report for soft-int")?;
    let cause = if console.contains("(x86_64) booting") {
        "killed: general protection fault"
    } else {
        "killed: illegal instruction"
    };
    if !line.contains(cause) {
        return Err(format!("soft-int was not killed as expected: {line}"));
    }
    Ok(())
}

/// No program printed before Einit had started them all, and every denied Forbidden call
/// was seen and audited by the security hook.
fn einit_first_then_forbidden_audited(console: &str) -> Result<(), String> {
    let einit_done = console
        .find("[kernel] process Einit (class Einit) exited")
        .ok_or("Einit did not end")?;
    for program in ["echo-client:", "hostile:", "echo-server:"] {
        if console.find(program).is_some_and(|at| at < einit_done) {
            return Err(format!("{program} ran before Einit had started everything"));
        }
    }
    forbidden_audited(console)
}

/// Calls of `fastpath` that the fast path carries: in its `waiting` run the 20 small
/// granted echoes, the denied `Forbidden` and the undecodable body (its malformed messages,
/// the message with a handle and the large one take the full path); in its `busy` run the
/// call after the denied one (the server answers a denial from inside `Recv` and goes on
/// waiting there).
const FAST_CALLS: u64 = 23;

/// The `fastpath` program's two runs (the server waiting for each call, and busy) ended with
/// the same results, each denial audited in both, and the kernel's count shows the fast
/// path carried the calls it should (a timer tick may let the client call before the server
/// waits again, so a call or two may go the full way).
fn fast_and_full_agree(console: &str) -> Result<(), String> {
    let results = |run: &str| {
        let prefix = format!("fastpath-client ({run}): results ");
        console
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
            .ok_or(format!("no results of the {run} run"))
    };
    let (waiting, busy) = (results("waiting")?, results("busy")?);
    if waiting != busy {
        return Err(format!(
            "the server waiting gave results {waiting}, the server busy {busy}"
        ));
    }
    let audited = |needle: &str| console.lines().filter(|l| l.contains(needle)).count();
    let forbidden = audited("[audit] denied request ipctest.Client(");
    let refused = audited("(refused by the kernel before the policy)");
    if forbidden != 2 || refused != 12 {
        return Err(format!(
            "{forbidden} denied requests and {refused} refusals audited; expected 2 and 12 \
             (one and six per run)"
        ));
    }
    let line = console
        .lines()
        .find_map(|l| l.strip_prefix("ipc: fast path taken by "))
        .ok_or("no count of the fast path")?;
    let calls: u64 = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or(format!("no number of calls in {line:?}"))?;
    if !(FAST_CALLS - 2..=FAST_CALLS).contains(&calls) {
        return Err(format!(
            "the fast path carried {calls} calls; expected {FAST_CALLS} (at least {})",
            FAST_CALLS - 2
        ));
    }
    Ok(())
}

/// Every denied Forbidden call was seen and audited by the security hook.
fn forbidden_audited(console: &str) -> Result<(), String> {
    let audited = console
        .lines()
        .filter(|l| l.contains("[audit] denied request ipctest.") && l.contains("ipc.Forbidden"))
        .count();
    // One from the client, ten from the hostile program.
    if audited < 11 {
        return Err(format!(
            "{audited} denied Forbidden requests were audited; expected at least 11"
        ));
    }
    Ok(())
}

/// The hostile program tried many things, and none got through.
fn hostile_tally(console: &str) -> Result<(), String> {
    let line = console
        .lines()
        .find_map(|l| {
            l.strip_prefix("hostile: ")
                .filter(|l| l.contains("attempts"))
        })
        .ok_or("the hostile program printed no tally")?;
    let attempts: u32 = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or("no attempt count")?;
    if attempts < 1000 || !line.contains(" 0 got through") {
        return Err(format!("unexpected tally: {line}"));
    }
    Ok(())
}

/// The fpu program checked AVX exactly when the kernel turned AVX on (x86_64), so a CPU
/// model with AVX is really tested with it.
fn fpu_classes_match(console: &str) -> Result<(), String> {
    let kernel_avx = console.contains("fpu: XSAVE, x87 SSE AVX saved per thread");
    let program_avx = console.contains("fpu: checking x87 MMX SSE AVX");
    if kernel_avx == program_avx {
        Ok(())
    } else {
        Err(format!(
            "the kernel {} AVX but the program {} it",
            if kernel_avx {
                "enabled"
            } else {
                "did not enable"
            },
            if program_avx {
                "checked"
            } else {
                "did not check"
            }
        ))
    }
}

/// The spinners' lines must alternate several times: neither yields, so every switch
/// between them is a preemption by the timer.
fn interleaved(console: &str) -> Result<(), String> {
    let owners: Vec<char> = console
        .lines()
        .filter_map(|l| match l.split_whitespace().next() {
            Some("spin-a") => Some('a'),
            Some("spin-b") => Some('b'),
            _ => None,
        })
        .collect();
    let switches = owners.windows(2).filter(|w| w[0] != w[1]).count();
    if !console.contains("spin-a done") || !console.contains("spin-b done") {
        return Err("a spinner did not finish".into());
    }
    if switches < 3 {
        return Err(format!(
            "the spinners' output switched only {switches} times; preemption should interleave it"
        ));
    }
    Ok(())
}

/// Every faulting program is reported with what it did and where.
fn faults_reported(console: &str) -> Result<(), String> {
    for name in [
        "fault-kernel-read",
        "fault-code-write",
        "fault-jump",
        "fault-stack-overflow",
    ] {
        let line = console
            .lines()
            .find(|l| l.contains(&format!("process {name} (class")))
            .ok_or(format!("no report for {name}"))?;
        if !(line.contains("killed:") && line.contains("at address 0x") && line.contains("pc 0x")) {
            return Err(format!(
                "the report for {name} lacks the fault, address or pc: {line}"
            ));
        }
    }
    Ok(())
}

/// The fuzzer made hundreds of calls, and a well-behaved program still ran.
fn hello_and_many_calls(console: &str) -> Result<(), String> {
    if !console.contains("Hello from Ostrog user space!") {
        return Err("hello did not run".into());
    }
    let calls: u32 = console
        .lines()
        .find_map(|l| l.strip_prefix("syscall-fuzz: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or("syscall-fuzz printed no tally")?;
    if calls < 300 {
        return Err(format!("only {calls} invalid calls were tried"));
    }
    Ok(())
}

/// The verdict on one scenario run.
pub struct Outcome {
    pub passed: bool,
    pub summary: String,
    pub console: String,
}

pub fn run(scenario: &ScenarioTest, arch: Arch, kernel: &std::path::Path) -> Result<Outcome> {
    // The same bound for both: `/dev/kvm` may be the PVM software hypervisor, which on a
    // loaded host boots slower than TCG (39 s against 0.8 s measured with a dozen QEMUs
    // beside it); a hung kernel is still caught.
    run_within(scenario, arch, kernel, Duration::from_secs(90))
}

/// [`run`] with another time limit (the kernel fuzzer's long runs).
pub fn run_within(
    scenario: &ScenarioTest,
    arch: Arch,
    kernel: &std::path::Path,
    timeout: Duration,
) -> Result<Outcome> {
    // Kernel-only scenarios boot with the best accelerator; `boot: iso` under TCG and
    // `accel: tcg` with `Accel::for_user_programs`, which falls back to TCG where `/dev/kvm`
    // is the PVM software hypervisor (`kvm_pvm`, no SVM/VMX), as on the CI hosts: for a guest
    // not written to PVM's own ABI, a user-mode `syscall` reaches LSTAR still at CPL 3 and
    // `int 0x80` raises #UD, whatever the kernel's GDT, STAR or CPU model
    // (docs/user-space.md has the experiments).
    let accel = scenario.accel(arch, Accel::best_for(arch));
    let machine = scenario.machine(arch, accel, kernel)?;
    let run = machine.run_captured(timeout, false)?;
    let mut problems = Vec::new();
    if run.ending != Ending::PoweredOff(scenario.status) {
        problems.push(format!(
            "expected the kernel to power off with status {}, but the machine {}",
            scenario.status, run.ending
        ));
    }
    if let Some(line) = first_missing(&run.console, &scenario.expect) {
        problems.push(format!("console lacks (in order): {line:?}"));
    }
    for line in &scenario.anywhere {
        if !run.console.contains(line.as_str()) {
            problems.push(format!("console lacks: {line:?}"));
        }
    }
    for name in &scenario.checks {
        let check = CHECKS
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, check)| *check)
            .ok_or_else(|| anyhow::anyhow!("no check named {name}"))?;
        if let Err(problem) = check(&run.console) {
            problems.push(problem);
        }
    }
    for line in &scenario.reject {
        if run.console.contains(line.as_str()) {
            problems.push(format!("console shows {line:?}"));
        }
    }
    let passed = problems.is_empty();
    let summary = if passed {
        // A scenario that ends with the kernel's memory figures shows them.
        let memory = run
            .console
            .lines()
            .find(|l| l.starts_with("memory: heap "))
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        format!(
            "{} in {:.1}s{memory}",
            accel.name(),
            run.elapsed.as_secs_f64()
        )
    } else {
        format!("{}: {}", accel.name(), problems.join("; "))
    };
    Ok(Outcome {
        passed,
        summary,
        console: run.console,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kernel_scenario_file_parses() {
        let scenarios = super::load().unwrap();
        assert!(scenarios.iter().any(|s| s.iso));
        assert!(scenarios.iter().any(|s| !s.checks.is_empty()));
    }
}
