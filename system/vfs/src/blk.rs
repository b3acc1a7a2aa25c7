//! VfsSdCardFs's disk: the block driver behind the channel `blk` (kl.drivers.Block).

use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys::Channel;
use vfs::disk::{BlockDevice, SECTOR};
use vfs::errno::EIO;
use vfs::fs::R;

use crate::idl::kl_drivers_block::BlockProxy;

/// The endpoint `blk` is the first (and only) endpoint of a block driver's class
/// (kl.drivers.VirtioBlk, or a test disk): its interface number.
const BLK_RIID: u32 = 0;

/// A disk through the channel `blk` (kl.drivers.Block).
pub struct Blk {
    proxy: BlockProxy<Channel>,
}

/// A failed call to the driver as an errno: its own, or EIO (refused, not answered).
fn blk_errno<E>(e: CallError<E>, status: impl Fn(E) -> i32) -> i32 {
    match e {
        CallError::Remote(e) => status(e),
        _ => EIO,
    }
}

impl Blk {
    pub fn new(transport: Channel) -> Blk {
        Blk {
            proxy: BlockProxy {
                transport,
                riid: BLK_RIID,
            },
        }
    }

    /// The device's size in sectors, and whether it is read-only.
    pub fn info(&mut self) -> R<(u64, bool)> {
        self.proxy
            .info()
            .map(|r| (r.sectors, r.readonly != 0))
            .map_err(|e| blk_errno(e, |e| e.status))
    }
}

impl BlockDevice for Blk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> R<()> {
        let count = (buf.len() / SECTOR) as u32;
        let r = self
            .proxy
            .read(sector, count)
            .map_err(|e| blk_errno(e, |e| e.status))?;
        if r.data.len() != buf.len() {
            return Err(EIO);
        }
        buf.copy_from_slice(&r.data);
        Ok(())
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> R<()> {
        self.proxy
            .write(sector, data.to_vec())
            .map(|_| ())
            .map_err(|e| blk_errno(e, |e| e.status))
    }

    fn flush(&mut self) -> R<()> {
        self.proxy
            .flush()
            .map(|_| ())
            .map_err(|e| blk_errno(e, |e| e.status))
    }
}
