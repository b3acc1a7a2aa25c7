//! `cargo ostrog`: check, build and run Ostrog solutions.
//!
//! Reading `main` tells the whole tool: each subcommand is one pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Accel, Machine};
use cargo_ostrog::solution::{self, Solution};
use cargo_ostrog::{kernel, setup};

#[derive(Parser)]
#[command(
    name = "ostrog",
    bin_name = "cargo ostrog",
    version,
    about = "Build, check and run Ostrog solutions"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a solution and boot it in QEMU with the serial console on this terminal
    /// (no folder: the demonstration solution examples/demo).
    Run {
        /// Target architecture.
        #[arg(long, default_value = "x86_64")]
        arch: Arch,
        /// Accelerator (default: kvm where it can run user programs, tcg otherwise; see
        /// docs/user-space.md).
        #[arg(long)]
        accel: Option<Accel>,
        /// Extra kernel command-line options (e.g. `ostrog.ticks=10`).
        #[arg(long, default_value = "")]
        cmdline: String,
        #[command(flatten)]
        disk: DiskArgs,
        /// Give the machine a virtio-net card on QEMU user networking (guest 10.0.2.15,
        /// gateway 10.0.2.2), isolated from everything but the forwarded ports
        #[arg(long)]
        net: bool,
        /// Forward TCP port HOST of 127.0.0.1 on the host to port GUEST of the guest
        /// (repeatable; implies --net)
        #[arg(long, value_name = "HOST:GUEST")]
        forward: Vec<cargo_ostrog::qemu::Forward>,
        /// Let the guest reach TCP port HOST of 127.0.0.1 on the host as 10.0.2.100:GUEST
        /// (QEMU's guestfwd; one connection, made when QEMU starts; repeatable; implies --net)
        #[arg(long, value_name = "GUEST:HOST")]
        guest_forward: Vec<cargo_ostrog::qemu::GuestForward>,
        /// Solution directory (init.yaml, spec/, security.psl, programs).
        solution: Option<PathBuf>,
    },
    /// Build a bootable ISO image of the bare kernel for PCs (GRUB + Multiboot2; x86_64).
    Iso {
        /// Output file.
        #[arg(short, long, default_value = "ostrog.iso")]
        out: PathBuf,
        /// Kernel command line baked into the boot menu.
        #[arg(long, default_value = "")]
        cmdline: String,
    },
    /// Parse and check specification files (EDL, CDL, IDL, PSL, init.yaml) and print diagnostics.
    Check {
        /// Files or directories to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Directories searched for imported files.
        #[arg(short = 'I', long = "include")]
        include: Vec<PathBuf>,
        /// The board a solution's templates are evaluated for (`qemu-x86_64`, the default,
        /// or `qemu-aarch64`)
        #[arg(long)]
        board: Option<String>,
    },
    /// Generate Rust transport code from EDL/CDL/IDL files.
    Gen {
        /// Output directory.
        #[arg(short, long)]
        out: PathBuf,
        #[arg(short = 'I', long = "include")]
        include: Vec<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCmd,
    },
    /// Check and build a solution into a bootable kernel image
    Build {
        #[arg(long, default_value = "x86_64")]
        arch: Arch,
        /// The board to build for (`qemu-x86_64` or `qemu-aarch64`; sets the architecture);
        /// templates' `{% if BOARD == ... %}` blocks are evaluated for it
        #[arg(long)]
        board: Option<String>,
        solution: PathBuf,
    },
    /// Run a solution's PAL tests and its scenario tests (tests/*.scenario) in QEMU
    Test {
        /// `x86_64`, `aarch64` or `all`
        #[arg(long, default_value = "all")]
        arch: String,
        /// The disk of every scenario without a `disk:` line of its own (one image, used by
        /// them in turn, on every architecture)
        #[command(flatten)]
        disk: DiskArgs,
        solution: PathBuf,
    },
    /// Draw a solution: processes, channels and the methods the policy can grant on each
    /// (writes graph.dot and graph.svg)
    Graph {
        solution: PathBuf,
        /// Output folder (default: the solution folder)
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Create a new two-program solution to start from
    New {
        /// Folder to create (its last component names the solution)
        path: PathBuf,
        /// A solution with one Rust std Linux program instead (see docs/linux.md)
        #[arg(long)]
        linux: bool,
    },
}

/// A disk for the machine (docs/solutions.md, "Disks").
#[derive(clap::Args)]
struct DiskArgs {
    /// Attach this raw disk image as a virtio-blk device; created (sparse, all zero) when
    /// missing, so the disk file system formats it on first use
    #[arg(long, value_name = "FILE")]
    disk: Option<PathBuf>,
    /// Size of a disk image created by --disk: bytes, or with K, M, G (default 64M); must be
    /// a multiple of 512
    #[arg(long, value_name = "SIZE", requires = "disk", value_parser = cargo_ostrog::qemu::parse_size)]
    disk_size: Option<u64>,
}

