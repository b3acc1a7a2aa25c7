//! File attributes: `umask`, `chmod`/`fchmod`/`fchmodat`, `chown`/`fchown`/`lchown`/
//! `fchownat`, `utimensat` (and `futimens`, its form without a path). See
//! `docs/linux.md`, "Files".
//!
//! The VFS server keeps no owners and no permission bits beyond those a file was created
//! with, and sets a file's modification time itself (on writes): these calls check what
//! Linux checks (the file exists, the descriptor is open, the arguments are valid) and then
//! change nothing. A process is root (uid and gid 0, `getuid`), and every file is root's:
//! `chown` to root (or -1, "unchanged") succeeds without a change, to another owner is
//! `EPERM` (there is nobody else to own it). Under `/rom` the changes are `EROFS`.

use super::file::{stat_of, VfsRequest};
use super::{err, ok, Kernel, Outcome, State};
use crate::errno::*;
use crate::nr::Sys;

const AT_FDCWD: i64 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_EMPTY_PATH: u64 = 0x1000;
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

impl State {
    /// The calls of this module; `None` when the call is not one.
    pub(super) fn attr_call<K: Kernel>(
        &mut self,
        k: &mut K,
        sys: Sys,
        a: [u64; 6],
    ) -> Option<Outcome> {
        let dirfd = a[0] as i32 as i64;
        Some(match sys {
            Sys::Umask => {
                let old = self.files.umask;
                self.files.umask = a[0] as u32 & 0o777;
                ok(i64::from(old))
            }
            Sys::Chmod => self.change(k, AT_FDCWD, a[0], 0, Change::Mode),
            Sys::Fchmod => self.change(k, dirfd, 0, AT_EMPTY_PATH, Change::Mode),
            // Linux's fchmodat takes no flags (a fourth argument is not read).
            Sys::Fchmodat => self.change(k, dirfd, a[1], 0, Change::Mode),
            Sys::Chown | Sys::Lchown => {
                self.change(k, AT_FDCWD, a[0], 0, Change::Owner(a[1], a[2]))
            }
            Sys::Fchown => self.change(k, dirfd, 0, AT_EMPTY_PATH, Change::Owner(a[1], a[2])),
            Sys::Fchownat => match a[4] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) {
                0 => self.change(k, dirfd, a[1], a[4], Change::Owner(a[2], a[3])),
                _ => err(EINVAL),
            },
            Sys::Utimensat => {
                if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
                    return Some(err(EINVAL));
                }
                if let Err(e) = self.check_times(k, a[2]) {
                    return Some(err(e));
                }
                // No path: the descriptor itself (futimens).
                match a[1] {
                    0 => self.change(k, dirfd, 0, AT_EMPTY_PATH, Change::Times),
                    at => self.change(k, dirfd, at, a[3], Change::Times),
                }
            }
            _ => return None,
        })
    }

    /// `utimensat`'s two timespecs, if given: each nanosecond field below 10^9 or one of
    /// `UTIME_NOW`, `UTIME_OMIT`.
    fn check_times<K: Kernel>(&self, k: &mut K, at: u64) -> Result<(), i64> {
        if at == 0 {
            return Ok(());
        }
        for i in 0..2 {
            let sec = self.read_u64(k, at + 16 * i)? as i64;
            let nsec = self.read_u64(k, at + 16 * i + 8)? as i64;
            let special = nsec == UTIME_NOW || nsec == UTIME_OMIT;
            if !special && (!(0..1_000_000_000).contains(&nsec) || sec < 0) {
                return Err(EINVAL);
            }
        }
        Ok(())
    }

    /// Checks that the file (`at` relative to `dirfd`, or the descriptor `dirfd` itself
    /// with `AT_EMPTY_PATH` and no path) exists, then the change (see the module's text).
    fn change<K: Kernel>(
        &mut self,
        k: &mut K,
        dirfd: i64,
        at: u64,
        flags: u64,
        change: Change,
    ) -> Outcome {
        let empty = flags & AT_EMPTY_PATH != 0
            && (at == 0 || matches!(self.read_cstr(k, at, 0), Ok(p) if p.is_empty()));
        let rom = if empty {
            let fd = dirfd as u32 as u64;
            match self.files.get(fd) {
                Some(f) => f.path == b"/rom" || f.path.starts_with(b"/rom/"),
                // A pipe or the console: Linux changes its inode; nothing is kept here.
                None if self.fd_open(fd) => false,
                None => return err(EBADF),
            }
        } else {
            let path = match self.path_at(k, dirfd, at) {
                Ok(p) => p,
                Err(e) => return err(e),
            };
            if let Err(e) = stat_of(k.vfs(VfsRequest::Stat { path: &path })) {
                return err(e);
            }
            path == b"/rom" || path.starts_with(b"/rom/")
        };
        match change {
            Change::Owner(uid, gid) => {
                let root_or_same = |id: u64| id as u32 == 0 || id as u32 == u32::MAX;
                if !root_or_same(uid) || !root_or_same(gid) {
                    return err(EPERM);
                }
            }
            Change::Mode | Change::Times => {}
        }
        match rom {
            true => err(EROFS),
            false => ok(0),
        }
    }
}

/// What a call would change.
#[derive(Clone, Copy)]
enum Change {
    Mode,
    Owner(u64, u64),
    Times,
}
