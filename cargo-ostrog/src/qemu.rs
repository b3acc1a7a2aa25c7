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
    /// A raw disk image attached as a virtio-blk device ([`disk_args`]); see
    /// [`prepare_disk`] to create or check one.
    pub disk: Option<PathBuf>,
    /// A network card on QEMU user networking ([`net_args`]); `None`: no network.
    pub net: Option<Net>,
    /// A virtio-rng device ([`rng_args`]), fed by the host's /dev/urandom.
    pub rng: bool,
    /// Text that stops a captured run: once the console shows it, QEMU is killed at once
    /// (the machine loses its power; what QEMU had written to the disk image stays) and the
    /// run ends [`Ending::Stopped`], with the console as far as QEMU had printed it.
    pub stop_at: Option<String>,
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
            disk: None,
            net: None,
            rng: false,
            stop_at: None,
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
            .args(disk_args(self.arch, self.disk.as_deref()))
            .args(net_args(self.arch, self.net.as_ref(), self.disk.is_some()))
            .args(rng_args(
                self.arch,
                self.rng,
                self.disk.is_some() || self.net.is_some(),
            ))
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
        let seen = || {
            self.stop_at.as_ref().is_some_and(|text| {
                console
                    .lock()
                    .is_ok_and(|c| find(&c, text.as_bytes()).is_some())
            })
        };
        let ending = match wait_until(&mut child, timeout, seen) {
            Waited::Exited(code) => self.decode_exit(code),
            Waited::TimedOut => Ending::TimedOut,
            Waited::Stopped => Ending::Stopped,
        };
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

/// The QEMU arguments that attach `disk`, a raw image, as the machine's virtio-blk device
/// (none without a disk): on x86_64 (q35) a virtio-blk PCI device, on AArch64 (virt) a
/// virtio-blk device on virtio-mmio, in its modern (version 2) form, not the legacy one
/// QEMU's `virt` machine offers by default.
pub fn disk_args(arch: Arch, disk: Option<&Path>) -> Vec<std::ffi::OsString> {
    let Some(disk) = disk else {
        return Vec::new();
    };
    // QEMU splits `-drive` options at commas; a comma in the path is written twice.
    let mut drive = std::ffi::OsString::from("file=");
    match disk.to_str() {
        Some(path) => drive.push(path.replace(',', ",,")),
        None => drive.push(disk.as_os_str()),
    }
    drive.push(",if=none,format=raw,id=disk0");
    let mut args: Vec<std::ffi::OsString> = vec!["-drive".into(), drive];
    let device = match arch {
        Arch::X86_64 => "virtio-blk-pci,drive=disk0",
        Arch::Aarch64 => {
            args.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
            "virtio-blk-device,drive=disk0"
        }
    };
    args.extend(["-device".into(), device.into()]);
    args
}

/// The guest's network: QEMU user networking (the guest is 10.0.2.15 behind QEMU's NAT, the
/// gateway 10.0.2.2), restricted so the guest reaches nothing outside, with TCP ports of
/// 127.0.0.1 on the host forwarded to the guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Net {
    /// (host port on 127.0.0.1, guest port) pairs.
    pub forwards: Vec<Forward>,
    /// Ports of 127.0.0.1 on the host the guest reaches at [`GUEST_FORWARD_ADDR`].
    pub guest_forwards: Vec<GuestForward>,
    /// The first address QEMU's DHCP server leases (`dhcpstart`; default 10.0.2.15). The
    /// forwards go to it, so a guest that does not use the address it leased is not
    /// reached.
    pub dhcp_start: Option<[u8; 4]>,
}

/// The address at which the guest reaches a [`GuestForward`] (10.0.2.100, inside QEMU's
/// user network).
pub const GUEST_FORWARD_ADDR: [u8; 4] = [10, 0, 2, 100];

/// A TCP port of 127.0.0.1 on the host that the guest reaches as 10.0.2.100:`guest`
/// (QEMU's `guestfwd`): QEMU connects to the host port when it starts (something must
/// listen there by then) and carries one connection of the guest over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestForward {
    pub guest: u16,
    pub host: u16,
}

