//! The virtio-net card as a `smoltcp` device.
//!
//! The card gets [`RX_BUFFERS`] receive buffers and [`TX_BUFFERS`] transmit buffers of
//! [`FRAME`] bytes, all in one DMA allocation made at start, so the HAL never copies (see
//! `virtio_support::hal`). A received frame is copied out of its buffer into the token smoltcp
//! consumes and the buffer goes straight back to the card; a frame to send is written into a
//! free transmit buffer, whose completion is collected later. With every transmit buffer in
//! flight the device says it cannot transmit, and smoltcp tries again on its next poll.
//!
//! Nothing here waits for the card: the server polls it, from its loop and from the thread
//! that waits on the card's interrupt (see [`crate::server`], [`crate::irq`]).
//!
//! **Loopback.** A frame the stack sends to its own hardware address (traffic to its own
//! IPv4 address or to 127.0.0.0/8, which the interface also holds) never reaches the card:
//! it is kept ([`LOOPED_MAX`] frames at most, then dropped and counted) and handed back to
//! the stack as received. A broadcast ARP frame goes to the card and is also kept, so the
//! stack answers its own question for its own addresses and learns its own hardware
//! address. Frames from the card that claim a 127.0.0.0/8 address (IPv4 source or
//! destination, ARP sender) are dropped, as Linux drops such "martians": the wire cannot
//! reach or pose as the loopback addresses.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::SomeTransport;

use crate::malformed::Malformed;
use virtio_support::hal::{self, OstrogHal};
use virtio_support::{Kind, Place};

/// Descriptors of each virtqueue.
const QUEUE: usize = 16;
/// Bytes of one frame buffer: the virtio-net header and an Ethernet frame of 1514 bytes.
const FRAME: usize = 2048;
const RX_BUFFERS: usize = QUEUE;
const TX_BUFFERS: usize = 8;
/// The largest Ethernet frame (without its checksum) the stack makes or takes.
const MTU: usize = 1514;
/// Most frames sent to the stack itself waiting to be taken.
const LOOPED_MAX: usize = 32;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const BROADCAST: [u8; 6] = [0xff; 6];
/// The first byte of the loopback network 127.0.0.0/8.
const LOOPBACK_NET: u8 = 127;

type Raw = VirtIONetRaw<OstrogHal, SomeTransport<'static>, QUEUE>;

/// The card and its buffers.
pub struct Nic {
    raw: Raw,
    /// Address of the DMA memory holding every buffer (receive buffers first).
    base: usize,
    /// Receive buffers given to the card: (token, buffer index).
    rx_posted: Vec<(u16, usize)>,
    /// Transmit buffers in flight: (token, buffer index).
    tx_flight: Vec<(u16, usize)>,
    /// Transmit buffers free to fill.
    tx_free: Vec<usize>,
    /// Frames received and sent, frames dropped (too long, or the card failed).
    pub received: u64,
    pub sent: u64,
    pub dropped: u64,
    /// The test mode's made-up frames, handed out before the card's
    /// ([`crate::malformed`]).
    malformed: Option<Malformed>,
    /// The card's hardware address.
    mac: [u8; 6],
    /// Frames the stack sent to itself, to be taken as received (loopback).
    looped: VecDeque<Vec<u8>>,
    /// Frames sent to the stack itself, frames from the card dropped as martians.
    pub looped_count: u64,
    pub martians: u64,
}

/// Whether a frame from the wire claims a loopback address (IPv4 source or destination,
/// ARP sender): such a frame is dropped.
fn martian(frame: &[u8]) -> bool {
    match frame.get(12..14) {
        Some(t) if t == ETHERTYPE_IPV4 => {
            frame.get(26) == Some(&LOOPBACK_NET) || frame.get(30) == Some(&LOOPBACK_NET)
        }
        Some(t) if t == ETHERTYPE_ARP => frame.get(28) == Some(&LOOPBACK_NET),
        _ => false,
    }
}

// SAFETY: the card's registers and the DMA memory of its queues and buffers are mapped in
// the whole process, not tied to the thread that set them up; the `Nic` lives in the
// server's lock (`crate::server::Shared`), so one thread at a time reaches it.
unsafe impl Send for Nic {}

impl Nic {
    /// Hands the stack `malformed` made-up frames before any from the card (test mode).
    pub fn inject(&mut self, malformed: Malformed) {
        self.malformed = Some(malformed);
    }

    /// Once every made-up frame was handed out: how many (said once).
    pub fn injected(&mut self) -> Option<u32> {
        if self.malformed.as_ref().is_some_and(Malformed::done) {
            return self.malformed.take().map(|m| m.made());
        }
        None
    }

    /// Acknowledges the card's interrupt (virtio-pci: lowers its INTx line).
    pub fn ack_interrupt(&mut self) {
        let _ = self.raw.ack_interrupt();
    }

    /// Sets the card up and gives it every receive buffer; where the card sits (for its
    /// interrupt line).
    pub fn open() -> Result<(Nic, Place), String> {
        let (transport, place) =
            virtio_support::find(Kind::Network).map_err(|why| why.to_string())?;
        let raw = Raw::new(transport)
            .map_err(|_| String::from("the virtio network card did not initialise"))?;
        let base = hal::alloc_region(FRAME * (RX_BUFFERS + TX_BUFFERS))
            .map_err(|_| String::from("no DMA memory for the frame buffers"))?;
        let mac = raw.mac_address();
        let mut nic = Nic {
            raw,
            mac,
            looped: VecDeque::new(),
            looped_count: 0,
            martians: 0,
            base,
            rx_posted: Vec::with_capacity(RX_BUFFERS),
            tx_flight: Vec::with_capacity(TX_BUFFERS),
            tx_free: (RX_BUFFERS..RX_BUFFERS + TX_BUFFERS).collect(),
            received: 0,
            sent: 0,
            dropped: 0,
            malformed: None,
        };
        for i in 0..RX_BUFFERS {
            nic.post(i).map_err(String::from)?;
        }
        Ok((nic, place))
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Buffer `i`.
    fn buffer(&mut self, i: usize) -> &'static mut [u8] {
        // SAFETY: buffer `i` (below RX_BUFFERS + TX_BUFFERS) is FRAME bytes of the DMA
        // allocation made in `open`, mapped writable for the program's life; buffers do not
        // overlap, and each is handed out by one owner at a time (posted to the card, being
        // filled, or being read), so no two live slices alias.
        unsafe { core::slice::from_raw_parts_mut((self.base + i * FRAME) as *mut u8, FRAME) }
    }

