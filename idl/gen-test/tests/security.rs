//! The security client generated for a security interface (`shapes.Audit`, the `security` of
//! `shapes.Studio` and `shapes.Painter`): every method encodes its request and hands the bytes
//! to the query function, which here decodes them back instead of asking a kernel.

use ostrog_idl_gen_test::shapes_audit::{AuditSecurity, CheckRequest, TouchRequest};
use ostrog_idl_gen_test::spec_rt::{
    Decoder, EncodeError, Message, SecurityError, SecurityQuery, SECURITY_RIID,
};
use proptest::prelude::*;

/// What the fake security module was asked.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Check(CheckRequest),
    Touch(TouchRequest),
}

/// Decodes a query as the security module would, checking it is a well-formed request of
/// `shapes.Audit` addressed to `SECURITY_RIID`.
fn decode_query(bytes: &[u8]) -> Asked {
    let dec = Decoder::parse(bytes).expect("a well-formed message");
    assert_eq!(dec.header.riid, SECURITY_RIID);
    assert_eq!(dec.header.flags, 0, "a request, not an error response");
    match dec.header.mid {
        0 => Asked::Check(CheckRequest::decode(bytes).expect("a Check request")),
        1 => Asked::Touch(TouchRequest::decode(bytes).expect("a Touch request")),
        m => panic!("no method {m} in shapes.Audit"),
    }
}

#[test]
fn queries_decode_back_and_the_verdict_is_returned() {
    let mut asked = Vec::new();
    {
        let mut audit = AuditSecurity {
            query: |bytes: &[u8]| -> Result<(), i32> {
                let q = decode_query(bytes);
                let granted = !matches!(&q, Asked::Check(r) if r.level > 2);
                asked.push(q);
                if granted {
                    Ok(())
                } else {
                    Err(-13)
                }
            },
        };
        assert_eq!(audit.check(1, "door".into()), Ok(()));
        assert_eq!(
            audit.check(7, "vault".into()),
            Err(SecurityError::Query(-13))
        );
        assert_eq!(audit.touch(), Ok(()));
        // A tag over `string<16>` is refused before anything is asked.
        assert_eq!(
            audit.check(1, "0123456789abcdefX".into()),
            Err(SecurityError::Encode(EncodeError::TooLong {
                bound: 16,
                len: 17
            }))
        );
    }
    assert_eq!(
        asked,
        [
            Asked::Check(CheckRequest {
                level: 1,
                tag: "door".into()
            }),
            Asked::Check(CheckRequest {
                level: 7,
                tag: "vault".into()
            }),
            Asked::Touch(TouchRequest {}),
        ]
    );
}

/// A query function with the shape of `ostrog_rt::sys::security_query`.
fn deny_all(request: &[u8]) -> Result<(), &'static str> {
    decode_query(request);
    Err("AccessDenied")
}

#[test]
fn a_plain_function_is_a_query() {
    let mut audit = AuditSecurity { query: deny_all };
    assert_eq!(audit.touch(), Err(SecurityError::Query("AccessDenied")));
}

/// A transport-style query: counts what it forwards.
#[derive(Debug, Default)]
struct Counter {
    seen: Vec<Vec<u8>>,
}

impl SecurityQuery for Counter {
    type Error = core::convert::Infallible;
    fn query(&mut self, request: &[u8]) -> Result<(), Self::Error> {
        self.seen.push(request.to_vec());
        Ok(())
    }
}

#[test]
fn a_trait_implementation_is_a_query() {
    let mut audit = AuditSecurity {
        query: Counter::default(),
    };
    assert_eq!(audit.check(0, String::new()), Ok(()));
    assert_eq!(audit.touch(), Ok(()));
    assert_eq!(audit.query.seen.len(), 2);
    // The bytes are exactly those of the request message.
    let expected = CheckRequest {
        level: 0,
        tag: String::new(),
    }
    .encode(SECURITY_RIID)
    .expect("encodes");
    assert_eq!(audit.query.seen[0], expected);
}

proptest! {
    #[test]
    fn any_check_within_bounds_reaches_the_query_intact(
        level in any::<u32>(),
        tag in "[a-z0-9é]{0,8}".prop_filter("fits string<16>", |s| s.len() <= 16),
    ) {
        let mut got = None;
        let granted = AuditSecurity {
            query: |bytes: &[u8]| -> Result<(), ()> {
                got = Some(decode_query(bytes));
                Ok(())
            },
        }
        .check(level, tag.clone());
        prop_assert_eq!(granted, Ok(()));
        prop_assert_eq!(got, Some(Asked::Check(CheckRequest { level, tag })));
    }
}
