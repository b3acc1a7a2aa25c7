//! The public layout metadata (what the policy compiler reads) for corpus methods.

use std::path::Path;

use ostrog_idl::ast::Direction;
use ostrog_idl::layout::{interface_layouts, ARENA_REF_SIZE};
use ostrog_idl::model::{IntType, Ty};
use ostrog_idl::{layout, LayoutKind, PathStep};

fn model() -> ostrog_idl::Model {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let checked = ostrog_idl::load_and_check(
        &[
            root.join("demo/Storage.idl"),
            root.join("shapes/Canvas.idl"),
        ],
        &[root],
    );
    assert_eq!(checked.error_count(), 0, "{:?}", checked.short_messages());
    checked.model
}

#[test]
fn storage_put_request_layout() {
    let model = model();
    let put = layout(&model, "demo.Storage", "Put").expect("Put exists");
    assert_eq!(put.mid, 0);
    // e: Entry { key: ArenaRef @0, size: u64 @8, digest: [u8; 16] @16 } = 32 bytes, align 8;
    // v: Value { tag u32 @0, variant @4 (u32 or ArenaRef) } = 12 bytes, align 4, at 32.
    let e = put.request.param("e").expect("e");
    assert_eq!((e.offset, e.layout.size, e.layout.align), (0, 32, 8));
    let v = put.request.param("v").expect("v");
    assert_eq!((v.offset, v.layout.size, v.layout.align), (32, 12, 4));
    assert_eq!(put.request.fixed_size, 48);
    assert_eq!(put.response.fixed_size, 8);
    assert_eq!(put.error.fixed_size, 0);
    assert_eq!(
        put.message(Direction::Out).params[0].ty,
        Ty::Int(IntType::U32)
    );

    let (off, l) = put
        .request
        .locate(&[
            PathStep::Field("e"),
            PathStep::Field("digest"),
            PathStep::Index(3),
        ])
        .expect("e.digest.[3]");
    assert_eq!(off, 19);
    assert_eq!(l.kind, LayoutKind::Int(IntType::U8));
    let (off, l) = put
        .request
        .locate(&[PathStep::Field("e"), PathStep::Field("key")])
        .expect("e.key");
    assert_eq!((off, l.size), (0, ARENA_REF_SIZE));
    assert_eq!(l.kind, LayoutKind::String { bound: 64 });
    assert!(put
        .request
        .locate(&[PathStep::Field("e"), PathStep::Index(16)])
        .is_none());
    let LayoutKind::Union {
        payload_offset,
        variants,
        ..
    } = &v.layout.kind
    else {
        panic!("v is a union")
    };
    assert_eq!(*payload_offset, 4);
    assert_eq!(variants[1].name, "blob");
    assert!(
        matches!(&variants[1].layout.kind, LayoutKind::Sequence { bound: 4096, element } if element.size == 1)
    );
}

#[test]
fn every_method_has_three_layouts_in_mid_order() {
    let model = model();
    let all = interface_layouts(&model, "shapes.Canvas").expect("layouts");
    let names: Vec<(&str, u32)> = all.iter().map(|m| (m.method.as_str(), m.mid)).collect();
    assert_eq!(
        names,
        vec![
            ("Draw", 0),
            ("Group", 1),
            ("Share", 2),
            ("Clear", 3),
            ("Bulk", 4)
        ]
    );
    let share = &all[2];
    // Handles are u32 slot indices.
    assert_eq!(share.request.fixed_size, 8);
    assert!(
        matches!(share.request.params[0].layout.kind, LayoutKind::Handle { interface: Some(ref i) } if i == "shapes.Canvas")
    );
    let draw = &all[0];
    assert_eq!(draw.error.params.len(), 2);
    assert_eq!(draw.request.fixed_size % 8, 0);
}
