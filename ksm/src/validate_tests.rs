//! Validator and reader tests on a message type with every shape.

use super::*;
use crate::event::{EventKind, HandleInfo};
use crate::expr::ExprError;
use crate::message::MessageView;
use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use proptest::prelude::*;
use std::vec::Vec;

// struct Entry { UInt8 tag; UInt32 value; Handle h; }   size 12, align 4
static ENTRY: TypeDesc = TypeDesc {
    size: 12,
    shape: Shape::Struct {
        fields: &[
            FieldDesc {
                name: "tag",
                offset: 0,
                ty: TypeDesc::int(IntKind::U8),
            },
            FieldDesc {
                name: "value",
                offset: 4,
                ty: TypeDesc::int(IntKind::U32),
            },
            FieldDesc {
                name: "h",
                offset: 8,
                ty: TypeDesc::HANDLE,
            },
        ],
    },
};

// union Choice { UInt16 small; string<4> text; }   tag at 0, payload at 4, size 12
static CHOICE: TypeDesc = TypeDesc {
    size: 12,
    shape: Shape::Union {
        payload_offset: 4,
        variants: &[TypeDesc::int(IntKind::U16), TypeDesc::string(4)],
    },
};

// Method(in UInt64 a, in string<8> name, in sequence<Entry, 3> list,
//        in array<Choice, 2> arr, in Handle h, in bytes<4> data)
static METHOD: MessageDesc = MessageDesc {
    fixed_size: 56,
    flags: 0,
    params: &[
        FieldDesc {
            name: "a",
            offset: 0,
            ty: TypeDesc::int(IntKind::U64),
        },
        FieldDesc {
            name: "name",
            offset: 8,
            ty: TypeDesc::string(8),
        },
        FieldDesc {
            name: "list",
            offset: 16,
            ty: TypeDesc::sequence(&ENTRY, 3),
        },
        FieldDesc {
            name: "arr",
            offset: 24,
            ty: TypeDesc {
                size: 24,
                shape: Shape::Array {
                    len: 2,
                    element: &CHOICE,
                },
            },
        },
        FieldDesc {
            name: "h",
            offset: 48,
            ty: TypeDesc::HANDLE,
        },
        FieldDesc {
            name: "data",
            offset: 52,
            ty: TypeDesc::bytes(4),
        },
    ],
};

/// Builds a message from its parts.
struct Msg {
    header: Header,
    slots: Vec<(u32, u32)>,
    body: Vec<u8>,
}

impl Msg {
    fn put(&mut self, pos: usize, bytes: &[u8]) {
        if self.body.len() < pos + bytes.len() {
            self.body.resize(pos + bytes.len(), 0);
        }
        self.body[pos..pos + bytes.len()].copy_from_slice(bytes);
    }

    fn put_u32(&mut self, pos: usize, v: u32) {
        self.put(pos, &v.to_le_bytes());
    }

