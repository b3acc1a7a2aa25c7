//! QEMU scenario tests: boot a real image, read the console, check how the machine ended.
//!
//! Each scenario is named after the behaviour it proves and runs on every architecture. To
//! add one: append a [`Scenario`] to [`SCENARIOS`] with the kernel command line, the status
//! the kernel must power off with, and the lines the console must (and must not) show.

use std::time::Duration;

use ostrog::arch::Arch;
use ostrog::qemu::{Accel, BootMedium, Ending, Machine};

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
}

impl Scenario {
    pub fn runs_on(&self, arch: Arch) -> bool {
        !self.iso || arch == Arch::X86_64
    }
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "boots_shows_memory_map_and_ticks_then_powers_off",
        cmdline: "ostrog.ticks=3",
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
    },
    Scenario {
        name: "boots_from_grub_iso_via_multiboot2",
        cmdline: "ostrog.ticks=2",
        status: 0,
        expect: &[
            "command line: ostrog.ticks=2",
            "boot protocol: Multiboot2",
            "physical memory map:",
            "tick 2",
            "nothing left to run; powering off",
        ],
        reject: &["KERNEL"],
        iso: true,
    },
    Scenario {
        name: "kernel_heap_allocates_and_frees",
        cmdline: "ostrog.selftest=heap ostrog.ticks=1",
        status: 0,
        expect: &["selftest: heap ok"],
        reject: &["CORRUPT", "KERNEL"],
        iso: false,
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
    },
    Scenario {
        name: "kernel_illegal_instruction_is_reported",
        cmdline: "ostrog.selftest=illegal-instruction",
        status: 3,
        expect: &["*** KERNEL FAULT:", "pc: 0x", "registers:", "system halted"],
        reject: &[],
        iso: false,
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
    },
];

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
    } else {
        Accel::best_for(arch)
    };
    let mut machine = Machine::new(arch, accel, kernel);
    machine.cmdline = scenario.cmdline.to_string();
    if scenario.iso {
        let iso = kernel.with_file_name(format!("{}.iso", scenario.name));
        machine.medium = BootMedium::Cdrom(ostrog::iso::build(kernel, scenario.cmdline, &iso)?);
    }
    let timeout = match accel {
        Accel::Kvm => Duration::from_secs(30),
        Accel::Tcg => Duration::from_secs(90),
    };
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
    for line in scenario.reject {
        if run.console.contains(line) {
            problems.push(format!("console shows {line:?}"));
        }
    }
    let passed = problems.is_empty();
    let summary = if passed {
        format!("{} in {:.1}s", accel.name(), run.elapsed.as_secs_f64())
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
