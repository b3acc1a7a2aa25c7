//! The network configuration files a C library reads to resolve names: `/etc/hosts` and
//! `/etc/resolv.conf` (musl's `getaddrinfo`, and Rust `std`'s `to_socket_addrs`, which calls
//! it). A Linux program sees them with or without a file system: the personality serves them
//! read-only from memory ([`Overlay`]), the VFS is never asked for them (so a policy that
//! keeps a class to its own folders needs no rule for them). Their text is the solution's
//! ROMFS file `etc/hosts` / `etc/resolv.conf` when it ships one (`files/etc/hosts`; the
//! `romfs.Read` is judged as the program's class), else [`DEFAULT_HOSTS`] and a
//! `resolv.conf` made from the network server's configuration ([`resolv_conf`]). See
//! `docs/linux.md`, "Names".

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::errno::*;
use crate::sys::file::{vfs_flags, FileStat, VfsReply, VfsRequest};

/// The files served, by canonical path.
pub const HOSTS: &[u8] = b"/etc/hosts";
pub const RESOLV_CONF: &[u8] = b"/etc/resolv.conf";

/// `/etc/hosts` when the solution ships none: the loopback name (IPv4 only: the network
/// server has no IPv6, docs/net.md).
pub const DEFAULT_HOSTS: &[u8] = b"127.0.0.1\tlocalhost localhost.localdomain\n";

/// Most bytes of a served file (a ROMFS file above it is refused with `EFBIG`).
pub const FILE_MAX: usize = 64 * 1024;
/// Most served files open at once in a process (then `ENFILE`).
pub const OPEN_MAX: usize = 16;
/// Server file numbers of served files: `FIRST..FIRST + OPEN_MAX`, numbers the VFS servers
/// never give (they number a client's files from 0 up to a few hundred).
pub const FIRST: u32 = 0xffff_0000;

const S_IFREG: u32 = 0o100_000;

/// The network server's configuration (kl.Net `Config`), as `resolv.conf` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetConfig {
    /// IPv4 addresses in host order; 0 when unknown.
    pub addr: u32,
    pub prefix: u8,
    pub gateway: u32,
    pub dns: u32,
}