impl std::str::FromStr for GuestForward {
    type Err = String;

    /// `GUEST:HOST`, two TCP port numbers from 1 to 65535.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let f: Forward = s
            .parse()
            .map_err(|e: String| e.replace("HOST:GUEST", "GUEST:HOST"))?;
        Ok(GuestForward {
            guest: f.host,
            host: f.guest,
        })
    }
}

/// A TCP port of 127.0.0.1 on the host forwarded to a port of the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    pub host: u16,
    pub guest: u16,
}

impl std::str::FromStr for Forward {
    type Err = String;

    /// `HOST:GUEST`, two TCP port numbers from 1 to 65535.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let port = |p: &str| match p.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!(
                "`{p}` is not a port number (1 to 65535) in the forward `{s}` (expected HOST:GUEST)"
            )),
            Ok(n) => Ok(n),
        };
        let Some((host, guest)) = s.split_once(':') else {
            return Err(format!("the forward `{s}` is not HOST:GUEST"));
        };
        Ok(Forward {
            host: port(host)?,
            guest: port(guest)?,
        })
    }
}

/// The QEMU arguments that give the machine a virtio-net card on user networking (none
/// without `net`): `restrict=on` keeps the guest from reaching the host or anything beyond;
/// each forward listens on 127.0.0.1 only. On x86_64 (q35) a virtio-net PCI device, on
/// AArch64 (virt) a modern virtio-mmio device (`-global virtio-mmio.force-legacy=false`,
/// which [`disk_args`] gives already when there is a disk).
pub fn net_args(arch: Arch, net: Option<&Net>, has_disk: bool) -> Vec<String> {
    let Some(net) = net else {
        return Vec::new();
    };
    let mut netdev = String::from("user,id=n0,restrict=on");
    if let Some([a, b, c, d]) = net.dhcp_start {
        netdev.push_str(&format!(",dhcpstart={a}.{b}.{c}.{d}"));
    }
    for f in &net.forwards {
        netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{}-:{}", f.host, f.guest));
    }
    let [a, b, c, d] = GUEST_FORWARD_ADDR;
    for f in &net.guest_forwards {
        netdev.push_str(&format!(
            ",guestfwd=tcp:{a}.{b}.{c}.{d}:{}-tcp:127.0.0.1:{}",
            f.guest, f.host
        ));
    }
    let mut args = vec!["-netdev".to_string(), netdev];
    let device = match arch {
        Arch::X86_64 => "virtio-net-pci,netdev=n0",
        Arch::Aarch64 => {
            if !has_disk {
                args.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
            }
            "virtio-net-device,netdev=n0"
        }
    };
    args.extend(["-device".into(), device.into()]);
    args
}

/// The QEMU arguments that give the machine a virtio-rng device (none without `rng`): on
/// x86_64 (q35) a virtio-rng PCI device, on AArch64 (virt) a modern virtio-mmio device
/// (`-global virtio-mmio.force-legacy=false` unless the disk's or the network's arguments
/// give it already: `modern_given`). Given after the disk and the network card, so that
/// their PCI slots and virtio-mmio slots (and so their interrupt lines) stay as they were.
pub fn rng_args(arch: Arch, rng: bool, modern_given: bool) -> Vec<String> {
    if !rng {
        return Vec::new();
    }
    let mut args = Vec::new();
    let device = match arch {
        Arch::X86_64 => "virtio-rng-pci",
        Arch::Aarch64 => {
            if !modern_given {
                args.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
            }
            "virtio-rng-device"
        }
    };
    args.extend(["-device".into(), device.into()]);
    args
}

/// A free TCP port of 127.0.0.1 on the host, for a forward (the port is free when this
/// returns; another program may take it before QEMU does, which QEMU reports).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .context("cannot find a free TCP port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Size of a disk image [`prepare_disk`] creates when none is asked for: 64 MiB.
pub const DEFAULT_DISK_SIZE: u64 = 64 << 20;

/// Sector size of the virtual disk: an image is a whole number of them.
pub const SECTOR: u64 = 512;

