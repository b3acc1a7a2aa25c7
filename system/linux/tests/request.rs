//! The hand-encoded core requests are well formed by the ABI's own reader: header, fixed
//! part, arena exactly the string, padding zero; answers decode, errors carry their status.

use linux::request::{decode, encode};
use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::wire::Reader;

#[test]
fn fixed_only_request_is_well_formed_and_padded() {
    // vmm.AllocateAt(addr u64, size u64, flags u32): 20 bytes, padded to 24.
    let mut fixed = [0u8; 20];
    fixed[..8].copy_from_slice(&0x40_0000u64.to_le_bytes());
    fixed[8..16].copy_from_slice(&0x2000u64.to_le_bytes());
    fixed[16..].copy_from_slice(&1u32.to_le_bytes());
    let mut out = [0xffu8; 256];
    let n = encode(4, 5, &fixed, None, &mut out).unwrap();
    let r = Reader::parse(&out[..n]).expect("well formed");
    assert_eq!((r.header().riid, r.header().mid), (4, 5));
    assert_eq!(r.fixed_size(), 24);
    assert_eq!(r.header().arena_size, 0);
    assert_eq!(r.read::<8>(0), Some(0x40_0000u64.to_le_bytes()));
    assert_eq!(r.u32(16), Some(1));
    assert_eq!(r.u32(20), Some(0), "padding is zero");
}

#[test]
fn string_request_puts_the_string_in_the_arena() {
    let mut out = [0u8; 256];
    let n = encode(9, 0, &[], Some(b"/bin/hello"), &mut out).unwrap();
    let r = Reader::parse(&out[..n]).expect("well formed");
    assert_eq!(r.fixed_size(), 8);
    let (at, len) = r.arena(0, 64, 1, 1).expect("arena reference in bounds");
    assert_eq!(r.bytes(at, len), Some(&b"/bin/hello"[..]));
    assert_eq!(at + len, r.body().len(), "the arena is exactly the string");
    assert_eq!(
        encode(9, 0, &[], Some(&[b'a'; 300]), &mut out),
        None,
        "too big for the buffer"
    );
}

fn answer(riid: u32, mid: u32, flags: u32, handles: &[u32], fixed: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; HEADER_SIZE + handles.len() * 8 + fixed.len()];
    Header {
        riid,
        mid,
        flags,
        handle_count: handles.len() as u32,
        fixed_size: fixed.len() as u32,
        ..Header::default()
    }
    .write(&mut m);
    for (i, h) in handles.iter().enumerate() {
        m[HEADER_SIZE + i * 8..HEADER_SIZE + i * 8 + 4].copy_from_slice(&h.to_le_bytes());
    }
    let at = HEADER_SIZE + handles.len() * 8;
    m[at..].copy_from_slice(fixed);
    m
}

#[test]
fn answers_decode_and_errors_carry_their_status() {
    let mut out = [0u8; 4];
    let ok = answer(10, 1, 0, &[], &[3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(decode(10, 1, &ok, &mut out), Ok(None));
    assert_eq!(u32::from_le_bytes(out), 3);
    let with_handle = answer(9, 0, 0, &[0x0001_0005], &[0; 8]);
    assert_eq!(
        decode(9, 0, &with_handle, &mut []).unwrap().unwrap().handle,
        0x0001_0005
    );
    let error = answer(10, 0, FLAG_ERROR, &[], &(-9i32).to_le_bytes().repeat(2));
    assert_eq!(decode(10, 0, &error, &mut out), Err(-9));
    // Another method's answer, or a cut-off message, is malformed.
    assert_eq!(decode(10, 0, &ok, &mut out), Err(-1));
    assert_eq!(decode(10, 1, &ok[..ok.len() - 1], &mut out), Err(-1));
}
