//! The kl.drivers.Block server: the generated dispatcher over the device, for one client.
//!
//! Every request is checked before the device sees it: a sector range past the end of the
//! device (or overflowing), a count of 0 or more than `DATA_MAX` bytes, data that is empty,
//! not whole sectors or more than `DATA_MAX` bytes are `INVALID`; writes to a read-only
//! device are `READ_ONLY`; a request the device fails is `IO_ERROR`. The first client to make a
//! request is the only one served; any other gets `EBUSY`.

use alloc::vec;

use ostrog_rt::println;
use virtio_drivers::device::blk::{BlkReq, BlkResp};

use crate::device::{self, Blk};
use crate::irq::Completion;
use virtio_support::hal;

use crate::idl;
use idl::kl_drivers_block::*;

/// Another client than the one served (Linux `EBUSY`).
const BUSY: i32 = 16;
const SECTOR: usize = SECTOR_SIZE as usize;
const MAX_BYTES: usize = DATA_MAX as usize;
/// Bytes of the HAL's bounce buffer: one request's data (at most `DATA_MAX`) and its small
/// header and status, with room to spare (one request is in flight at a time).
const BOUNCE: usize = 32 * 1024;
const _: () = assert!(MAX_BYTES + 1024 <= BOUNCE);

struct Server {
    blk: Blk,
    /// How a submitted request is waited for (interrupt or polling).
    completion: Completion,
    sectors: u64,
    readonly: bool,
    /// The SID of the one client served (0: none yet).
    client: u64,
    /// The SID of the sender of the request being served.
    sid: u64,
}

impl Server {
    /// Serves only the first client that makes a request.
    fn claim(&mut self) -> Result<(), i32> {
        if self.client == 0 {
            self.client = self.sid;
        }
        if self.sid == self.client {
            Ok(())
        } else {
            Err(BUSY)
        }
    }

    /// Checks the sender and the range of `count` sectors from `sector`; the first sector
    /// as the library's block number.
    fn check(&mut self, sector: u64, count: u64) -> Result<usize, i32> {
        self.claim()?;
        if count == 0 || count > (MAX_BYTES / SECTOR) as u64 {
            return Err(INVALID);
        }
        match sector.checked_add(count) {
            Some(end) if end <= self.sectors => usize::try_from(sector).map_err(|_| INVALID),
            _ => Err(INVALID),
        }
    }
}

impl BlockServer for Server {
    fn info(&mut self, _r: InfoRequest) -> Result<InfoResponse, InfoError> {
        self.claim().map_err(|status| InfoError { status })?;
        Ok(InfoResponse {
            sectors: self.sectors,
            readonly: u32::from(self.readonly),
        })
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        let block = self
            .check(r.sector, u64::from(r.count))
            .map_err(|status| ReadError { status })?;
        let mut data = vec![0u8; r.count as usize * SECTOR];
        let (mut req, mut resp) = (BlkReq::default(), BlkResp::default());
        let io_error = |_| ReadError { status: IO_ERROR };
        // SAFETY: `req`, `data` and `resp` are not touched until `complete_read_blocks`
        // below, after the device has returned the request (the wait in between).
        let token = unsafe {
            self.blk
                .read_blocks_nb(block, &mut req, &mut data, &mut resp)
        }
        .map_err(io_error)?;
        self.completion.wait(&mut self.blk);
        // SAFETY: the same buffers as given to `read_blocks_nb` for `token`.
        unsafe {
            self.blk
                .complete_read_blocks(token, &req, &mut data, &mut resp)
        }
        .map_err(io_error)?;
        Ok(ReadResponse { data })
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        let fail = |status| WriteError { status };
        if r.data.is_empty() || !r.data.len().is_multiple_of(SECTOR) || r.data.len() > MAX_BYTES {
            return Err(fail(INVALID));
        }
        let block = self
            .check(r.sector, (r.data.len() / SECTOR) as u64)
            .map_err(fail)?;
        if self.readonly {
            return Err(fail(READ_ONLY));
        }
        let (mut req, mut resp) = (BlkReq::default(), BlkResp::default());
        // SAFETY: `req`, `r.data` and `resp` are not touched until `complete_write_blocks`
        // below, after the device has returned the request (the wait in between).
        let token = unsafe {
            self.blk
                .write_blocks_nb(block, &mut req, &r.data, &mut resp)
        }
        .map_err(|_| fail(IO_ERROR))?;
        self.completion.wait(&mut self.blk);
        // SAFETY: the same buffers as given to `write_blocks_nb` for `token`.
        unsafe {
            self.blk
                .complete_write_blocks(token, &req, &r.data, &mut resp)
        }
        .map_err(|_| fail(IO_ERROR))?;
        Ok(WriteResponse {})
    }

    fn flush(&mut self, _r: FlushRequest) -> Result<FlushResponse, FlushError> {
        self.claim().map_err(|status| FlushError { status })?;
        self.blk
            .flush()
            .map_err(|_| FlushError { status: IO_ERROR })?;
        Ok(FlushResponse {})
    }
}

impl idl::kl_drivers_virtio_blk::VirtioBlkEndpoints for Server {
    fn blk(&mut self) -> &mut dyn BlockServer {
        self
    }
}

pub fn main() -> i32 {
    hal::init("VirtioBlk");
    if let Err(e) = hal::init_bounce(BOUNCE) {
        println!("VirtioBlk: no DMA memory: {}", e.name());
        return 1;
    }
    let (mut blk, place) = match device::open() {
        Ok(found) => found,
        Err(why) => {
            println!("VirtioBlk: {why}");
            return 1;
        }
    };
    let completion = Completion::new(place, &mut blk);
    let mut server = Server {
        sectors: blk.capacity(),
        readonly: blk.readonly(),
        blk,
        completion,
        client: 0,
        sid: 0,
    };
    println!(
        "VirtioBlk: {} sectors{}",
        server.sectors,
        if server.readonly { ", read-only" } else { "" }
    );
    let status = ostrog_rt::server::serve("VirtioBlk", |header, request| {
        server.sid = header.src_sid;
        idl::kl_drivers_virtio_blk::dispatch(&mut server, request)
    });
    server.completion.report();
    status
}