/// Makes `path` ready to be the machine's disk: an existing image is checked (a regular
/// file, readable and writable, a non-zero whole number of sectors); a missing one is
/// created as a sparse file of `size` bytes, all zero (the disk file system server formats a
/// disk whose first sectors are zero). `size` is only used to create. Every error names the
/// file and what is wrong; nothing existing is changed.
pub fn prepare_disk(path: &Path, size: u64) -> Result<()> {
    use anyhow::bail;
    match std::fs::metadata(path) {
        Ok(meta) => {
            if !meta.is_file() {
                bail!("disk image {}: not a regular file", path.display());
            }
            let len = meta.len();
            if len == 0 || !len.is_multiple_of(SECTOR) {
                bail!(
                    "disk image {}: its size, {len} bytes, is not a non-zero multiple of \
                     {SECTOR} (a disk is a whole number of sectors)",
                    path.display()
                );
            }
            // The guest writes its disk: a read-only image is refused even where the user
            // (root) could write it anyway.
            if meta.permissions().readonly() {
                bail!(
                    "disk image {}: the file is read-only (the machine writes its disk)",
                    path.display()
                );
            }
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "disk image {}: cannot be opened for reading and writing",
                        path.display()
                    )
                })?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if size == 0 || !size.is_multiple_of(SECTOR) {
                bail!(
                    "disk image {}: the size asked for, {size} bytes, is not a non-zero \
                     multiple of {SECTOR}",
                    path.display()
                );
            }
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parent.is_dir() {
                bail!(
                    "disk image {}: the folder {} does not exist",
                    path.display(),
                    parent.display()
                );
            }
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("disk image {}: cannot be created", path.display()))?;
            // Setting the length leaves a hole: the file takes no space until written.
            if let Err(e) = file.set_len(size) {
                drop(file);
                let _ = std::fs::remove_file(path);
                return Err(e)
                    .with_context(|| format!("disk image {}: cannot be sized", path.display()));
            }
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("disk image {}", path.display())),
    }
}

/// Reads a disk size: bytes, or with a suffix `K`, `M` or `G` (powers of 1024, with or
/// without `iB`), e.g. `64M`, `1GiB`, `1048576`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let shift = match unit.trim_end_matches("iB").trim_end_matches('B') {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        _ => {
            return Err(format!(
                "`{text}`: expected a size such as 64M, 1G or 1048576"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}`: expected a size such as 64M, 1G or 1048576"))?;
    let size = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}`: too large"))?;
    if size == 0 || !size.is_multiple_of(SECTOR) {
        return Err(format!(
            "`{text}`: a disk size must be a non-zero multiple of {SECTOR} bytes"
        ));
    }
    Ok(size)
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

/// How [`wait_until`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waited {
    /// The child exited, with this code (none when a signal ended it).
    Exited(Option<i32>),
    /// The timeout passed; the child was killed.
    TimedOut,
    /// `stop` said so; the child was killed.
    Stopped,
}

/// Waits for the child, asking `stop` every 20 ms; kills it when `stop` says so or the
/// timeout passes.
fn wait_until(child: &mut Child, timeout: Duration, stop: impl Fn() -> bool) -> Waited {
    let deadline = Instant::now() + timeout;
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status.code()),
            Ok(None) if stop() => break Waited::Stopped,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => break Waited::TimedOut,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    waited
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
    /// The console showed [`Machine::stop_at`]; QEMU was killed.
    Stopped,
}