    /// Gives receive buffer `i` to the card.
    fn post(&mut self, i: usize) -> Result<(), &'static str> {
        let buf = self.buffer(i);
        // SAFETY: the buffer is not touched again until the card gives it back through
        // `poll_receive` and `receive_complete` (see `take_frame`).
        let token =
            unsafe { self.raw.receive_begin(buf) }.map_err(|_| "the card refused a buffer")?;
        self.rx_posted.push((token, i));
        Ok(())
    }

    /// Collects the transmit buffers the card is done with.
    fn reap(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some(at) = self.tx_flight.iter().position(|&(t, _)| t == token) else {
                break;
            };
            let (_, i) = self.tx_flight.swap_remove(at);
            let buf = self.buffer(i);
            // SAFETY: `buf` is the buffer given to `transmit_begin` with this token.
            let _ = unsafe { self.raw.transmit_complete(token, buf) };
            self.tx_free.push(i);
        }
    }

    /// The next received frame, copied out; its buffer goes back to the card.
    fn take_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            let token = self.raw.poll_receive()?;
            let at = self.rx_posted.iter().position(|&(t, _)| t == token)?;
            let (_, i) = self.rx_posted.swap_remove(at);
            let buf = self.buffer(i);
            // SAFETY: `buf` is the buffer given to `receive_begin` with this token.
            let frame = match unsafe { self.raw.receive_complete(token, buf) } {
                Ok((header, len)) if len <= MTU => buf.get(header..header + len).map(Vec::from),
                _ => None,
            };
            if self.post(i).is_err() {
                self.dropped += 1;
            }
            match frame {
                Some(f) if martian(&f) => self.martians += 1,
                Some(f) => {
                    self.received += 1;
                    return Some(f);
                }
                None => self.dropped += 1,
            }
        }
    }

    /// Gives back the memory of the loopback queue once it is empty (the server ends, and
    /// its heap must come back to its figure before the first client).
    pub fn compact(&mut self) {
        if self.looped.is_empty() {
            self.looped = VecDeque::new();
        }
    }

    /// Whether a frame waits to be taken.
    pub fn has_frame(&self) -> bool {
        self.malformed.as_ref().is_some_and(|m| !m.done())
            || !self.looped.is_empty()
            || self.raw.poll_receive().is_some()
    }

    /// Keeps a copy of `frame` for the stack if it is for the stack itself; whether it
    /// must still go to the card (not when it is for this card alone).
    fn loop_back(&mut self, frame: &[u8]) -> bool {
        let to = frame.get(..6);
        let to_self = to == Some(&self.mac[..]);
        let arp_broadcast = to == Some(&BROADCAST[..]) && frame.get(12..14) == Some(&ETHERTYPE_ARP);
        if to_self || arp_broadcast {
            if self.looped.len() < LOOPED_MAX {
                self.looped.push_back(frame.to_vec());
                self.looped_count += 1;
            } else {
                self.dropped += 1;
            }
        }
        !to_self
    }

    /// Sends `len` bytes that `fill` writes.
    fn send<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let Some(i) = self.tx_free.pop() else {
            // `transmit` checked there is a free buffer; fill a scratch frame and drop it.
            self.dropped += 1;
            return fill(&mut alloc::vec![0u8; len]);
        };
        let buf = self.buffer(i);
        let header = self.raw.fill_buffer_header(buf).unwrap_or(0);
        let end = (header + len).min(FRAME);
        let result = fill(buf.get_mut(header..end).unwrap_or(&mut []));
        if !self.loop_back(buf.get(header..end).unwrap_or(&[])) {
            self.tx_free.push(i);
            return result;
        }
        // SAFETY: the buffer is left alone until `reap` takes it back with this token.
        match unsafe { self.raw.transmit_begin(buf.get(..end).unwrap_or(&[])) } {
            Ok(token) => {
                self.tx_flight.push((token, i));
                self.sent += 1;
            }
            Err(_) => {
                self.tx_free.push(i);
                self.dropped += 1;
            }
        }
        result
    }
}

pub struct Rx(Vec<u8>);
pub struct Tx<'a>(&'a mut Nic);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.0.send(len, f)
    }
}

impl Device for Nic {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_>)> {
        self.reap();
        if self.tx_free.is_empty() {
            // An answer to this frame could not be sent: leave it with the card for now.
            return None;
        }
        if let Some(frame) = self.malformed.as_mut().and_then(Malformed::next_frame) {
            // They stand for frames from the wire: martians among them are dropped too.
            if martian(&frame) {
                self.martians += 1;
                return None;
            }
            return Some((Rx(frame), Tx(self)));
        }
        if let Some(frame) = self.looped.pop_front() {
            return Some((Rx(frame), Tx(self)));
        }
        let frame = self.take_frame()?;
        Some((Rx(frame), Tx(self)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        self.reap();
        (!self.tx_free.is_empty()).then_some(Tx(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(TX_BUFFERS);
        caps
    }
}
