//! QEMU scenario tests: boot a real image, read the console, check how the machine ended.
//!
//! Each scenario is named after the behaviour it proves and runs on every architecture
//! unless it says otherwise (`iso`, `arch_only`). To add one: append a [`Scenario`] to
//! [`SCENARIOS`] with the kernel command line, the status the kernel must power off with,
//! and the lines the console must (and must not) show.

use std::time::Duration;

use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Accel, BootMedium, Ending, Machine};

/// A check of the whole console: `Err` says what is wrong.
pub type ConsoleCheck = fn(&str) -> Result<(), String>;

pub struct Scenario {
    pub name: &'static str,
    pub cmdline: &'static str,
    /// Status the kernel must report when it powers off.
    pub status: i32,
    /// Text that must appear on the console, in this order.
    pub expect: &'static [&'static str],
    /// Text that must not appear.
    pub reject: &'static [&'static str],
    /// Boot from a GRUB ISO (Multiboot2) instead of directly; x86_64 only.
    pub iso: bool,
    /// A further check of the console, beyond lines in order.
    pub check: Option<ConsoleCheck>,
    /// The scenario runs user programs: it boots with [`Accel::for_user_programs`], which
    /// falls back to TCG where `/dev/kvm` is the PVM software hypervisor (`kvm_pvm`, no
    /// SVM/VMX), as on the CI hosts: for a guest not written to PVM's own ABI, a user-mode
    /// `syscall` reaches LSTAR still at CPL 3 and `int 0x80` raises #UD, whatever the kernel's
    /// GDT, STAR or CPU model (docs/user-space.md has the experiments). Kernel-only scenarios
    /// run under KVM there.
    pub tcg: bool,
    /// Runs on this architecture only (x86 I/O ports, say); `None`: on every one.
    pub arch_only: Option<Arch>,
}

