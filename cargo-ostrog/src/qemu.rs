//! Booting an image in QEMU.
//!
//! Two modes: on the terminal (`cargo ostrog run`: the serial console is the terminal, the
//! tool exits with the kernel's status) and captured (tests: the console is collected, a
//! timeout is enforced, and the result says how the machine ended).
//!
//! How the kernel's power-off status reaches us:
//! - x86_64: the `isa-debug-exit` device at port 0xf4; QEMU exits with `(status << 1) | 1`.
//! - AArch64: semihosting `SYS_EXIT_EXTENDED` (the kernel uses it when the command line says
//!   `ostrog.exit=semihosting`, which we add); QEMU exits with the status itself.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::arch::Arch;

/// Hardware acceleration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// KVM when `/dev/kvm` can be opened and the guest has the host's architecture, TCG
    /// otherwise. `OSTROG_ACCEL=kvm|tcg` overrides the choice.
    pub fn best_for(arch: Arch) -> Accel {
        if let Some(forced) = std::env::var("OSTROG_ACCEL")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return forced;
        }
        let kvm_usable = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        if kvm_usable && Arch::host() == Some(arch) {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }
}

impl Accel {
    /// The accelerator for images that run user programs: [`Accel::best_for`], except that
    /// a `/dev/kvm` provided by the PVM software hypervisor (module `kvm_pvm`) is passed over
    /// for TCG: PVM does not deliver `syscall` or `int 0x80` from the user mode of a guest not
    /// written to its own interface (docs/user-space.md). `OSTROG_ACCEL` still decides.
    pub fn for_user_programs(arch: Arch) -> Accel {
        let best = Accel::best_for(arch);
        let forced = std::env::var_os("OSTROG_ACCEL").is_some();
        if best == Accel::Kvm && !forced && std::path::Path::new("/sys/module/kvm_pvm").exists() {
            Accel::Tcg
        } else {
            best
        }
    }
}

impl std::str::FromStr for Accel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            other => Err(format!(
                "unknown accelerator `{other}` (expected kvm or tcg)"
            )),
        }
    }
}

/// What the machine boots from.
#[derive(Clone, Debug)]
pub enum BootMedium {
    /// The kernel ELF, loaded directly by QEMU (PVH on x86_64, `-kernel` on AArch64).
    Kernel(PathBuf),
    /// A bootable CD image (x86_64: GRUB + Multiboot2); its command line is inside it.
    Cdrom(PathBuf),
}

/// What to boot and how.
#[derive(Clone, Debug)]
pub struct Machine {
    pub arch: Arch,
    pub accel: Accel,
    pub medium: BootMedium,
    /// Kernel command line (the tool adds what the exit path needs).
    pub cmdline: String,
    pub memory_mib: u32,
    /// More QEMU arguments (e.g. `-icount shift=0` for the benchmarks that count
    /// instructions).
    pub extra_args: Vec<String>,
    /// Text typed on the serial console of a captured run, in order (see [`Input`]).
    pub input: Vec<Input>,
}

/// Bytes written to the guest's serial input during a captured run: once `after` has
/// appeared on the console (after the text that released the previous input), or, when it
/// is `None`, once the kernel has printed its banner (it sets the UART up before that,
/// which may clear what the UART had received).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    pub after: Option<String>,
    pub bytes: Vec<u8>,
}

/// The QEMU arguments that attach the raw disk image `disk` (none without one) as a virtio
/// block device: virtio-pci on `q35`, modern virtio-mmio on `virt` (the drivers,
/// docs/devices.md).
pub fn disk_args(arch: Arch, disk: Option<&Path>) -> Vec<String> {
    let Some(disk) = disk else {
        return Vec::new();
    };
    // A comma in the path is written twice in a QEMU option.
    let file = disk.display().to_string().replace(',', ",,");
    let mut args = vec![
        "-drive".into(),
        format!("file={file},if=none,format=raw,id=disk0"),
        "-device".into(),
    ];
    match arch {
        Arch::X86_64 => args.push("virtio-blk-pci,drive=disk0".into()),
        Arch::Aarch64 => args.extend([
            "virtio-blk-device,drive=disk0".into(),
            "-global".into(),
            "virtio-mmio.force-legacy=false".into(),
        ]),
    }
    args
}