impl DiskArgs {
    /// The disk image, created or checked; `None` without `--disk`.
    fn prepare(&self) -> Result<Option<PathBuf>> {
        let Some(path) = &self.disk else {
            return Ok(None);
        };
        let size = self
            .disk_size
            .unwrap_or(cargo_ostrog::qemu::DEFAULT_DISK_SIZE);
        let existed = path.exists();
        cargo_ostrog::qemu::prepare_disk(path, size)?;
        if !existed {
            eprintln!(
                "ostrog: created the disk image {} ({size} bytes, all zero)",
                path.display()
            );
        }
        Ok(Some(path.clone()))
    }
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Run a solution's PAL tests.
    Test { solution: PathBuf },
}

fn main() -> ExitCode {
    // Installed (`cargo install --path cargo-ostrog`), the binary `cargo-ostrog` runs as
    // `cargo ostrog ...`, and cargo passes the subcommand name `ostrog` first; the alias in
    // .cargo/config.toml (`cargo run -p cargo-ostrog --`) does not.
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "ostrog") {
        args.remove(1);
    }
    match run(Cli::parse_from(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ostrog: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Cmd::Run {
            arch,
            accel,
            cmdline,
            disk,
            net,
            forward,
            guest_forward,
            solution,
        } => {
            let disk = disk.prepare()?;
            let net = (net || !forward.is_empty() || !guest_forward.is_empty()).then_some(
                cargo_ostrog::qemu::Net {
                    forwards: forward,
                    guest_forwards: guest_forward,
                    dhcp_start: None,
                },
            );
            setup::ensure_rust_targets(&[arch])?;
            setup::ensure_qemu(&[arch])?;
            let dir = solution.unwrap_or_else(|| cargo_ostrog::source_root().join("examples/demo"));
            let solution = Solution::open(&dir)?;
            let image = cargo_ostrog::solution::build(&solution, arch)?;
            let accel = accel.unwrap_or_else(|| cargo_ostrog::solution::accel(arch));
            eprintln!(
                "ostrog: booting {} on QEMU ({arch}, {})",
                image.display(),
                accel.name()
            );
            let mut machine = Machine::new(arch, accel, &image);
            machine.cmdline = cmdline;
            machine.disk = disk;
            machine.net = net;
            // A random-number device for kl.EntropyEntity (unused by a solution without it).
            machine.rng = true;
            let ending = machine.run_interactive()?;
            eprintln!("ostrog: machine {ending}");
            Ok(u8::try_from(ending.exit_code()).unwrap_or(1))
        }
        Cmd::Iso { out, cmdline } => {
            setup::ensure_rust_targets(&[Arch::X86_64])?;
            let image = kernel::build(Arch::X86_64)?;
            let iso = cargo_ostrog::iso::build(&image, &cmdline, &out)?;
            eprintln!("ostrog: wrote {}", iso.display());
            Ok(0)
        }
        Cmd::Check {
            paths,
            include,
            board,
        } => {
            let board = match board {
                Some(name) => cargo_ostrog::sdk::board(&name).map_err(anyhow::Error::msg)?,
                None => cargo_ostrog::sdk::default_board(Arch::X86_64),
            };
            // A solution folder is checked as `build` checks it; other paths file by file.
            let (solutions, paths): (Vec<_>, Vec<_>) = paths.into_iter().partition(|p| {
                p.is_dir()
                    && ["init.yaml", "init.yaml.in", "einit/src/init.yaml.in"]
                        .iter()
                        .any(|f| p.join(f).is_file())
            });
            let mut failed = false;
            for dir in &solutions {
                match Solution::open(dir)
                    .and_then(|s| s.for_board(board))
                    .and_then(|s| solution::check(&s))
                {
                    Ok(_) => eprintln!("ostrog: {}: no errors", dir.display()),
                    Err(e) => {
                        eprintln!("ostrog: {e:#}");
                        failed = true;
                    }
                }
            }
            if paths.is_empty() {
                return Ok(u8::from(failed));
            }
            let files = collect_files(&paths)?;
            let include = search_path(include, &files);
            let (init, files): (Vec<_>, Vec<_>) = files
                .into_iter()
                .partition(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"));
            let (spec, psl): (Vec<_>, Vec<_>) = files
                .into_iter()
                .partition(|f| f.extension().is_none_or(|e| e != "psl"));
            let mut out = std::io::stderr();
            let mut errors = 0;
            // Classes declared by the EDL files checked alongside; init.yaml must name them.
            let mut classes = None;
            if !spec.is_empty() {
                let checked = ostrog_idl::load_and_check(&spec, &include);
                checked.report(&mut out)?;
                errors += checked.error_count();
                classes = Some(checked.model.classes.keys().cloned().collect());
            }
            if !psl.is_empty() {
                errors += ostrog_policy::check_cli(&psl, &include, &mut out)?;
            }
            if !init.is_empty() {
                let options = ostrog_init::Options {
                    executables: None,
                    classes,
                    include_dirs: include.clone(),
                };
                errors += ostrog_init::check_cli(&init, &options, &mut out)?;
            }
            if errors > 0 {
                eprintln!("ostrog: {errors} error(s)");
                return Ok(1);
            }
            Ok(u8::from(failed))
        }
        Cmd::Gen {
            out,
            include,
            files,
        } => {
            let include = search_path(include, &files);
            let errors = ostrog_idl::gen_cli(&files, &include, &out, &mut std::io::stderr())?;
            Ok(u8::from(errors > 0))
        }
        Cmd::Build {
            arch,
            board,
            solution,
        } => {
            let mut solution = Solution::open(&solution)?;
            let arch = match board {
                Some(name) => {
                    let board = cargo_ostrog::sdk::board(&name).map_err(anyhow::Error::msg)?;
                    solution = solution.for_board(board)?;
                    board.arch
                }
                None => arch,
            };
            setup::ensure_rust_targets(&[arch])?;
            let image = cargo_ostrog::solution::build(&solution, arch)?;
            eprintln!("ostrog: built {}", image.display());
            Ok(0)
        }
        Cmd::Test {
            arch,
            disk,
            solution,
        } => {
            let disk = disk.prepare()?;
            let arches = match arch.as_str() {
                "all" => Arch::ALL.to_vec(),
                one => vec![one.parse::<Arch>().map_err(|e| anyhow::anyhow!("{e}"))?],
            };
            setup::ensure_rust_targets(&arches)?;
            setup::ensure_qemu(&arches)?;
            let solution = Solution::open(&solution)?;
            let mut out = std::io::stdout();
            let (mut passed, mut failed) = cargo_ostrog::solution::pal_tests(&solution, &mut out)?;
            for arch in arches {
                let (p, f) = cargo_ostrog::solution::run_scenarios_with_disk(
                    &solution,
                    arch,
                    &mut out,
                    disk.as_deref(),
                )?;
                passed += p;
                failed += f;
            }
            println!("{passed} passed, {failed} failed");
            Ok(u8::from(failed > 0))
        }
        Cmd::Graph { solution, out } => {
            let solution = Solution::open(&solution)?;
            let out = out.unwrap_or_else(|| solution.dir.clone());
            let (dot, svg) = cargo_ostrog::graph::write(&solution, &out)?;
            eprintln!("ostrog: wrote {} and {}", dot.display(), svg.display());
            Ok(0)
        }
        Cmd::New { path, linux } => {
            let template = match linux {
                true => cargo_ostrog::template::Template::Linux,
                false => cargo_ostrog::template::Template::Native,
            };
            cargo_ostrog::template::create_from(&path, template)?;
            eprintln!(
                "ostrog: created {}; try `cargo ostrog run {}`",
                path.display(),
                path.display()
            );
            Ok(0)
        }
        Cmd::Policy {
            command: PolicyCmd::Test { solution },
        } => {
            let (passed, failed) = match Solution::open(&solution) {
                // A solution: checked, its templates and board blocks expanded, then tested.
                Ok(s) => cargo_ostrog::solution::pal_tests(&s, &mut std::io::stdout())?,
                // A folder of policies.
                Err(_) => ostrog_policy::pal_test_cli(&solution, &mut std::io::stdout())?,
            };
            println!("{passed} passed, {failed} failed");
            Ok(u8::from(failed > 0))
        }
    }
}

/// Expands directories into the specification files they contain (and the solution
/// description, `init.yaml`; other YAML files in a directory are not ours).
/// Where imports of `files` are searched: the user's `-I` folders first, then for each file
/// the solution folder holding it (the nearest folder above it with an `init.yaml`) and its
/// `spec/`, then the SDK's sysroot, as `build` searches them.
fn search_path(mut include: Vec<PathBuf>, files: &[PathBuf]) -> Vec<PathBuf> {
    for file in files {
        let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        let Some(dir) = file
            .ancestors()
            .skip(1)
            .find(|d| d.join("init.yaml").is_file())
        else {
            continue;
        };
        for d in [dir.join("spec"), dir.to_path_buf()] {
            if !include.contains(&d) {
                include.push(d);
            }
        }
    }
    include.push(ostrog_idl::sysroot());
    include
}

fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    const EXTENSIONS: [&str; 4] = ["edl", "cdl", "idl", "psl"];
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                if entry.is_dir() {
                    files.extend(collect_files(&[entry])?);
                } else if entry
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e))
                    || entry.file_name().is_some_and(|n| n == "init.yaml")
                {
                    files.push(entry);
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(files)
}