impl Scenario {
    pub fn runs_on(&self, arch: Arch) -> bool {
        (!self.iso || arch == Arch::X86_64) && self.arch_only.is_none_or(|only| only == arch)
    }
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

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "boots_shows_memory_map_and_ticks_then_powers_off",
        cmdline: "ostrog.start= ostrog.ticks=3",
        status: 0,
        expect: &[
            "booting",
            "physical memory map:",
            "usable memory:",
            "frames:",
            "timer: 100 Hz",
            "tick 1",
            "tick 2",
            "tick 3",
            "nothing left to run; powering off",
        ],
        reject: &["KERNEL"],
        iso: false,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "boots_from_grub_iso_via_multiboot2",
        cmdline: "ostrog.start= ostrog.ticks=2",
        status: 0,
        expect: &[
            "command line: ostrog.start= ostrog.ticks=2",
            "boot protocol: Multiboot2",
            "physical memory map:",
            "tick 2",
            "nothing left to run; powering off",
        ],
        reject: &["KERNEL"],
        iso: true,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "kernel_heap_allocates_and_frees",
        cmdline: "ostrog.start= ostrog.selftest=heap ostrog.ticks=1",
        status: 0,
        expect: &["selftest: heap ok"],
        reject: &["CORRUPT", "KERNEL"],
        iso: false,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "kernel_page_fault_is_reported_not_hung",
        cmdline: "ostrog.selftest=page-fault",
        status: 3,
        expect: &[
            "*** KERNEL FAULT:",
            "faulting address: 0x0000000000000000",
            "pc: 0x",
            "registers:",
            "system halted",
        ],
        reject: &["page fault expected"],
        iso: false,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "kernel_illegal_instruction_is_reported",
        cmdline: "ostrog.selftest=illegal-instruction",
        status: 3,
        expect: &["*** KERNEL FAULT:", "pc: 0x", "registers:", "system halted"],
        reject: &[],
        iso: false,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "kernel_panic_is_reported",
        cmdline: "ostrog.selftest=panic",
        status: 2,
        expect: &[
            "*** KERNEL PANIC: self test requested a panic ***",
            "selftest.rs",
            "system halted",
        ],
        reject: &[],
        iso: false,
        check: None,
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "kernel_stack_overflow_hits_its_guard_page",
        cmdline: "ostrog.start= ostrog.selftest=kernel-stack-overflow",
        status: 3,
        expect: &[
            "selftest: overflowing the kernel stack",
            "*** KERNEL FAULT:",
            "faulting address: 0x",
            "system halted",
        ],
        reject: &["did not stop it", "KERNEL PANIC"],
        iso: false,
        check: Some(fault_in_guard_page),
        tcg: false,
        arch_only: None,
    },
    Scenario {
        name: "two_programs_preempt_each_other",
        cmdline: "ostrog.start=spin-a,spin-b",
        status: 0,
        expect: &[
            "[kernel] started spin-a",
            "[kernel] started spin-b",
            "spin-a 0",
            "spin-b 0",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "killed"],
        iso: false,
        check: Some(interleaved),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "faulting_programs_are_killed_others_keep_running",
        cmdline:
            "ostrog.start=spin-a,fault-kernel-read,fault-code-write,fault-jump,fault-stack-overflow",
        status: 0,
        // The four reports come in whatever order the programs run (the timer follows the
        // host's clock under TCG); `faults_reported` finds each one wherever it is.
        expect: &["spin-a done", "all processes have ended; powering off"],
        reject: &["SURVIVED", "KERNEL"],
        iso: false,
        check: Some(faults_reported),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "invalid_system_calls_get_errors_and_the_kernel_survives",
        cmdline: "ostrog.start=syscall-fuzz,hello",
        status: 0,
        expect: &[
            "syscall-fuzz: every invalid call was refused",
            "all processes have ended; powering off",
        ],
        reject: &["UNEXPECTED", "KERNEL", "killed"],
        iso: false,
        check: Some(hello_and_many_calls),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "malformed_executable_is_refused_at_load",
        cmdline: "ostrog.start=Broken,hello",
        status: 0,
        expect: &[
            "[kernel] cannot start Broken: invalid executable:",
            "Hello from Ostrog user space!",
            "[kernel] process hello (class hello) exited with status 0",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "started Broken"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "threads_start_and_join",
        cmdline: "ostrog.start=threads",
        status: 0,
        expect: &[
            "threads: 4 started, joined with sum of indices 6",
            "threads: a thread at priority 31 is refused (above the priority ceiling)",
            "[kernel] process threads (class threads) exited with status 0",
        ],
        reject: &["KERNEL", "killed", "panic", "BREACH"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "threads_and_processes_ended_in_the_kernel_leave_nothing_behind",
        cmdline: "ostrog.start=soak",
        status: 0,
        expect: &[
            "soak: 300 rounds of threads and children ended while blocked",
            "[kernel] process soak (class soak) exited with status 0",
            "memory: heap ",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "killed", "panic"],
        iso: false,
        check: Some(memory_back_to_baseline),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "fpu_and_simd_registers_are_kept_per_thread",
        cmdline: "ostrog.start=fpu",
        status: 0,
        expect: &[
            "saved per thread",
            "fpu: checking ",
            "fpu: state kept across ",
            "[kernel] process fpu (class fpu) exited with status 0",
        ],
        reject: &["MISMATCH", "KERNEL", "killed", "panic"],
        iso: false,
        check: Some(fpu_classes_match),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "fpu_registers_are_kept_per_thread_with_fxsave",
        cmdline: "ostrog.start=fpu ostrog.fpu=fxsave",
        status: 0,
        expect: &[
            "fpu: FXSAVE, x87 SSE saved per thread",
            "fpu: checking x87 MMX SSE segment registers",
            "fpu: state kept across ",
            "[kernel] process fpu (class fpu) exited with status 0",
        ],
        reject: &["MISMATCH", "KERNEL", "killed", "panic"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: Some(Arch::X86_64),
    },
    Scenario {
        name: "a_process_creates_starts_and_waits_for_another",
        cmdline: "ostrog.start=spawner",
        status: 0,
        expect: &[
            "[kernel] started spawner",
            "[kernel] started child",
            "Hello from Ostrog user space!",
            "[kernel] process child (class hello) exited with status 0",
            "spawner: child ended with status 0",
            "spawner: a child at its own priority is refused (above the priority ceiling)",
            "spawner: a missing executable is refused",
            "all processes have ended; powering off",
        ],
        reject: &[
            "KERNEL",
            "killed",
            "panic",
            "spawner: created a process at its own priority",
        ],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "a_driver_maps_device_registers_but_never_memory",
        cmdline: "ostrog.start=mmio",
        status: 0,
        expect: &[
            "identified through its registers",
            "mmio: registers refused as a message buffer",
            "mmio: memory and the kernel's devices refused",
            "[kernel] process mmio (class mmio) exited with status 0",
        ],
        reject: &["KERNEL", "killed", "panic"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "a_driver_waits_for_its_device_interrupt",
        cmdline: "ostrog.start=irq",
        status: 0,
        expect: &[
            "irq: claimed line",
            "irq: a wait with no interrupt timed out",
            "irq: interrupt 1 of the",
            "irq: interrupt 2 of the",
            "irq: a served device stays quiet",
            "irq: released line claimed again",
            "irq: the timer's line, double claims and forged handles refused",
            "[kernel] process irq (class irq) exited with status 0",
        ],
        reject: &["KERNEL", "killed", "panic"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "a_driver_uses_only_the_io_ports_it_claimed",
        cmdline: "ostrog.start=ports,ports-unclaimed",
        status: 0,
        expect: &[
            "ports: claimed the CMOS ports 0x70-0x71",
            "ports: CMOS register 0x7e reads back what was written",
            "ports: the kernel's ports, double claims and bad ranges refused",
            "ports: the ports still work after other processes ran",
            "[kernel] process ports (class ports) exited with status 0",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "SURVIVED", "panic"],
        iso: false,
        check: Some(unclaimed_port_killed),
        tcg: true,
        arch_only: Some(Arch::X86_64),
    },
    Scenario {
        name: "stray_interrupts_harm_neither_kernel_nor_programs",
        cmdline: "ostrog.selftest=stray-interrupts ostrog.start=stray-victim,soft-int",
        status: 0,
        expect: &[
            "selftest: stray interrupts sent",
            "stray-victim: ",
            "rounds of busy work, every result right",
            "[kernel] process stray-victim (class stray-victim) exited with status 0",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "SURVIVED", "WRONG", "panic"],
        iso: false,
        check: Some(strays_reported_soft_int_killed),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "echo_client_and_server_exchange_messages_with_arenas_and_handles",
        cmdline: "ostrog.audit=console",
        status: 0,
        expect: &[
            "[kernel] started Einit",
            "[kernel] started echo.Server",
            // Einit outranks the programs: everything is started before any of them runs.
            "[kernel] process Einit (class Einit) exited with status 0",
            "echo-client: 2000 echoes, 0 wrong; the server saw sid",
            "echo-client: 100 handles moved, 0 wrong",
            "echo-client: shared memory seen and changed by the server",
            "echo-client: Forbidden refused: access denied",
            "echo-client: security query Check(443): granted",
            "[audit] denied security echo.Client(",
            "echo-client: security query Check(22): denied",
            "echo-client: the vault answers too",
            "echo-client: all calls behaved",
            "echo-server: no clients left",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "BREACH", "killed", "panic"],
        iso: false,
        check: Some(einit_first_then_forbidden_audited),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "hostile_program_is_refused_everything_and_the_system_runs_on",
        cmdline: "ostrog.audit=console",
        status: 0,
        expect: &[
            "hostile: the hoard server's table filled after",
            "hostile: every attempt was refused",
            "echo-client: all calls behaved",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "BREACH", "killed", "panic"],
        iso: false,
        check: Some(hostile_tally),
        tcg: true,
        arch_only: None,
    },
    Scenario {
        name: "denied_start_is_audited_and_the_rest_runs",
        cmdline: "ostrog.audit=console",
        status: 0,
        expect: &[
            "[audit] denied execute Einit(",
            "-> echo.Unwanted(",
            "[kernel] start of echo.Unwanted (sid",
            "denied by the security policy",
            "Einit: cannot start echo.Unwanted: access denied",
            "all processes have ended; powering off",
        ],
        reject: &["KERNEL", "Hello from Ostrog user space!"],
        iso: false,
        check: None,
        tcg: true,
        arch_only: None,
    },
];

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

/// Every denied Forbidden call was seen and audited by the security hook.
fn forbidden_audited(console: &str) -> Result<(), String> {
    let audited = console
        .lines()
        .filter(|l| l.contains("[audit] denied request echo.") && l.contains("echo.Forbidden"))
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

/// The spinners' lines must alternate several times: neither yields, so every switch
/// between them is a preemption by the timer.
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

/// Returns the first expected line missing from `console` (in order), if any.
fn first_missing<'a>(console: &str, expect: &[&'a str]) -> Option<&'a str> {
    let mut rest = console;
    for &line in expect {
        match rest.find(line) {
            Some(at) => rest = rest.get(at + line.len()..).unwrap_or(""),
            None => return Some(line),
        }
    }
    None
}

pub fn run(scenario: &Scenario, arch: Arch, kernel: &std::path::Path) -> anyhow::Result<Outcome> {
    // The ISO path runs firmware (SeaBIOS) and GRUB before the kernel; it is emulated (TCG)
    // so that it does not depend on how well the host's KVM runs real-mode firmware (nested
    // KVM hosts have been seen to stall in SeaBIOS).
    let accel = if scenario.iso {
        Accel::Tcg
    } else if scenario.tcg {
        Accel::for_user_programs(arch)
    } else {
        Accel::best_for(arch)
    };
    let mut machine = Machine::new(arch, accel, kernel);
    machine.cmdline = scenario.cmdline.to_string();
    if scenario.iso {
        let iso = kernel.with_file_name(format!("{}.iso", scenario.name));
        machine.medium =
            BootMedium::Cdrom(cargo_ostrog::iso::build(kernel, scenario.cmdline, &iso)?);
    }
    // The same bound for both: `/dev/kvm` may be the PVM software hypervisor, which on a
    // loaded host boots slower than TCG (39 s against 0.8 s measured with a dozen QEMUs
    // beside it); a hung kernel is still caught.
    let timeout = Duration::from_secs(90);
    let run = machine.run_captured(timeout, false)?;
    let mut problems = Vec::new();
    if run.ending != Ending::PoweredOff(scenario.status) {
        problems.push(format!(
            "expected the kernel to power off with status {}, but the machine {}",
            scenario.status, run.ending
        ));
    }
    if let Some(line) = first_missing(&run.console, scenario.expect) {
        problems.push(format!("console lacks (in order): {line:?}"));
    }
    if let Some(check) = scenario.check {
        if let Err(problem) = check(&run.console) {
            problems.push(problem);
        }
    }
    for line in scenario.reject {
        if run.console.contains(line) {
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
    use super::first_missing;

    #[test]
    fn expected_lines_must_appear_in_order() {
        assert_eq!(first_missing("a b c", &["a", "c"]), None);
        assert_eq!(first_missing("a b c", &["c", "a"]), Some("a"));
        assert_eq!(first_missing("a b", &["a", "x"]), Some("x"));
    }
}
