//! The kernel command line: space-separated `key=value` options.
//!
//! Recognised options:
//! - `ostrog.ticks=N`: how many timer ticks to show before powering off when there is nothing
//!   to run (default 5).
//! - `ostrog.selftest=NAME`: run one of the kernel's self tests (see [`crate::selftest`]);
//!   used by the QEMU scenario tests to prove the crash path works.
//! - `ostrog.exit=semihosting`: on AArch64, report the exit status through semihosting (the
//!   test harness enables it in QEMU); without it the kernel uses PSCI `SYSTEM_OFF`.
//!
//! - `ostrog.start=a,b,...`: programs the kernel starts itself (tests); empty: none. Without
//!   it the kernel starts `Einit` if the ROMFS has it.
//! - `ostrog.audit=console`: print every audit record on the console as it is made.
//! - `ostrog.max_message=BYTES`: the largest IPC message (default 64 KiB).
//!
//! Unknown options are ignored so that boot loaders may add their own.

pub struct CommandLine<'a> {
    text: &'a str,
}

impl<'a> CommandLine<'a> {
    pub fn parse(text: &'a str) -> Self {
        CommandLine { text }
    }

    /// The value of `key=value`, if present (last one wins).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.text
            .split_ascii_whitespace()
            .filter_map(|word| word.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .next_back()
    }

    pub fn ticks(&self) -> Option<u64> {
        self.get("ostrog.ticks").and_then(|v| v.parse().ok())
    }

    pub fn selftest(&self) -> Option<&'a str> {
        self.get("ostrog.selftest")
    }
}