impl Ending {
    /// The exit code `cargo ostrog` reports for this ending.
    pub fn exit_code(self) -> i32 {
        match self {
            Ending::PoweredOff(status) => status,
            Ending::NoStatus => 0,
            Ending::QemuError(_) | Ending::Killed | Ending::Stopped => 125,
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
            Ending::Stopped => write!(f, "stopped at the text asked for (QEMU killed)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<std::ffi::OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn no_disk_no_arguments() {
        assert!(disk_args(Arch::X86_64, None).is_empty());
        assert!(disk_args(Arch::Aarch64, None).is_empty());
    }

    #[test]
    fn a_disk_is_virtio_blk_pci_on_x86_64_and_modern_virtio_mmio_on_aarch64() {
        let disk = Path::new("/tmp/d,1.img");
        assert_eq!(
            strings(disk_args(Arch::X86_64, Some(disk))),
            [
                "-drive",
                "file=/tmp/d,,1.img,if=none,format=raw,id=disk0",
                "-device",
                "virtio-blk-pci,drive=disk0"
            ]
        );
        assert_eq!(
            strings(disk_args(Arch::Aarch64, Some(disk))),
            [
                "-drive",
                "file=/tmp/d,,1.img,if=none,format=raw,id=disk0",
                "-global",
                "virtio-mmio.force-legacy=false",
                "-device",
                "virtio-blk-device,drive=disk0"
            ]
        );
    }

    #[test]
    fn no_net_no_arguments() {
        assert!(net_args(Arch::X86_64, None, false).is_empty());
        assert!(net_args(Arch::Aarch64, None, true).is_empty());
    }

    #[test]
    fn a_net_is_restricted_user_networking_with_loopback_forwards() {
        let net = Net {
            forwards: vec!["8080:80".parse().unwrap(), "2222:22".parse().unwrap()],
            ..Net::default()
        };
        let netdev = "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,\
                      hostfwd=tcp:127.0.0.1:2222-:22";
        assert_eq!(
            net_args(Arch::X86_64, Some(&net), false),
            ["-netdev", netdev, "-device", "virtio-net-pci,netdev=n0"]
        );
        assert_eq!(
            net_args(Arch::Aarch64, Some(&net), false),
            [
                "-netdev",
                netdev,
                "-global",
                "virtio-mmio.force-legacy=false",
                "-device",
                "virtio-net-device,netdev=n0"
            ]
        );
        // The disk's arguments already make virtio-mmio modern: not given twice.
        assert_eq!(
            net_args(Arch::Aarch64, Some(&net), true),
            ["-netdev", netdev, "-device", "virtio-net-device,netdev=n0"]
        );
    }

    #[test]
    fn a_guest_forward_reaches_the_host_loopback_only() {
        let net = Net {
            guest_forwards: vec!["80:4321".parse().unwrap()],
            ..Net::default()
        };
        assert_eq!(
            net_args(Arch::X86_64, Some(&net), false)[1],
            "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:4321"
        );
        for bad in ["80", "0:80", "80:0", "x:80"] {
            assert!(bad.parse::<GuestForward>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_dhcp_start_moves_the_leased_address_and_the_forwards() {
        let net = Net {
            forwards: vec!["8080:80".parse().unwrap()],
            dhcp_start: Some([10, 0, 2, 50]),
            ..Net::default()
        };
        assert_eq!(
            net_args(Arch::X86_64, Some(&net), false)[1],
            "user,id=n0,restrict=on,dhcpstart=10.0.2.50,hostfwd=tcp:127.0.0.1:8080-:80"
        );
    }

    #[test]
    fn a_forward_is_two_port_numbers() {
        assert_eq!(
            "1:65535".parse::<Forward>(),
            Ok(Forward {
                host: 1,
                guest: 65535
            })
        );
        for bad in ["80", "0:80", "80:0", "x:80", "80:70000", ":", "80:80:80"] {
            assert!(bad.parse::<Forward>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_random_number_device_comes_after_the_other_devices() {
        assert!(rng_args(Arch::X86_64, false, false).is_empty());
        assert_eq!(
            rng_args(Arch::X86_64, true, false),
            ["-device", "virtio-rng-pci"]
        );
        assert_eq!(
            rng_args(Arch::Aarch64, true, false),
            [
                "-global",
                "virtio-mmio.force-legacy=false",
                "-device",
                "virtio-rng-device"
            ]
        );
        assert_eq!(
            rng_args(Arch::Aarch64, true, true),
            ["-device", "virtio-rng-device"]
        );
        let mut m = Machine::new(Arch::X86_64, Accel::Tcg, Path::new("k"));
        m.disk = Some(PathBuf::from("/x/disk.img"));
        m.rng = true;
        let a: Vec<String> = m
            .command("stdio")
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let blk = a
            .iter()
            .position(|x| x.starts_with("virtio-blk-pci"))
            .unwrap();
        let rng = a.iter().position(|x| x == "virtio-rng-pci").unwrap();
        assert!(blk < rng);
    }

    #[test]
    fn the_machine_passes_its_disk_to_qemu() {
        let mut m = Machine::new(Arch::X86_64, Accel::Tcg, Path::new("k"));
        let args = |m: &Machine| -> Vec<String> {
            m.command("stdio")
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert!(!args(&m).iter().any(|a| a.contains("virtio-blk")));
        m.disk = Some(PathBuf::from("/x/disk.img"));
        let a = args(&m);
        let at = a.iter().position(|x| x == "-drive").unwrap();
        assert_eq!(a[at + 1], "file=/x/disk.img,if=none,format=raw,id=disk0");
        assert!(a.iter().any(|x| x == "virtio-blk-pci,drive=disk0"));
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ostrog-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_missing_disk_is_created_sparse_and_zero() {
        let path = temp("new.img");
        let _ = std::fs::remove_file(&path);
        prepare_disk(&path, 4 << 20).unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 4 << 20);
        assert!(data.iter().all(|&b| b == 0));
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Sparse: far fewer blocks than the length (512-byte blocks).
            let blocks = std::fs::metadata(&path).unwrap().blocks();
            assert!(blocks * 512 < 4 << 20, "{blocks} blocks");
        }
        // Used again, it is kept as it is, whatever size is asked for.
        std::fs::write(&path, vec![7u8; 1024]).unwrap();
        prepare_disk(&path, 64 << 20).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 1024]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn bad_disks_are_refused_with_the_file_named_and_nothing_changed() {
        let err = |p: &Path, size| format!("{:#}", prepare_disk(p, size).unwrap_err());
        let missing_dir = temp("no-such-folder").join("d.img");
        let e = err(&missing_dir, 1 << 20);
        assert!(e.contains("d.img") && e.contains("does not exist"), "{e}");
        assert!(!missing_dir.exists());

        let odd = temp("odd.img");
        std::fs::write(&odd, vec![1u8; 1000]).unwrap();
        let e = err(&odd, 1 << 20);
        assert!(e.contains("odd.img") && e.contains("1000 bytes"), "{e}");
        assert_eq!(std::fs::read(&odd).unwrap(), vec![1u8; 1000]);

        let fresh = temp("fresh.img");
        let _ = std::fs::remove_file(&fresh);
        let e = err(&fresh, 1000);
        assert!(
            e.contains("fresh.img") && e.contains("multiple of 512"),
            "{e}"
        );
        assert!(!fresh.exists());

        let e = err(&temp(""), 1 << 20);
        assert!(e.contains("not a regular file"), "{e}");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let ro = temp("ro.img");
            std::fs::write(&ro, vec![0u8; 512]).unwrap();
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
            let e = err(&ro, 1 << 20);
            assert!(e.contains("ro.img") && e.contains("read-only"), "{e}");
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::remove_file(&ro).unwrap();
        }
        std::fs::remove_file(&odd).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_wait_stops_when_asked_or_at_the_timeout_and_kills_the_child() {
        let sleeper = || Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        let mut child = sleeper();
        let asked = std::cell::Cell::new(0);
        let stop = || {
            asked.set(asked.get() + 1);
            asked.get() == 3
        };
        assert_eq!(
            wait_until(&mut child, Duration::from_secs(20), stop),
            Waited::Stopped
        );
        assert_eq!(asked.get(), 3);
        // Killed and reaped.
        assert!(child.try_wait().unwrap().is_some());
        let mut child = sleeper();
        assert_eq!(
            wait_until(&mut child, Duration::from_millis(100), || false),
            Waited::TimedOut
        );
        assert!(child.try_wait().unwrap().is_some());
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        assert_eq!(
            wait_until(&mut child, Duration::from_secs(20), || false),
            Waited::Exited(Some(3))
        );
    }

    #[test]
    fn sizes_parse_with_units_and_must_be_whole_sectors() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("1000").unwrap_err().contains("multiple of 512"));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12X").unwrap_err().contains("expected a size"));
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999G")
            .unwrap_err()
            .contains("too large"));
    }
}
