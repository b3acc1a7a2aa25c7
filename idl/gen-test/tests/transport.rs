//! A proxy talks to a class dispatcher through a loopback transport, and malformed messages
//! are rejected with the right typed error.

use ostrog_idl_gen_test::lock_controller::{self, riid, ControllerEndpoints};
use ostrog_idl_gen_test::lock_door::{
    CloseError, CloseRequest, CloseResponse, DoorProxy, DoorServer, OpenError, OpenRequest,
    OpenResponse,
};
use ostrog_idl_gen_test::shapes_canvas::{DrawRequest, GroupRequest, ShareRequest};
use ostrog_idl_gen_test::shapes_kinds::{Ints, Nested, Point, Shape};
use ostrog_idl_gen_test::spec_rt::{
    CallError, DecodeError, DispatchError, EncodeError, Handle, Message, Transport, TransportError,
};

#[derive(Default)]
struct Door {
    open: bool,
}

impl DoorServer for Door {
    fn open(&mut self, request: OpenRequest) -> Result<OpenResponse, OpenError> {
        if request.code == "1234" && !self.open {
            self.open = true;
            Ok(OpenResponse { rc: 0 })
        } else {
            Err(OpenError {})
        }
    }

    fn close(&mut self, _request: CloseRequest) -> Result<CloseResponse, CloseError> {
        self.open = false;
        Ok(CloseResponse { rc: 7 })
    }
}

#[derive(Default)]
struct Controller {
    door: Door,
}

impl ControllerEndpoints for Controller {
    fn main_door(&mut self) -> &mut dyn DoorServer {
        &mut self.door
    }
}

struct Loopback<'a>(&'a mut Controller);

impl Transport for Loopback<'_> {
    fn call(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, TransportError> {
        let reply = lock_controller::dispatch(self.0, request).map_err(|_| TransportError(-1))?;
        let dst = response.get_mut(..reply.len()).ok_or(TransportError(-2))?;
        dst.copy_from_slice(&reply);
        Ok(reply.len())
    }
}

#[test]
fn proxy_reaches_the_endpoint_through_class_dispatch() {
    let mut controller = Controller::default();
    let mut proxy = DoorProxy {
        transport: Loopback(&mut controller),
        riid: riid::MAIN_DOOR,
    };
    assert_eq!(proxy.open("1234".into()), Ok(OpenResponse { rc: 0 }));
    assert_eq!(
        proxy.open("1234".into()),
        Err(CallError::Remote(OpenError {}))
    );
    assert_eq!(proxy.close(), Ok(CloseResponse { rc: 7 }));
    // A code longer than string<16> never leaves the client.
    assert_eq!(
        proxy.open("0123456789abcdefX".into()),
        Err(CallError::Encode(EncodeError::TooLong {
            bound: 16,
            len: 17
        }))
    );
    // An endpoint the class does not have.
    proxy.riid = 9;
    assert_eq!(proxy.close(), Err(CallError::Transport(TransportError(-1))));
    let req = CloseRequest {}.encode(9).unwrap_or_default();
    assert_eq!(
        lock_controller::dispatch(&mut Controller::default(), &req),
        Err(DispatchError::Decode(DecodeError::UnknownEndpoint(9)))
    );
}

fn draw_label(label: &str) -> Vec<u8> {
    let ints = Ints {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        h: 8,
        size: 9,
        ptr: 10,
    };
    DrawRequest {
        shape: Shape::Label(label.into()),
        ints,
    }
    .encode(0)
    .unwrap_or_default()
}

