//! The security client is generated for the interfaces used as `security` interfaces, and only
//! for them; the names it takes are checked like the other generated names.

use std::path::PathBuf;

fn generated(sources: &[(&str, &str)]) -> Vec<(String, String)> {
    let checked = ostrog_idl::check_sources(sources, &[]);
    let mut out = Vec::new();
    checked.report(&mut out).ok();
    assert_eq!(
        checked.error_count(),
        0,
        "{}",
        String::from_utf8_lossy(&out)
    );
    ostrog_idl::gen::generate(&checked.model).expect("generates")
}

fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

const AUDIT: &str =
    "package sec.Audit\ninterface { Check(in UInt32 level, in string<8> who); Touch(); }\n";
const DOOR: &str = "package sec.Door\ninterface { Open(in UInt32 code, out UInt32 rc); }\n";

#[test]
fn only_security_interfaces_get_a_security_client() {
    let files = generated(&[
        ("sec/Audit.idl", AUDIT),
        ("sec/Door.idl", DOOR),
        (
            "sec/Lock.edl",
            "task class sec.Lock\nsecurity sec.Audit\nendpoints { door : sec.Door }\n",
        ),
    ]);
    let audit = file(&files, "sec_audit.rs");
    assert!(audit.contains("pub struct AuditSecurity<_Q>"), "{audit}");
    assert!(audit.contains(
        "pub fn check(&mut self, level: u32, who: String) -> Result<(), rt::SecurityError<_Q::Error>>"
    ));
    assert!(audit.contains("rt::security_query(&mut self.query, &TouchRequest {})"));
    let door = file(&files, "sec_door.rs");
    assert!(!door.contains("Security"), "{door}");
}

#[test]
fn a_component_security_interface_counts_too() {
    let files = generated(&[
        ("sec/Audit.idl", AUDIT),
        ("sec/Guard.cdl", "component sec.Guard\nsecurity sec.Audit\n"),
    ]);
    assert!(file(&files, "sec_audit.rs").contains("pub struct AuditSecurity<_Q>"));
}

#[test]
fn a_type_named_like_the_security_client_is_rejected() {
    let checked = ostrog_idl::check_sources(
        &[(
            "sec/Audit.idl",
            "package sec.Audit\nstruct AuditSecurity { UInt8 x; }\ninterface { Touch(); }\n",
        )],
        &[PathBuf::new()],
    );
    let shorts = checked.short_messages();
    assert!(
        shorts.iter().any(|s| s.starts_with(
            "sec/Audit.idl:2:8: type `AuditSecurity` collides with the generated security client of interface `sec.Audit`"
        )),
        "{shorts:#?}"
    );
}