    fn bytes(&self) -> Vec<u8> {
        let mut header = self.header;
        header.handle_count = self.slots.len() as u32;
        header.arena_size = (self.body.len() - header.fixed_size as usize) as u32;
        let mut out = std::vec![0u8; HEADER_SIZE];
        header.write(&mut out);
        for (h, rm) in &self.slots {
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&rm.to_le_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// A well-formed message of METHOD: a = 7, name = "door", list = two entries (slots 0 and
/// 1), arr = [small 5, text "ok"], h = slot 2, data = [].
fn valid() -> Msg {
    let mut m = Msg {
        header: Header {
            riid: 2,
            mid: 3,
            fixed_size: 56,
            ..Header::default()
        },
        slots: std::vec![(10, 0x0001_00ff), (11, 0x0000_0001), (12, 0x0000_0001)],
        body: std::vec![0; 56],
    };
    m.put(0, &7u64.to_le_bytes());
    // arena offsets are relative to body position 56.
    m.put(56, b"door"); // name at arena 0
    m.put_u32(8, 0);
    m.put_u32(12, 4);
    // list: 2 entries at arena 8 (8-aligned), stride 12.
    m.put(56 + 8, &[1, 0, 0, 0]);
    m.put_u32(56 + 12, 100);
    m.put_u32(56 + 16, 0); // handle slot 0
    m.put(56 + 20, &[2, 0, 0, 0]);
    m.put_u32(56 + 24, 200);
    m.put_u32(56 + 28, 1);
    m.put_u32(16, 8);
    m.put_u32(20, 2);
    // arr[0] = small 5; arr[1] = text "ok" at arena 32.
    m.put_u32(24, 0);
    m.put(28, &5u16.to_le_bytes());
    m.put_u32(36, 1);
    m.put_u32(40, 32);
    m.put_u32(44, 2);
    m.put(56 + 32, b"ok");
    m.put_u32(48, 2);
    // Body positions 52..56 stay zero: padding at the end of VALID_METHOD's fixed part.
    // bytes<4>: the ArenaRef is 8 bytes and the fixed part is 56: data's ArenaRef would
    // need 52..60, so METHOD declares it at 52 only to exercise the region check; see
    // `fields_outside_the_fixed_part_are_malformed`. Well-formed messages of METHOD are
    // checked without it, through VALID_METHOD below.
    m
}

// METHOD without the misplaced `data` parameter.
static VALID_METHOD: MessageDesc = MessageDesc {
    fixed_size: 56,
    flags: 0,
    params: match METHOD.params.split_last() {
        Some((_, rest)) => rest,
        None => &[],
    },
};

const HANDLES: [HandleInfo; 3] = [
    HandleInfo {
        sid: 500,
        rights: 0xff,
    },
    HandleInfo {
        sid: 501,
        rights: 1,
    },
    HandleInfo {
        sid: 502,
        rights: 1,
    },
];

fn check(m: &Msg) -> Result<(), Malformed> {
    validate(&VALID_METHOD, &m.bytes(), m.slots.len())
}

#[test]
fn a_well_formed_message_passes_and_reads_back() {
    let m = valid();
    let bytes = m.bytes();
    assert_eq!(check(&m), Ok(()));
    let event = Event {
        kind: EventKind::Request,
        src_sid: 1,
        src_class: 1,
        dst_sid: 2,
        dst_class: 2,
        riid: 2,
        mid: 3,
        message: &bytes,
        handles: &HANDLES,
    };
    assert_eq!(validate_event(&VALID_METHOD, &event), Ok(()));
    let wrong = Event { mid: 4, ..event };
    assert_eq!(
        validate_event(&VALID_METHOD, &wrong),
        Err(Malformed::WrongMethod)
    );

    let view = MessageView::of(&event).unwrap();
    assert_eq!(view.u64(0), Ok(7));
    assert_eq!(view.string(8, 8), Ok("door"));
    let list = view.sequence(16, 3, 12).unwrap();
    assert_eq!(list.len(), 2);
    let second = list.element(1u8).unwrap();
    assert_eq!(view.u8(second), Ok(2));
    assert_eq!(view.u32(second + 4), Ok(200));
    assert_eq!(view.handle(second + 8), Ok(HANDLES[1]));
    assert_eq!(list.element(2u8), Err(ExprError::IndexOutOfRange));
    assert_eq!(list.element(-1i8), Err(ExprError::IndexOutOfRange));
    assert_eq!(view.u32(24), Ok(0), "union tag");
    assert_eq!(view.u16(28), Ok(5));
    assert_eq!(view.string(40, 4), Ok("ok"));
    assert_eq!(view.handle(48), Ok(HANDLES[2]));
    assert_eq!(
        view.bytes(52, 4).ok(),
        None,
        "ArenaRef crosses the fixed part's end"
    );
    assert_eq!(view.i64(0), Ok(7));
    assert_eq!(view.i32(4), Ok(0));
    assert_eq!(view.i16(0), Ok(7));
    assert_eq!(view.i8(0), Ok(7));
    assert_eq!(view.u64(view.body().len() - 4), Err(ExprError::BadField));
    assert_eq!(view.u8(usize::MAX), Err(ExprError::BadField));
    assert_eq!(
        view.string(8, 3),
        Err(ExprError::BadField),
        "over the bound"
    );
}

#[test]
fn header_violations() {
    let mut m = valid();
    m.header.fixed_size = 48;
    m.body.drain(48..56);
    assert_eq!(check(&m), Err(Malformed::WrongFixedSize));

    let mut m = valid();
    m.header.flags = FLAG_ERROR;
    assert_eq!(check(&m), Err(Malformed::UnexpectedFlags));
    m.header.flags = 1 << 7;
    assert_eq!(check(&m), Err(Malformed::UnexpectedFlags));

    let mut m = valid();
    m.header.reserved = 1;
    assert_eq!(check(&m), Err(Malformed::ReservedNotZero));

    let m = valid();
    assert_eq!(
        validate(&VALID_METHOD, &m.bytes(), 2),
        Err(Malformed::HandleCountMismatch)
    );
    let mut bytes = m.bytes();
    bytes.push(0);
    assert_eq!(
        validate(&VALID_METHOD, &bytes, 3),
        Err(Malformed::TrailingBytes)
    );
    bytes.truncate(bytes.len() - 2);
    assert_eq!(
        validate(&VALID_METHOD, &bytes, 3),
        Err(Malformed::Truncated)
    );
    assert_eq!(
        validate(&VALID_METHOD, &bytes[..20], 3),
        Err(Malformed::Truncated)
    );

    let mut m = valid();
    m.slots[0].1 = 0x0002_0000;
    assert_eq!(check(&m), Err(Malformed::BadHandleMode));

    let mut m = valid();
    m.slots = std::vec![(0, 0); 9];
    assert_eq!(check(&m), Err(Malformed::TooManyHandles));
}

#[test]
fn parameter_violations() {
    type Case = (&'static str, fn(&mut Msg), Malformed);
    let cases: [Case; 10] = [
        (
            "handle index",
            |m| m.put_u32(48, 3),
            Malformed::BadHandleIndex,
        ),
        (
            "handle in a sequence element",
            |m| m.put_u32(56 + 28, 9),
            Malformed::BadHandleIndex,
        ),
        (
            "string over bound",
            |m| m.put_u32(12, 9),
            Malformed::TooLong,
        ),
        (
            "string not UTF-8",
            |m| m.put(56, &[0xff]),
            Malformed::InvalidUtf8,
        ),
        (
            "string outside the arena",
            |m| m.put_u32(8, 1000),
            Malformed::ArenaOutOfBounds,
        ),
        (
            "sequence over bound",
            |m| m.put_u32(20, 4),
            Malformed::TooLong,
        ),
        (
            "sequence misaligned",
            |m| m.put_u32(16, 4),
            Malformed::Misaligned,
        ),
        (
            "sequence past the arena",
            |m| m.put_u32(16, 32),
            Malformed::ArenaOutOfBounds,
        ),
        ("union tag", |m| m.put_u32(36, 2), Malformed::BadUnionTag),
        (
            "string in a union variant",
            |m| m.put(56 + 32, &[0xc3, 0x28]),
            Malformed::InvalidUtf8,
        ),
    ];
    for (what, corrupt, expected) in cases {
        let mut m = valid();
        corrupt(&mut m);
        assert_eq!(check(&m), Err(expected), "{what}");
    }
}

#[test]
fn handle_parameters_name_the_slots_in_order() {
    // Found by the `validate` differential fuzzer (2026-12-06): slots named 1, 0 were
    // accepted, though the generated encoder writes 0, 1 and a message has one form.
    let mut m = valid();
    m.put_u32(56 + 16, 1);
    m.put_u32(56 + 28, 0);
    assert_eq!(check(&m), Err(Malformed::HandlesOutOfOrder));
    let mut m = valid();
    m.put_u32(56 + 28, 2);
    m.put_u32(48, 1);
    assert_eq!(check(&m), Err(Malformed::HandlesOutOfOrder));
}

#[test]
fn every_handle_slot_is_named_by_exactly_one_parameter() {
    // A fourth slot that no parameter names would reach the receiver unjudged.
    let mut m = valid();
    m.slots.push((13, 0x0001_00ff));
    assert_eq!(check(&m), Err(Malformed::UnnamedHandle));
    // Two parameters naming one slot leave another unnamed.
    let mut m = valid();
    m.put_u32(48, 1);
    assert_eq!(check(&m), Err(Malformed::UnnamedHandle));
}

#[test]
fn every_arena_byte_belongs_to_a_parameter() {
    // Padding after the last parameter's data.
    let mut m = valid();
    m.body.extend_from_slice(&[0; 64]);
    assert_eq!(check(&m), Err(Malformed::UnusedArena));
    // A gap between two parameters' data: "door" moved one byte on, its old byte unused.
    let mut m = valid();
    m.put(56, b"\0door");
    m.put_u32(8, 1);
    assert_eq!(check(&m), Err(Malformed::UnusedArena));
    // Data that is not where the previous parameter's ended (the same bytes named twice).
    let mut m = valid();
    m.put_u32(40, 0);
    m.put_u32(44, 2);
    assert_eq!(check(&m), Err(Malformed::UnusedArena));
    // A method without variable-size parameters carries no arena at all.
    static FIXED_ONLY: MessageDesc = MessageDesc {
        fixed_size: 8,
        flags: 0,
        params: &[FieldDesc {
            name: "a",
            offset: 0,
            ty: TypeDesc::int(IntKind::U64),
        }],
    };
    let mut m = Msg {
        header: Header {
            fixed_size: 8,
            ..Header::default()
        },
        slots: Vec::new(),
        body: std::vec![0; 8],
    };
    assert_eq!(validate(&FIXED_ONLY, &m.bytes(), 0), Ok(()));
    m.body.extend_from_slice(&[0xaa; 4096]);
    assert_eq!(
        validate(&FIXED_ONLY, &m.bytes(), 0),
        Err(Malformed::UnusedArena)
    );
}

#[test]
fn padding_bytes_must_be_zero() {
    assert_eq!(check(&valid()), Ok(()), "zero padding everywhere");
    // (body position, what it is): each byte is padding, and one nonzero byte is refused.
    let gaps = [
        (53, "the end of the fixed part after the last parameter"),
        (
            30,
            "a union payload after its smaller variant (arr[0] = small 5)",
        ),
        (
            56 + 8 + 1,
            "a struct inside a sequence element (list[0].tag .. value)",
        ),
        (56 + 20 + 3, "the same gap in the second element"),
        (56 + 5, "the arena before the 8-aligned sequence data"),
    ];
    for (pos, what) in gaps {
        let mut m = valid();
        m.put(pos, &[0x5a]);
        assert_eq!(check(&m), Err(Malformed::NonzeroPadding), "{what}");
    }
    // The same bytes as data are accepted: the sequence element's tag, the union's value.
    let mut m = valid();
    m.put(56 + 8, &[0xff]);
    m.put(28, &0xffffu16.to_le_bytes());
    assert_eq!(check(&m), Ok(()));
    // Another defect is reported before the padding.
    let mut m = valid();
    m.put(53, &[1]);
    m.put_u32(48, 7);
    assert_eq!(check(&m), Err(Malformed::BadHandleIndex));
    // A gap between fields of the fixed part, and inside an array of padded structs.
    static PAIRS: TypeDesc = TypeDesc {
        size: 24,
        shape: Shape::Array {
            len: 2,
            element: &ENTRY,
        },
    };
    static GAPPED: MessageDesc = MessageDesc {
        fixed_size: 32,
        flags: 0,
        params: &[
            FieldDesc {
                name: "small",
                offset: 0,
                ty: TypeDesc::int(IntKind::U16),
            },
            FieldDesc {
                name: "pairs",
                offset: 4,
                ty: PAIRS,
            },
        ],
    };
    let gapped = |pos: Option<usize>| {
        let mut m = Msg {
            header: Header {
                fixed_size: 32,
                ..Header::default()
            },
            slots: std::vec![(1, 0), (2, 0)],
            body: std::vec![0; 32],
        };
        m.put_u32(4 + 8, 0);
        m.put_u32(4 + 12 + 8, 1);
        if let Some(pos) = pos {
            m.put(pos, &[1]);
        }
        validate(&GAPPED, &m.bytes(), 2)
    };
    assert_eq!(gapped(None), Ok(()));
    assert_eq!(gapped(Some(0)), Ok(()), "data");
    for pos in [2, 3, 4 + 12 + 1, 28, 31] {
        assert_eq!(gapped(Some(pos)), Err(Malformed::NonzeroPadding), "{pos}");
    }
}

#[test]
fn fields_outside_the_fixed_part_are_malformed() {
    assert_eq!(
        validate(&METHOD, &valid().bytes(), 3),
        Err(Malformed::FieldOutOfBounds)
    );
}

#[test]
fn empty_messages_and_zero_size_elements() {
    static NOTHING: MessageDesc = MessageDesc {
        fixed_size: 0,
        flags: 0,
        params: &[],
    };
    let m = Msg {
        header: Header::default(),
        slots: Vec::new(),
        body: Vec::new(),
    };
    assert_eq!(validate(&NOTHING, &m.bytes(), 0), Ok(()));

    // sequence<struct {}, 4000000000>: a huge count of empty elements is checked at once.
    static EMPTY: TypeDesc = TypeDesc {
        size: 0,
        shape: Shape::Struct { fields: &[] },
    };
    static UNION_OF_EMPTY: TypeDesc = TypeDesc {
        size: 4,
        shape: Shape::Union {
            payload_offset: 4,
            variants: &[EMPTY],
        },
    };
    static ZERO_STRIDE: TypeDesc = TypeDesc {
        size: 0,
        shape: Shape::Array {
            len: 1,
            element: &UNION_OF_EMPTY,
        },
    };
    static MANY: MessageDesc = MessageDesc {
        fixed_size: 8,
        flags: 0,
        params: &[FieldDesc {
            name: "many",
            offset: 0,
            ty: TypeDesc::sequence(&ZERO_STRIDE, u32::MAX),
        }],
    };
    let mut m = Msg {
        header: Header {
            fixed_size: 8,
            ..Header::default()
        },
        slots: Vec::new(),
        body: std::vec![0; 8],
    };
    m.put_u32(4, 4_000_000_000);
    // A zero-size element that claims to hold a union is an inconsistent descriptor: it is
    // reported once, not walked four billion times.
    assert_eq!(
        validate(&MANY, &m.bytes(), 0),
        Err(Malformed::FieldOutOfBounds)
    );

    static PLAIN_MANY: MessageDesc = MessageDesc {
        fixed_size: 8,
        flags: 0,
        params: &[FieldDesc {
            name: "many",
            offset: 0,
            ty: TypeDesc::sequence(&EMPTY, u32::MAX),
        }],
    };
    assert_eq!(validate(&PLAIN_MANY, &m.bytes(), 0), Ok(()));
}

#[test]
fn descriptor_nesting_is_bounded() {
    // 70 nested arrays of one handle: deeper than MAX_DEPTH.
    macro_rules! chain {
        ($leaf:expr; $($n:ident)*) => {{
            let t: &'static TypeDesc = &$leaf;
            $( let $n: &'static TypeDesc = std::boxed::Box::leak(std::boxed::Box::new(TypeDesc {
                size: 4,
                shape: Shape::Array { len: 1, element: t },
            })); let t = $n; )*
            t
        }};
    }
    let deep = chain!(TypeDesc::HANDLE;
        a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 b0 b1 b2 b3 b4 b5 b6 b7 b8 b9
        c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 d0 d1 d2 d3 d4 d5 d6 d7 d8 d9
        e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 f0 f1 f2 f3 f4 f5 f6 f7 f8 f9
        g0 g1 g2 g3 g4 g5 g6 g7 g8 g9);
    let params: &'static [FieldDesc] = std::boxed::Box::leak(std::boxed::Box::new([FieldDesc {
        name: "deep",
        offset: 0,
        ty: *deep,
    }]));
    let desc = MessageDesc {
        fixed_size: 8,
        flags: 0,
        params,
    };
    let m = Msg {
        header: Header {
            fixed_size: 8,
            ..Header::default()
        },
        slots: std::vec![(0, 0)],
        body: std::vec![0; 8],
    };
    assert_eq!(validate(&desc, &m.bytes(), 1), Err(Malformed::TooDeep));
}

