//! The bus walk: every function of every bus reachable from bus 0, found once at start.
//!
//! A bus is scanned device by device (function 0, and functions 1-7 of a multi-function
//! device); a PCI-to-PCI bridge (header type 1) adds its secondary bus to the walk, each bus
//! at most once (the firmware numbered them; a loop or a bus number seen twice is skipped).
//! Bridges and other non-type-0 functions are the bus manager's own: they are listed but
//! never claimable. At most [`MAX_FUNCTIONS`] functions are kept; more are reported and
//! ignored.

use alloc::vec::Vec;

use ostrog_abi::Status;

use crate::config;

/// Functions kept (a q35 machine has a dozen; 256 buses of 32 devices would be 65536).
pub const MAX_FUNCTIONS: usize = 256;
/// BARs of a type-0 header.
pub const BARS: usize = 6;

/// What a BAR decodes (kl.drivers.Pci's Bar.kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BarKind {
    #[default]
    Unused,
    Mem32,
    Mem64,
    Io,
}

/// One BAR as the firmware assigned it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bar {
    pub address: u64,
    pub size: u64,
    pub kind: BarKind,
    pub prefetchable: bool,
}

/// One function found on a bus.
#[derive(Clone, Debug)]
pub struct Function {
    /// `bus << 16 | device << 11 | function << 8`.
    pub address: u32,
    pub vendor: u16,
    pub device: u16,
    /// class << 16 | subclass << 8 | programming interface.
    pub class: u32,
    /// Header type without the multi-function bit (0 device, 1 bridge, 2 CardBus).
    pub header_type: u8,
    pub bars: [Bar; BARS],
    pub pin: u8,
    pub line: u8,
    /// The SID of the process that claimed it (0: none).
    pub owner: u64,
}

/// The configuration address of `bus`, `device`, `function`.
pub const fn address(bus: u32, device: u32, function: u32) -> u32 {
    (bus << 16) | (device << 11) | (function << 8)
}

/// The BARs of the type-0 function at `f`.
fn bars(f: u32) -> Result<[Bar; BARS], Status> {
    let mut bars = [Bar::default(); BARS];
    let mut i = 0;
    while i < BARS {
        let offset = 0x10 + 4 * i as u32;
        let value = config::read(f | offset)?;
        // A BAR the kernel will not size (a 64-bit one without room for its upper half) is
        // treated as decoding nothing.
        let size = config::bar_size(f | offset).unwrap_or(0);
        if value & 1 == 1 {
            bars[i] = Bar {
                address: u64::from(value & !0b11),
                size,
                kind: BarKind::Io,
                prefetchable: false,
            };
            i += 1;
            continue;
        }
        let prefetchable = value & 0b1000 != 0;
        let wide = (value >> 1) & 0b11 == 0b10 && i + 1 < BARS;
        let mut address = u64::from(value & !0b1111);
        if wide {
            address |= u64::from(config::read(f | (offset + 4))?) << 32;
        }
        bars[i] = Bar {
            address,
            size,
            kind: match (size, wide) {
                (0, _) => BarKind::Unused,
                (_, true) => BarKind::Mem64,
                (_, false) => BarKind::Mem32,
            },
            prefetchable,
        };
        // The upper half of a 64-bit BAR stays Unused.
        i += if wide { 2 } else { 1 };
    }
    Ok(bars)
}

/// Reads one function at `f`, if there is one.
fn function(f: u32) -> Result<Option<Function>, Status> {
    let id = config::read(f)?;
    if id & 0xffff == 0xffff {
        return Ok(None);
    }
    let class = config::read(f | 0x08)? >> 8;
    let header_type = ((config::read(f | 0x0c)? >> 16) & 0x7f) as u8;
    let interrupt = config::read(f | 0x3c)?;
    let bars = if header_type == 0 {
        bars(f)?
    } else {
        [Bar::default(); BARS]
    };
    Ok(Some(Function {
        address: f,
        vendor: id as u16,
        device: (id >> 16) as u16,
        class,
        header_type,
        bars,
        pin: (interrupt >> 8) as u8,
        line: interrupt as u8,
        owner: 0,
    }))
}

/// Every function of every bus reachable from bus 0; `NotSupported` where the kernel gives
/// no PCI configuration space (AArch64).
pub fn walk() -> Result<Vec<Function>, Status> {
    let mut found = Vec::new();
    let mut seen = [false; 256];
    let mut buses: Vec<u32> = alloc::vec![0];
    seen[0] = true;
    let mut dropped = 0usize;
    while let Some(bus) = buses.pop() {
        for device in 0..32 {
            let multi = match config::read(address(bus, device, 0) | 0x0c)? {
                u32::MAX => continue,
                v => v & (1 << 23) != 0,
            };
            for func in 0..if multi { 8 } else { 1 } {
                let Some(f) = function(address(bus, device, func))? else {
                    continue;
                };
                if f.header_type == 1 {
                    // Secondary bus number: byte 1 of dword 0x18.
                    let secondary = (config::read(f.address | 0x18)? >> 8) & 0xff;
                    if let Some(s) = seen.get_mut(secondary as usize).filter(|s| !**s) {
                        *s = true;
                        buses.push(secondary);
                    }
                }
                if found.len() < MAX_FUNCTIONS {
                    found.push(f);
                } else {
                    dropped += 1;
                }
            }
        }
    }
    if dropped > 0 {
        ostrog_rt::println!("PciBus: {dropped} functions past the first {MAX_FUNCTIONS} ignored");
    }
    // Claim's `index` counts in bus, device, function order.
    found.sort_by_key(|f| f.address);
    Ok(found)
}
