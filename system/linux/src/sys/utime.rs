//! `utimensat`: what `touch` needs of a file's times.
//!
//! The VFS server keeps a file's modification time and sets it itself when the file is
//! written; its interface has no request that sets a time. So `utimensat` checks what Linux
//! checks (the arguments, that the file exists, a read-only `/rom`) and succeeds for "now"
//! (no times, or `UTIME_NOW`/`UTIME_OMIT`) without changing the recorded time; explicit
//! times are `ENOSYS`, reported (docs/linux.md, "Gaps").

use super::file::VfsRequest;
use super::{err, ok, Kernel, Outcome, State};
use crate::errno::*;

const AT_FDCWD: i64 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const UTIME_NOW: u64 = (1 << 30) - 1;
const UTIME_OMIT: u64 = (1 << 30) - 2;

impl State {
    /// `utimensat(dirfd, path, times, flags)`.
    pub(super) fn sys_utimensat<K: Kernel>(
        &mut self,
        k: &mut K,
        nr: u64,
        dirfd: i64,
        path: u64,
        times: u64,
        flags: u64,
    ) -> Outcome {
        if flags & !AT_SYMLINK_NOFOLLOW != 0 {
            return err(EINVAL);
        }
        if times != 0 {
            let mut explicit = false;
            for i in 0..2 {
                let nsec = match self.read_u64(k, times.wrapping_add(16 * i + 8)) {
                    Ok(n) => n,
                    Err(e) => return err(e),
                };
                match nsec {
                    UTIME_NOW | UTIME_OMIT => {}
                    n if n < 1_000_000_000 => explicit = true,
                    _ => return err(EINVAL),
                }
            }
            if explicit {
                self.report(k, nr, "with explicit times: not supported (ENOSYS)");
                return err(ENOSYS);
            }
        }
        // No path: the open file `dirfd` itself (`futimens`).
        let path = match path {
            0 if dirfd == AT_FDCWD => return err(EFAULT),
            0 => match self.files.get(dirfd as u32 as u64) {
                Some(f) => f.path.clone(),
                None => return err(EBADF),
            },
            at => match self.path_at(k, dirfd, at) {
                Ok(p) => p,
                Err(e) => return err(e),
            },
        };
        if let Err(e) = k.vfs(VfsRequest::Stat { path: &path }) {
            return err(e);
        }
        if path == b"/rom" || path.starts_with(b"/rom/") {
            return err(EROFS);
        }
        ok(0)
    }
}
