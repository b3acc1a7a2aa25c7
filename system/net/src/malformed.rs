//! A test mode: a burst of malformed frames through the stack's receive path.
//!
//! Nothing outside can send the guest a raw frame (QEMU's user networking only forwards TCP
//! connections it makes itself, and the only way to the card is this server), so when
//! init.yaml gives the server the arguments `--malformed-frames N`, the card device
//! ([`crate::nic`]) hands the stack N made-up frames before any from the card, through the
//! same receive tokens. Each is a frame a peer could send, mangled: a TCP SYN from the
//! gateway to port 80 cut short, with bytes flipped, with a lying IPv4 length, header length
//! or version (its checksum made right again, so that the stack reads further), with a
//! lying TCP data offset and flags (checksum right), an ARP packet of garbage, random
//! bytes, or a "martian": a well-formed SYN from or to 127.0.0.1 or an ARP answer claiming
//! 127.0.0.1, which the card device drops (the wire may not reach or pose as the loopback
//! addresses, see [`crate::nic`]). The stack must drop or answer each without ending the
//! server, and the server's heap must come back to its baseline (the example's test checks
//! both, and that martians were dropped).

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket};

/// The most frames a test may ask for.
pub const MAX: u32 = 100_000;
/// The largest frame (the card's MTU, without the checksum).
const FRAME_MAX: usize = 1514;

/// The frames still to hand out.
pub struct Malformed {
    left: u32,
    made: u32,
    state: u64,
    mac: [u8; 6],
}

/// The count given by `--malformed-frames N` in the server's arguments (init.yaml).
pub fn requested() -> u32 {
    let args = crate::args();
    let mut words = args.split(|&b| b == 0);
    while let Some(w) = words.next() {
        if w == b"--malformed-frames" {
            return words
                .next()
                .and_then(|n| core::str::from_utf8(n).ok())
                .and_then(|n| n.parse().ok())
                .map_or(0, |n: u32| n.min(MAX));
        }
    }
    0
}

impl Malformed {
    pub fn new(count: u32, mac: [u8; 6], seed: u64) -> Self {
        Malformed {
            left: count,
            made: 0,
            state: seed | 1,
            mac,
        }
    }

    /// Frames handed out so far.
    pub fn made(&self) -> u32 {
        self.made
    }

    pub fn done(&self) -> bool {
        self.left == 0
    }

    /// xorshift64.
    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A well-formed TCP SYN from the gateway (10.0.2.2:40000) to 10.0.2.15:80.
    fn syn(&self) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[..6].copy_from_slice(&self.mac);
        f[6..12].copy_from_slice(&[0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[10, 0, 2, 2]);
        ip[16..20].copy_from_slice(&[10, 0, 2, 15]);
        let tcp = &mut ip[20..];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x02;
        tcp[14..16].copy_from_slice(&8192u16.to_be_bytes());
        fix_checksums(&mut f);
        f
    }

    /// The next frame, or `None` when all were handed out.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.made += 1;
        let mut f = self.syn();
        match self.made % 8 {
            0 => {
                let len = self.below(f.len());
                f.truncate(len);
            }
            1 => {
                for _ in 0..1 + self.below(8) {
                    let at = self.below(f.len());
                    let bit = self.below(8);
                    if let Some(b) = f.get_mut(at) {
                        *b ^= 1 << bit;
                    }
                }
            }
            2 => {
                let len = self.next_u64() as u16;
                f[16..18].copy_from_slice(&len.to_be_bytes());
                fix_checksums(&mut f);
            }
            3 => {
                f[14] = self.next_u64() as u8;
                fix_checksums(&mut f);
            }
            4 => {
                f[14 + 20 + 12] = self.next_u64() as u8;
                f[14 + 20 + 13] = self.next_u64() as u8;
                let extra = self.below(64);
                f.extend((0..extra).map(|i| i as u8));
                let total = (f.len() - 14) as u16;
                f[16..18].copy_from_slice(&total.to_be_bytes());
                fix_checksums(&mut f);
            }
            5 => {
                f[12..14].copy_from_slice(&[0x08, 0x06]);
                let len = 14 + self.below(64);
                f.truncate(len);
                for b in f.iter_mut().skip(14) {
                    *b = self.state as u8;
                    self.state = self.state.rotate_left(8);
                }
            }
            6 => {
                // A martian: a well-formed SYN from or to the loopback network, or an ARP
                // answer claiming 127.0.0.1, which the card device must drop.
                match self.below(3) {
                    0 => {
                        f[26..30].copy_from_slice(&[127, 0, 0, 1]);
                        fix_checksums(&mut f);
                    }
                    1 => {
                        f[30..34].copy_from_slice(&[127, 0, 0, 1]);
                        fix_checksums(&mut f);
                    }
                    _ => {
                        f.truncate(14 + 28);
                        f[12..14].copy_from_slice(&[0x08, 0x06]);
                        let arp = &mut f[14..];
                        arp[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
                        arp[8..14].copy_from_slice(&[0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
                        arp[14..18].copy_from_slice(&[127, 0, 0, 1]);
                        arp[18..24].copy_from_slice(&self.mac);
                        arp[24..28].copy_from_slice(&[10, 0, 2, 15]);
                    }
                }
            }
            _ => {
                let len = self.below(FRAME_MAX + 1);
                f = (0..len).map(|_| self.next_u64() as u8).collect();
                if let Some(dst) = f.get_mut(..6) {
                    dst.copy_from_slice(&self.mac);
                }
            }
        }
        Some(f)
    }
}

/// Makes the IPv4 header's checksum, and the TCP checksum when the packet holds a whole TCP
/// header, right for what the frame now says (where smoltcp can read them).
fn fix_checksums(f: &mut [u8]) {
    let Some(ip) = f.get_mut(14..) else {
        return;
    };
    let Ok(mut packet) = Ipv4Packet::new_checked(&mut *ip) else {
        return;
    };
    packet.fill_checksum();
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    let header = usize::from(packet.header_len());
    let total = usize::from(packet.total_len());
    let Some(segment) = ip.get_mut(header..total) else {
        return;
    };
    if let Ok(mut tcp) = TcpPacket::new_checked(segment) {
        tcp.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
    }
}