/// Every read the policy may make of a METHOD message.
fn read_everything(view: &MessageView<'_>) {
    let _ = view.u64(0);
    let _ = view.string(8, 8);
    if let Ok(list) = view.sequence(16, 3, 12) {
        for i in 0..list.len() + 1 {
            if let Ok(at) = list.element(i as u64) {
                let _ = view.u8(at);
                let _ = view.u32(at + 4);
                let _ = view.handle(at + 8);
            }
        }
    }
    let _ = view.u32(24);
    let _ = view.u16(28);
    let _ = view.string(40, 4);
    let _ = view.handle(48);
    let _ = view.bytes(52, 4);
    let _ = view.arena_ref(usize::MAX - 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), count in 0usize..10) {
        let _ = validate(&VALID_METHOD, &bytes, count);
        let _ = validate(&METHOD, &bytes, count);
        let handles = std::vec![HandleInfo::default(); count];
        if let Ok(view) = MessageView::parse(&bytes, &handles) {
            read_everything(&view);
        }
    }

    #[test]
    fn corrupted_messages_never_panic_and_validated_ones_read_back(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let mut bytes = valid().bytes();
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        if validate(&VALID_METHOD, &bytes, 3).is_ok() {
            let view = MessageView::parse(&bytes, &HANDLES).unwrap();
            prop_assert!(view.string(8, 8).is_ok());
            let list = view.sequence(16, 3, 12).unwrap();
            for i in 0..list.len() {
                let at = list.element(i as u64).unwrap();
                prop_assert!(view.handle(at + 8).is_ok());
            }
            prop_assert!(view.handle(48).is_ok());
            let tag = view.u32(36).unwrap();
            if tag == 1 {
                prop_assert!(view.string(40, 4).is_ok());
            }
        } else {
            let view = MessageView::parse(&bytes, &HANDLES);
            if let Ok(view) = view {
                read_everything(&view);
            }
        }
    }
}
