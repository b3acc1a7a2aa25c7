//! LogrrServer: the log server of class `logrr.Server`. It serves logrr.Log on its endpoint
//! `log`: each record is shown on the console as `[log] LEVEL CLASS(SID): text`, the
//! identity taken from the kernel's stamp on the message, and appended to a rotated file when
//! the server has a channel `vfs`. With `--audit` it also takes the kernel's audit log in
//! place of Klog (KasperskyOS's KlogStorage): `[audit]` lines on the console, and a rotated
//! audit file. See docs/services.md, "Logging".

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod server {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    use logrr::{check_record, record_lines, Config, Identities, Quotas, RotatingFile, Store};
    use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
    use ostrog_abi::{handle, Status};
    use ostrog_rt::idl::spec_rt::CallError;
    use ostrog_rt::println;
    use ostrog_rt::sys::{self as rt, call_status, Channel};

    use crate::idl::kl_vfs::VfsProxy;
    use crate::idl::logrr_log::{
        LogError, LogRequest, LogResponse, LogServer, LossesError, LossesRequest, LossesResponse,
        DROPPED, INVALID_ARGUMENT,
    };
    use crate::idl::logrr_server::{dispatch, ServerEndpoints};

    ostrog_rt::main!(main);

    /// A file of the VFS server the channel `vfs` leads to.
    struct VfsStore {
        vfs: VfsProxy<Channel>,
        file: Option<u32>,
    }

    fn errno<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> i32 {
        match e {
            CallError::Remote(e) => status(&e),
            // The policy's refusal (audited) or a transport failure.
            CallError::Transport(_) => 13,
            _ => 5,
        }
    }

    impl Store for VfsStore {
        fn open_append(&mut self, path: &str) -> Result<u64, i32> {
            // Write, create, append.
            let r = self
                .vfs
                .open(path.into(), 2 | 4 | 32, 0o640)
                .map_err(|e| errno(e, |e| e.status))?;
            self.file = Some(r.file);
            let size = self
                .vfs
                .f_stat(r.file)
                .map_err(|e| errno(e, |e| e.status))?
                .size;
            Ok(size)
        }

        fn append(&mut self, mut data: &[u8]) -> Result<(), i32> {
            let file = self.file.ok_or(9)?;
            while !data.is_empty() {
                let piece = data.get(..data.len().min(16384)).unwrap_or(data);
                let n = self
                    .vfs
                    .write(file, piece.to_vec())
                    .map_err(|e| errno(e, |e| e.status))?
                    .written as usize;
                if n == 0 {
                    return Err(28);
                }
                data = data.get(n..).unwrap_or(&[]);
            }
            Ok(())
        }

        fn close(&mut self) {
            if let Some(file) = self.file.take() {
                let _ = self.vfs.close(file);
            }
        }

        fn rename(&mut self, from: &str, to: &str) -> Result<(), i32> {
            self.vfs
                .rename(from.into(), to.into())
                .map(|_| ())
                .map_err(|e| errno(e, |e| e.status))
        }
    }

    /// A rotated file and its store; `None` after a write failed (said once on the console).
    struct Output {
        file: RotatingFile,
        store: VfsStore,
        failed: bool,
    }

    impl Output {
        fn write_line(&mut self, line: &str) {
            if self.failed {
                return;
            }
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            if let Err(e) = self.file.append(&mut self.store, &bytes) {
                self.failed = true;
                println!(
                    "logrr: cannot write {}: errno {e}; its records go to the console only",
                    self.file.path()
                );
            }
        }
    }

    struct Server {
        config: Config,
        ids: Identities,
        quotas: Quotas,
        log: Option<Output>,
        audit: Option<Output>,
        /// The sender of the request being served (the kernel's stamp).
        sender: (u64, u32),
        shown: u64,
        filtered: u64,
        refused: u64,
        audit_records: u64,
    }

    fn now() -> u64 {
        rt::now_ns().unwrap_or(0)
    }

    fn alive(sid: u64) -> bool {
        // If the kernel does not say, keep the client (its quota stays its own).
        rt::tasks().alive(sid).map_or(true, |r| r.live != 0)
    }

    impl Server {
        /// A line of the server's own (a loss report): console and log file.
        fn say(&mut self, line: &str) {
            println!("{line}");
            if let Some(out) = &mut self.log {
                out.write_line(line);
            }
        }

        fn report_losses(&mut self) {
            for line in self.quotas.take_reports() {
                self.say(&line);
            }
        }

        /// Takes what the kernel's audit log holds: `[audit]` lines on the console and in the
        /// audit file. Whether there was anything.
        fn drain_audit(&mut self) -> bool {
            let batch = match rt::audit().read() {
                Ok(b) => b,
                Err(e) => {
                    println!(
                        "logrr: cannot read the audit log: {}",
                        call_status(e).name()
                    );
                    self.config.audit = false;
                    return false;
                }
            };
            if batch.dropped > 0 {
                let line = format!(
                    "[audit] ({} records lost: the log was full; the lines below name whose)",
                    batch.dropped
                );
                println!("{line}");
                if let Some(out) = &mut self.audit {
                    out.write_line(&line);
                }
            }
            for line in batch
                .records
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
            {
                let line = format!(
                    "[audit] {}",
                    core::str::from_utf8(line).unwrap_or("(not UTF-8)")
                );
                println!("{line}");
                self.audit_records += 1;
                if let Some(out) = &mut self.audit {
                    out.write_line(&line);
                }
            }
            !batch.records.is_empty()
        }
    }

    impl LogServer for Server {
        fn log(&mut self, r: LogRequest) -> Result<LogResponse, LogError> {
            let Ok((level, text)) = check_record(r.level, &r.text) else {
                self.refused += 1;
                return Err(LogError {
                    status: INVALID_ARGUMENT,
                });
            };
            if level > self.config.level {
                self.filtered += 1;
                return Ok(LogResponse {});
            }
            let (sid, class) = self.sender;
            let who = self.ids.name(sid, class);
            let admission = self.quotas.admit(sid, &who, now(), alive);
            for line in admission.reports {
                self.say(&line);
            }
            if !admission.accepted {
                return Err(LogError { status: DROPPED });
            }
            self.shown += 1;
            for line in record_lines(level, &who, text) {
                println!("{line}");
                if let Some(out) = &mut self.log {
                    out.write_line(&line);
                }
            }
            Ok(LogResponse {})
        }

        fn losses(&mut self, _: LossesRequest) -> Result<LossesResponse, LossesError> {
            let (mine, all) = self.quotas.losses(self.sender.0);
            Ok(LossesResponse { mine, all })
        }
    }

    impl ServerEndpoints for Server {
        fn log(&mut self) -> &mut dyn LogServer {
            self
        }
    }

    /// The NUL-separated strings of `bytes`.
    fn strings(bytes: &[u8]) -> impl Iterator<Item = &str> {
        bytes
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .filter_map(|s| core::str::from_utf8(s).ok())
    }

    fn output(vfs: Option<u32>, path: &str, config: &Config) -> Option<Output> {
        let mut store = VfsStore {
            vfs: VfsProxy {
                transport: Channel { handle: vfs? },
                riid: crate::idl::kl_vfs_ram_fs::riid::VFS,
            },
            file: None,
        };
        // The folder of the file (an error such as Exists is the open's to report).
        if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
            let _ = store.vfs.mk_dir(dir.into(), 0o750);
        }
        Some(Output {
            file: RotatingFile::new(path, config.rotate_size, config.rotate_files),
            store,
            failed: false,
        })
    }

    fn main() -> i32 {
        let (args, env) = match rt::tasks().args() {
            Ok(r) => (r.args, r.env),
            Err(e) => {
                println!("logrr: cannot read its arguments: {e:?}");
                return 1;
            }
        };
        let config = match Config::parse(strings(&args)) {
            Ok(c) => c,
            Err(e) => {
                println!("logrr: {e}");
                return 1;
            }
        };
        let ids = strings(&env)
            .filter_map(|kv| kv.strip_prefix(logrr::IDENTITIES_ENV)?.strip_prefix('='))
            .last()
            .map(Identities::parse)
            .unwrap_or_default();
        let vfs = Channel::lookup("vfs").ok().map(|c| c.handle);
        let mut server = Server {
            log: output(vfs, &config.file, &config),
            audit: if config.audit {
                output(vfs, &config.audit_file, &config)
            } else {
                None
            },
            quotas: Quotas::new(config.clients, config.burst, config.rate),
            config,
            ids,
            sender: (0, 0),
            shown: 0,
            filtered: 0,
            refused: 0,
            audit_records: 0,
        };
        println!(
            "logrr: serving (level {}, {} programs named by Einit{}{})",
            server.config.level.name(),
            server.ids.known(),
            if vfs.is_some() {
                format!(", file {}", server.config.file)
            } else {
                String::new()
            },
            if server.config.audit {
                ", audit storage"
            } else {
                ""
            }
        );

        let mut buffer = alloc::vec![0u8; ostrog_rt::server::MAX_REQUEST];
        let mut last_audit = 0u64;
        let status = loop {
            // Idle pauses: report losses and read the audit log now and then.
            let timeout = if server.config.audit { 20 } else { 100 };
            match rt::recv(handle::ANY, &mut buffer, timeout) {
                Ok((len, _)) => {
                    let request = buffer.get(..len).unwrap_or(&[]);
                    let header = Header::read(request).unwrap_or_default();
                    server.sender = (header.src_sid, header.src_class);
                    let answer = dispatch(&mut server, request).unwrap_or_else(|_| {
                        let mut empty = alloc::vec![0u8; HEADER_SIZE];
                        Header {
                            riid: header.riid,
                            mid: header.mid,
                            flags: FLAG_ERROR,
                            ..Header::default()
                        }
                        .write(&mut empty);
                        empty
                    });
                    if let Err(e) = rt::reply(handle::ANY, &answer) {
                        println!("logrr: reply failed: {}", e.name());
                    }
                }
                Err(Status::TimedOut) => server.report_losses(),
                Err(Status::Disconnected) => break 0,
                Err(e) => {
                    println!("logrr: {}", e.name());
                    break 1;
                }
            }
            if server.config.audit && now().saturating_sub(last_audit) >= 20_000_000 {
                server.drain_audit();
                last_audit = now();
            }
        };
        server.report_losses();
        // No client can reach the server any more. As the audit reader, it goes on until the
        // log is empty and nothing else runs but the VFS server it writes to.
        let others = 1 + u32::from(vfs.is_some());
        while server.config.audit {
            if server.drain_audit() {
                continue;
            }
            match rt::tasks().count() {
                Ok(c) if c.live <= others => break,
                Ok(_) => {}
                Err(_) => break,
            }
            let _ = rt::sleep_ms(10);
        }
        let (_, dropped) = server.quotas.losses(0);
        println!(
            "logrr: {} records shown, {} dropped, {} filtered, {} refused{}",
            server.shown,
            dropped,
            server.filtered,
            server.refused,
            match &server.log {
                Some(o) => format!(
                    "; {} {} bytes, {} rotations",
                    o.file.path(),
                    o.file.bytes,
                    o.file.rotations
                ),
                None => String::new(),
            }
        );
        if let Some(o) = &server.audit {
            println!(
                "logrr: {} audit records stored in {} ({} bytes, {} rotations)",
                server.audit_records,
                o.file.path(),
                o.file.bytes,
                o.file.rotations
            );
        }
        if let Some(o) = &mut server.log {
            o.store.close();
        }
        if let Some(o) = &mut server.audit {
            o.store.close();
        }
        status
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("LogrrServer runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