impl Machine {
    pub fn new(arch: Arch, accel: Accel, kernel: &Path) -> Self {
        Machine {
            arch,
            accel,
            medium: BootMedium::Kernel(kernel.to_path_buf()),
            cmdline: String::new(),
            memory_mib: 256,
            extra_args: Vec::new(),
            input: Vec::new(),
        }
    }

    fn command(&self, serial: &str) -> Command {
        let mut cmd = Command::new(self.arch.qemu_binary());
        let mut cmdline = self.cmdline.clone();
        match self.arch {
            Arch::X86_64 => {
                // Under TCG the model also has XSAVE and AVX (emulated since QEMU 7.2), which
                // the kernel saves per thread and programs will want; under KVM the plain
                // model, so the host's CPU never has to provide them. XSAVEOPT too, as on
                // every real CPU with AVX: QEMU 7.2's TCG hangs on the CR4.OSXSAVE write of a
                // model with XSAVE but no XSAVEOPT. RDRAND (emulated from the host's random
                // source) keys the kernel's generator (kernel/src/entropy.rs).
                let cpu = if self.accel == Accel::Tcg {
                    "qemu64,+smep,+smap,+xsave,+xsaveopt,+avx,+rdrand"
                } else {
                    "qemu64,+smep,+smap"
                };
                cmd.args(["-M", "q35", "-cpu", cpu]);
                // Keep the firmware (SeaBIOS) off the serial console, so it shows only Ostrog.
                cmd.args(["-fw_cfg", "name=etc/sercon-port,string=0"]);
                cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
            }
            Arch::Aarch64 => {
                let cpu = if self.accel == Accel::Kvm {
                    "host"
                } else {
                    "cortex-a72"
                };
                cmd.args(["-M", "virt", "-cpu", cpu]);
                cmd.args(["-semihosting-config", "enable=on,target=native"]);
                cmdline = format!("ostrog.exit=semihosting {cmdline}");
            }
        }
        cmd.args(["-accel", self.accel.name()])
            .args(["-m", &format!("{}M", self.memory_mib)])
            .args(["-display", "none", "-nic", "none", "-no-reboot"])
            .args(["-serial", serial])
            .args(&self.extra_args);
        match &self.medium {
            BootMedium::Kernel(kernel) => {
                cmd.arg("-kernel")
                    .arg(kernel)
                    .args(["-append", cmdline.trim()]);
            }
            BootMedium::Cdrom(iso) => {
                cmd.arg("-cdrom").arg(iso);
            }
        }
        cmd
    }

    /// Decodes QEMU's exit code into how the machine ended.
    pub fn decode_exit(&self, code: Option<i32>) -> Ending {
        match (self.arch, code) {
            (_, None) => Ending::Killed,
            (Arch::X86_64, Some(0)) => Ending::NoStatus,
            (Arch::X86_64, Some(c)) if c % 2 == 1 => Ending::PoweredOff((c - 1) / 2),
            (Arch::X86_64, Some(c)) => Ending::QemuError(c),
            (Arch::Aarch64, Some(c)) => Ending::PoweredOff(c),
        }
    }

    /// Boots with the serial console on this terminal and waits for the machine to end.
    pub fn run_interactive(&self) -> Result<Ending> {
        let mut cmd = self.command("mon:stdio");
        let status = cmd
            .status()
            .with_context(|| format!("cannot start {}", self.arch.qemu_binary()))?;
        Ok(self.decode_exit(status.code()))
    }