fn dotted(a: u32) -> String {
    let b = a.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// `/etc/resolv.conf` for a network configuration: its DNS server, if it has one (else no
/// `nameserver` line: musl then asks 127.0.0.1, which no one answers, and a name that is
/// not in `/etc/hosts` is not found).
pub fn resolv_conf(config: Option<NetConfig>) -> Vec<u8> {
    let mut text = String::from("# made by the Linux personality from kl.VfsNet's configuration\n");
    match config {
        Some(c) if c.dns != 0 => text.push_str(&format!("nameserver {}\n", dotted(c.dns))),
        Some(_) => text.push_str("# the network server knows no DNS server\n"),
        None => text.push_str("# no network server configuration\n"),
    }
    text.into_bytes()
}

struct Open {
    data: Vec<u8>,
    pos: u64,
    ino: u64,
}

/// The served files open in this process.
#[derive(Default)]
pub struct Overlay {
    open: Vec<Option<Open>>,
}

/// Where [`Overlay::request`] takes a served file's text.
pub trait Source {
    /// The text of `path` ([`HOSTS`] or [`RESOLV_CONF`]).
    fn text(&mut self, path: &[u8]) -> Result<Vec<u8>, i64>;
}

fn served(path: &[u8]) -> Option<u64> {
    match path {
        HOSTS => Some(1),
        RESOLV_CONF => Some(2),
        _ => None,
    }
}

fn stat_reply(size: usize, ino: u64) -> VfsReply {
    VfsReply::Stat(FileStat {
        mode: S_IFREG | 0o644,
        size: size as u64,
        // Far from the numbers the VFS servers give their nodes.
        ino: 0xffff_0000 + ino,
        nlink: 1,
        mtime_ns: 0,
    })
}

impl Overlay {
    fn get(&mut self, file: u32) -> Option<&mut Open> {
        let i = file.checked_sub(FIRST)? as usize;
        self.open.get_mut(i).and_then(Option::as_mut)
    }

    /// Whether `file` is a served file's number (open or not).
    pub fn owns(file: u32) -> bool {
        (FIRST..FIRST + OPEN_MAX as u32).contains(&file)
    }

    /// Served files open now.
    pub fn count(&self) -> usize {
        self.open.iter().flatten().count()
    }

    fn text(source: &mut dyn Source, path: &[u8]) -> Result<Vec<u8>, i64> {
        let data = source.text(path)?;
        if data.len() > FILE_MAX {
            return Err(EFBIG);
        }
        Ok(data)
    }

    /// One kl.Vfs request: served here when it names a served file, else by `lower` (the
    /// VFS server, which is never asked about the served paths).
    pub fn request(
        &mut self,
        r: VfsRequest<'_>,
        lower: &mut dyn FnMut(VfsRequest<'_>) -> Result<VfsReply, i64>,
        source: &mut dyn Source,
    ) -> Result<VfsReply, i64> {
        match r {
            VfsRequest::Open { path, flags, .. } if served(path).is_some() => {
                if flags & vfs_flags::DIRECTORY != 0 {
                    return Err(ENOTDIR);
                }
                if flags & (vfs_flags::WRITE | vfs_flags::CREATE | vfs_flags::TRUNCATE) != 0 {
                    return Err(EROFS);
                }
                if self.count() >= OPEN_MAX {
                    return Err(ENFILE);
                }
                let data = Self::text(source, path)?;
                let ino = served(path).unwrap_or(0);
                let file = Some(Open { data, pos: 0, ino });
                let slot = self.open.iter().position(Option::is_none);
                let slot = slot.unwrap_or_else(|| {
                    self.open.push(None);
                    self.open.len() - 1
                });
                self.open[slot] = file;
                Ok(VfsReply::Opened {
                    file: FIRST + slot as u32,
                    mode: S_IFREG | 0o644,
                })
            }
            VfsRequest::Stat { path } if served(path).is_some() => {
                let size = Self::text(source, path)?.len();
                Ok(stat_reply(size, served(path).unwrap_or(0)))
            }
            VfsRequest::Read { file, size } if Self::owns(file) => {
                let f = self.get(file).ok_or(EBADF)?;
                let start = (f.pos as usize).min(f.data.len());
                let end = start.saturating_add(size as usize).min(f.data.len());
                f.pos = end as u64;
                Ok(VfsReply::Data(f.data[start..end].to_vec()))
            }
            VfsRequest::PRead { file, offset, size } if Self::owns(file) => {
                let f = self.get(file).ok_or(EBADF)?;
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(f.data.len());
                let end = start.saturating_add(size as usize).min(f.data.len());
                Ok(VfsReply::Data(f.data[start..end].to_vec()))
            }
            VfsRequest::Seek {
                file,
                offset,
                whence,
            } if Self::owns(file) => {
                let f = self.get(file).ok_or(EBADF)?;
                let base = match whence {
                    0 => 0i64,
                    1 => f.pos as i64,
                    2 => f.data.len() as i64,
                    _ => return Err(EINVAL),
                };
                match base.checked_add(offset) {
                    Some(p) if p >= 0 => {
                        f.pos = p as u64;
                        Ok(VfsReply::Count(f.pos))
                    }
                    _ => Err(EINVAL),
                }
            }
            VfsRequest::FStat { file } if Self::owns(file) => {
                let f = self.get(file).ok_or(EBADF)?;
                Ok(stat_reply(f.data.len(), f.ino))
            }
            VfsRequest::Close { file } if Self::owns(file) => {
                let i = (file - FIRST) as usize;
                match self.open.get_mut(i).and_then(Option::take) {
                    Some(_) => Ok(VfsReply::Done),
                    None => Err(EBADF),
                }
            }
            VfsRequest::FSync { file } if Self::owns(file) => {
                self.get(file).ok_or(EBADF).map(|_| VfsReply::Done)
            }
            // Opened read-only: no writing, as Linux answers for such a descriptor.
            VfsRequest::Write { file, .. }
            | VfsRequest::PWrite { file, .. }
            | VfsRequest::Truncate { file, .. }
                if Self::owns(file) =>
            {
                Err(EBADF)
            }
            VfsRequest::ReadDir { file, .. } if Self::owns(file) => Err(ENOTDIR),
            // The server knows nothing of a served file: the new program does not get it
            // (musl opens these files with O_CLOEXEC and closes them at once anyway).
            VfsRequest::Grant { file, .. } if Self::owns(file) => Ok(VfsReply::Done),
            _ => lower(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    struct Texts;
    impl Source for Texts {
        fn text(&mut self, path: &[u8]) -> Result<Vec<u8>, i64> {
            match path {
                HOSTS => Ok(DEFAULT_HOSTS.to_vec()),
                _ => Ok(vec![b'x'; FILE_MAX + 1]),
            }
        }
    }

    fn no_vfs(_: VfsRequest<'_>) -> Result<VfsReply, i64> {
        Err(ENOENT)
    }

    fn open(o: &mut Overlay, path: &[u8], flags: u32) -> Result<VfsReply, i64> {
        o.request(
            VfsRequest::Open {
                path,
                flags,
                mode: 0,
            },
            &mut no_vfs,
            &mut Texts,
        )
    }

    #[test]
    fn hosts_is_served_read_only_and_bounded() {
        let mut o = Overlay::default();
        let Ok(VfsReply::Opened { file, .. }) = open(&mut o, HOSTS, vfs_flags::READ) else {
            panic!("not opened");
        };
        let r = o.request(VfsRequest::Read { file, size: 9 }, &mut no_vfs, &mut Texts);
        assert_eq!(r, Ok(VfsReply::Data(b"127.0.0.1".to_vec())));
        let r = o.request(
            VfsRequest::Read { file, size: 4096 },
            &mut no_vfs,
            &mut Texts,
        );
        assert_eq!(r, Ok(VfsReply::Data(DEFAULT_HOSTS[9..].to_vec())));
        let r = o.request(
            VfsRequest::Read { file, size: 4096 },
            &mut no_vfs,
            &mut Texts,
        );
        assert_eq!(r, Ok(VfsReply::Data(Vec::new())));
        let w = VfsRequest::Write { file, data: b"a" };
        assert_eq!(o.request(w, &mut no_vfs, &mut Texts), Err(EBADF));
        assert_eq!(open(&mut o, HOSTS, vfs_flags::WRITE), Err(EROFS));
        assert_eq!(
            open(&mut o, HOSTS, vfs_flags::READ | vfs_flags::DIRECTORY),
            Err(ENOTDIR)
        );
        // Too large a text is refused, never cut.
        assert_eq!(open(&mut o, RESOLV_CONF, vfs_flags::READ), Err(EFBIG));
        for _ in 1..OPEN_MAX {
            assert!(open(&mut o, HOSTS, vfs_flags::READ).is_ok());
        }
        assert_eq!(open(&mut o, HOSTS, vfs_flags::READ), Err(ENFILE));
        let close = VfsRequest::Close { file };
        assert_eq!(
            o.request(close.clone(), &mut no_vfs, &mut Texts),
            Ok(VfsReply::Done)
        );
        assert_eq!(o.request(close, &mut no_vfs, &mut Texts), Err(EBADF));
        assert_eq!(o.count(), OPEN_MAX - 1);
        // Another path is the VFS's.
        assert_eq!(open(&mut o, b"/etc/passwd", vfs_flags::READ), Err(ENOENT));
    }

    #[test]
    fn the_vfs_is_asked_only_about_other_files() {
        let mut o = Overlay::default();
        let mut asked = Vec::new();
        let mut vfs = |r: VfsRequest<'_>| {
            asked.push(alloc::format!("{r:?}"));
            Ok(VfsReply::Opened {
                file: 3,
                mode: S_IFREG,
            })
        };
        let hosts = VfsRequest::Open {
            path: HOSTS,
            flags: vfs_flags::READ,
            mode: 0,
        };
        let r = o.request(hosts, &mut vfs, &mut Texts);
        assert_eq!(
            r,
            Ok(VfsReply::Opened {
                file: FIRST,
                mode: S_IFREG | 0o644
            })
        );
        let stat = o.request(VfsRequest::Stat { path: HOSTS }, &mut vfs, &mut Texts);
        assert_eq!(stat, Ok(stat_reply(DEFAULT_HOSTS.len(), 1)));
        let other = VfsRequest::Open {
            path: b"/etc/passwd",
            flags: vfs_flags::READ,
            mode: 0,
        };
        assert_eq!(
            o.request(other, &mut vfs, &mut Texts),
            Ok(VfsReply::Opened {
                file: 3,
                mode: S_IFREG
            })
        );
        assert_eq!(asked.len(), 1);
        assert_eq!(o.count(), 1);
    }

    #[test]
    fn resolv_conf_names_the_dns_server() {
        let c = NetConfig {
            addr: 0x0a00_020f,
            prefix: 24,
            gateway: 0x0a00_0202,
            dns: 0x0a00_0203,
        };
        let text = resolv_conf(Some(c));
        assert!(text.ends_with(b"nameserver 10.0.2.3\n"));
        let none = resolv_conf(Some(NetConfig { dns: 0, ..c }));
        assert!(!none.windows(10).any(|w| w == b"nameserver"));
    }
}