/// Size of the message header.
const H: usize = ostrog_abi::message::HEADER_SIZE;

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn set_word(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn malformed_messages_are_rejected_with_typed_errors() {
    // Draw's request has no handles, so its fixed part starts at H (the header size) with the union `shape`:
    // its tag first, the label's ArenaRef in the payload.
    let good = draw_label("hi");
    assert!(DrawRequest::decode(&good).is_ok());

    let mut m = good.clone();
    m.push(0);
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::TrailingBytes));
    assert_eq!(
        DrawRequest::decode(&good[..good.len() - 1]),
        Err(DecodeError::Truncated)
    );
    assert_eq!(
        DrawRequest::decode(&good[..10]),
        Err(DecodeError::Truncated)
    );

    let mut m = good.clone();
    set_word(&mut m, H, 9); // union tag
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::BadUnionTag(9)));

    let arena_start = H + word(&good, 16) as usize;
    let mut m = good.clone();
    m[arena_start] = 0xff; // not UTF-8
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::InvalidUtf8));

    // Find the label's ArenaRef (offset 0, len 2) in the fixed part and break it.
    let fixed = &good[H..arena_start];
    let ref_at = (0..fixed.len() - 8)
        .step_by(4)
        .find(|&i| word(fixed, i) == 0 && word(fixed, i + 4) == 2)
        .map(|i| H + i)
        .unwrap_or(0);
    assert!(ref_at > H);
    let mut m = good.clone();
    set_word(&mut m, ref_at + 4, 31); // longer than string<30>
    assert_eq!(
        DrawRequest::decode(&m),
        Err(DecodeError::TooLong { bound: 30, len: 31 })
    );
    let mut m = good.clone();
    set_word(&mut m, ref_at, 1); // runs past the arena end
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::ArenaOutOfBounds));

    let mut m = good.clone();
    set_word(&mut m, 4, 3); // MID of Clear
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::UnknownMethod(3)));
    let mut m = good.clone();
    set_word(&mut m, 8, 1); // error flag on a request
    assert_eq!(
        DrawRequest::decode(&m),
        Err(DecodeError::UnexpectedFlags(1))
    );
    let mut m = good.clone();
    set_word(&mut m, 12, 9); // more handle slots than allowed
    assert_eq!(DrawRequest::decode(&m), Err(DecodeError::TooManyHandles(9)));
}

#[test]
fn handles_travel_in_slots_and_bad_indices_are_rejected() {
    let peer = Handle {
        handle: 5,
        rights_and_mode: 0x1_0003,
    };
    let buffer = Handle {
        handle: 6,
        rights_and_mode: 1,
    };
    let bytes = ShareRequest { peer, buffer }.encode(0).unwrap_or_default();
    assert_eq!(word(&bytes, 12), 2); // handle_count
    assert_eq!((word(&bytes, H), word(&bytes, H + 4)), (5, 0x1_0003));
    assert_eq!(word(&bytes, H + 16), 0); // peer -> slot 0
    assert_eq!(word(&bytes, H + 20), 1); // buffer -> slot 1
    let mut m = bytes.clone();
    set_word(&mut m, H + 20, 2);
    assert_eq!(
        ShareRequest::decode(&m),
        Err(DecodeError::BadHandleIndex(2))
    );

    // Nine handles do not fit in one message.
    let item = |h: u32| Nested {
        corners: [Point { x: 0, y: 0 }, Point { x: 1, y: 1 }],
        parts: vec![],
        words: vec![],
        file: Handle {
            handle: h,
            rights_and_mode: 0,
        },
    };
    assert!(GroupRequest {
        items: vec![item(1), item(2)]
    }
    .encode(0)
    .is_ok());
}

#[test]
fn sequences_start_eight_aligned() {
    let items = vec![Nested {
        corners: [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }],
        parts: vec![Shape::Label("abc".into()), Shape::Dot(Point { x: 5, y: 6 })],
        words: vec!["x".into()],
        file: Handle::default(),
    }];
    let bytes = GroupRequest { items }.encode(0).unwrap_or_default();
    let fixed_at = H + 8 * word(&bytes, 12) as usize;
    // `items` is the only parameter: its ArenaRef is at the start of the fixed part.
    assert_eq!(word(&bytes, fixed_at) % 8, 0);
    let mut m = bytes.clone();
    set_word(&mut m, fixed_at, word(&bytes, fixed_at) + 4);
    assert_eq!(GroupRequest::decode(&m), Err(DecodeError::Misaligned));
    assert!(GroupRequest::decode(&bytes).is_ok());
}
