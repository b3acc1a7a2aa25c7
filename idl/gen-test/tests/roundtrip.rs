//! Properties of the generated code: encode-then-decode gives the value back, and no byte
//! string makes a decoder panic (it yields a value or a `DecodeError`).

use ostrog_idl_gen_test::demo_storage::{Entry, PutRequest, Value};
use ostrog_idl_gen_test::shapes_canvas::{
    BulkRequest, DrawError, DrawRequest, GroupRequest, ShareRequest,
};
use ostrog_idl_gen_test::shapes_kinds::{Ints, Nested, Point, Polygon, Shape};
use ostrog_idl_gen_test::spec_rt::{Handle, Message};
use proptest::prelude::*;

fn text(max_bytes: usize) -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é€]{0,8}".prop_filter("fits the bound", move |s| s.len() <= max_bytes)
}

fn handle() -> impl Strategy<Value = Handle> {
    (any::<u32>(), any::<u32>()).prop_map(|(handle, rights_and_mode)| Handle {
        handle,
        rights_and_mode,
    })
}

fn point() -> impl Strategy<Value = Point> {
    (any::<i32>(), any::<i32>()).prop_map(|(x, y)| Point { x, y })
}

fn polygon() -> impl Strategy<Value = Polygon> {
    (
        prop::collection::vec(point(), 0..8),
        any::<[u16; 3]>(),
        any::<u8>(),
    )
        .prop_map(|(points, tags, initial)| Polygon {
            points,
            tags,
            initial,
        })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        point().prop_map(Shape::Dot),
        polygon().prop_map(Shape::Polygon),
        prop::collection::vec(any::<u8>(), 0..94).prop_map(Shape::Raw),
        text(30).prop_map(Shape::Label),
    ]
}

fn ints() -> impl Strategy<Value = Ints> {
    (
        (any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>()),
        (any::<u8>(), any::<u16>(), any::<u32>(), any::<u64>()),
        (any::<u64>(), any::<u64>()),
    )
        .prop_map(|((a, b, c, d), (e, f, g, h), (size, ptr))| Ints {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
            size,
            ptr,
        })
}

fn nested() -> impl Strategy<Value = Nested> {
    (
        [point(), point()],
        prop::collection::vec(shape(), 0..=3),
        prop::collection::vec(text(7), 0..=4),
        handle(),
    )
        .prop_map(|(corners, parts, words, file)| Nested {
            corners,
            parts,
            words,
            file,
        })
}

fn entry() -> impl Strategy<Value = Entry> {
    (text(64), any::<u64>(), any::<[u8; 16]>()).prop_map(|(key, size, digest)| Entry {
        key,
        size,
        digest,
    })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u32>().prop_map(Value::Small),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Value::Blob),
    ]
}

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(
    m: &M,
    riid: u32,
) -> Result<(), TestCaseError> {
    let bytes = m
        .encode(riid)
        .map_err(|e| TestCaseError::fail(format!("encode: {e:?}")))?;
    let back = M::decode(&bytes).map_err(|e| TestCaseError::fail(format!("decode: {e:?}")))?;
    prop_assert_eq!(&back, m);
    Ok(())
}

/// Decoding never panics; whatever decodes re-encodes to something that decodes the same.
fn no_panic<M: Message + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = M::decode(bytes) {
        let again = m
            .encode(0)
            .map_err(|e| TestCaseError::fail(format!("re-encode: {e:?}")))?;
        prop_assert_eq!(M::decode(&again).ok(), Some(m));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn draw_round_trips(shape in shape(), ints in ints(), riid in any::<u32>()) {
        round_trip(&DrawRequest { shape, ints }, riid)?;
    }

    #[test]
    fn group_round_trips(items in prop::collection::vec(nested(), 0..=2)) {
        round_trip(&GroupRequest { items }, 3)?;
    }

    #[test]
    fn share_round_trips(peer in handle(), buffer in handle()) {
        round_trip(&ShareRequest { peer, buffer }, 1)?;
    }

    #[test]
    fn bulk_round_trips(data in prop::collection::vec(any::<u8>(), 0..1024), r#box in [point(), point(), point(), point()]) {
        round_trip(&BulkRequest { data, r#box }, 0)?;
    }

    #[test]
    fn put_and_error_round_trip(e in entry(), v in value(), code in any::<i32>(), why in text(32)) {
        round_trip(&PutRequest { e, v }, 2)?;
        round_trip(&DrawError { code, why }, 0)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        no_panic::<DrawRequest>(&bytes)?;
        no_panic::<GroupRequest>(&bytes)?;
        no_panic::<ShareRequest>(&bytes)?;
        no_panic::<BulkRequest>(&bytes)?;
        no_panic::<PutRequest>(&bytes)?;
        no_panic::<DrawError>(&bytes)?;
    }

    #[test]
    fn corrupted_messages_never_panic(
        items in prop::collection::vec(nested(), 1..=2),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = GroupRequest { items }.encode(0).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        no_panic::<GroupRequest>(&bytes)?;
    }
}