    /// Boots with the console captured, giving up after `timeout`. `echo` also copies the
    /// console to stderr as it arrives.
    pub fn run_captured(&self, timeout: Duration, echo: bool) -> Result<Run> {
        let mut cmd = self.command("stdio");
        // With input to type, QEMU's stdin is the serial line's receive side (`-serial
        // stdio`); else it reads end of file there.
        let stdin = match self.input.is_empty() {
            true => Stdio::null(),
            false => Stdio::piped(),
        };
        cmd.stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.arch.qemu_binary()))?;
        let console = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            spawn_reader(child.stdout.take(), Arc::clone(&console), echo),
            spawn_reader(child.stderr.take(), Arc::clone(&console), echo),
        ];
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let typist = child.stdin.take().map(|stdin| {
            let (input, console, stop) =
                (self.input.clone(), Arc::clone(&console), Arc::clone(&stop));
            std::thread::spawn(move || type_input(stdin, &input, &console, &stop))
        });
        let ending = wait_with_timeout(&mut child, timeout)
            .map(|code| self.decode_exit(code))
            .unwrap_or(Ending::TimedOut);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers.into_iter().flatten() {
            let _ = reader.join();
        }
        if let Some(typist) = typist {
            let _ = typist.join();
        }
        let bytes = console.lock().map(|b| b.clone()).unwrap_or_default();
        Ok(Run {
            ending,
            console: String::from_utf8_lossy(&bytes).replace('\r', ""),
            elapsed: started.elapsed(),
        })
    }
}

fn spawn_reader(
    pipe: Option<impl Read + Send + 'static>,
    sink: Arc<Mutex<Vec<u8>>>,
    echo: bool,
) -> Option<std::thread::JoinHandle<()>> {
    let mut pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            if echo {
                let _ = std::io::stderr().write_all(chunk);
            }
            if let Ok(mut sink) = sink.lock() {
                sink.extend_from_slice(chunk);
            }
        }
    }))
}

/// Writes each input to QEMU's stdin once its `after` text is on the console (searched
/// after the text that released the one before); keeps stdin open until `stop`, so that
/// the guest never sees the line close.
fn type_input(
    mut stdin: std::process::ChildStdin,
    input: &[Input],
    console: &Mutex<Vec<u8>>,
    stop: &std::sync::atomic::AtomicBool,
) {
    let mut from = 0;
    let mut pending = input.iter();
    let mut next = pending.next();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(item) = next else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let seen = match &item.after {
            // The kernel's banner: the UART is set up (setting it up may clear what its
            // FIFO held). QEMU's own warnings on stderr come before it.
            None => console
                .lock()
                .ok()
                .and_then(|c| find(&c, BANNER.as_bytes()))
                .map(|_| from),
            Some(text) => console.lock().ok().and_then(|c| {
                let tail = c.get(from..)?;
                find(tail, text.as_bytes()).map(|at| from + at + text.len())
            }),
        };
        match seen {
            Some(end) => {
                from = end;
                if stdin
                    .write_all(&item.bytes)
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    return;
                }
                next = pending.next();
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The start of the kernel's first line (`Ostrog VERSION (ARCH) booting`), printed once
/// its console is set up.
const BANNER: &str = "Ostrog ";

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Waits for the child; kills it and returns None when the timeout passes.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<Option<i32>> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.code()),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// How a machine ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The kernel powered off and reported this status (0 = success).
    PoweredOff(i32),
    /// QEMU exited without a status from the kernel.
    NoStatus,
    /// QEMU itself failed with this exit code.
    QemuError(i32),
    /// The timeout passed; QEMU was killed.
    TimedOut,
    /// QEMU was killed by a signal.
    Killed,
}

impl Ending {
    /// The exit code `cargo ostrog` reports for this ending.
    pub fn exit_code(self) -> i32 {
        match self {
            Ending::PoweredOff(status) => status,
            Ending::NoStatus => 0,
            Ending::QemuError(_) | Ending::Killed => 125,
            Ending::TimedOut => 124,
        }
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::PoweredOff(0) => write!(f, "powered off with status 0 (success)"),
            Ending::PoweredOff(2) => write!(f, "powered off with status 2 (kernel panic)"),
            Ending::PoweredOff(3) => write!(f, "powered off with status 3 (kernel fault)"),
            Ending::PoweredOff(s) => write!(f, "powered off with status {s}"),
            Ending::NoStatus => write!(f, "QEMU exited without a status from the kernel"),
            Ending::QemuError(c) => write!(f, "QEMU failed with exit code {c}"),
            Ending::TimedOut => write!(f, "timed out (QEMU killed)"),
            Ending::Killed => write!(f, "QEMU was killed by a signal"),
        }
    }
}

/// A captured boot.
#[derive(Clone, Debug)]
pub struct Run {
    pub ending: Ending,
    pub console: String,
    pub elapsed: Duration,
}
