//! KasperskyOS keeps package names apart from class and component names: `echo.Ping` may be
//! the package of `Ping.idl` and the component of `Ping.cdl` at once. The pair checks clean
//! and the generated Rust puts them in two modules.

const PACKAGE: &str =
    "package echo.Ping\ninterface { Ping(in UInt32 value, out UInt32 result); }\n";
const COMPONENT: &str = "component echo.Ping\nendpoints { ping : echo.Ping }\n";
const CLASS: &str = "entity echo.Server\ncomponents { ping : echo.Ping }\n";

#[test]
fn a_package_and_a_component_may_share_a_name() {
    let checked = ostrog_idl::check_sources(
        &[
            ("echo/Ping.idl", PACKAGE),
            ("echo/Ping.cdl", COMPONENT),
            ("echo/Server.edl", CLASS),
        ],
        &[],
    );
    let mut out = Vec::new();
    checked.report(&mut out).ok();
    assert_eq!(
        checked.error_count(),
        0,
        "{}",
        String::from_utf8_lossy(&out)
    );
    let files = ostrog_idl::gen::generate(&checked.model).expect("generates");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"echo_ping.rs"), "{names:?}");
    assert!(names.contains(&"echo_ping_component.rs"), "{names:?}");
    let component = &files
        .iter()
        .find(|(n, _)| n == "echo_ping_component.rs")
        .unwrap()
        .1;
    // The component's dispatch routes to the package's server trait.
    assert!(
        component.contains("super::echo_ping::dispatch"),
        "{component}"
    );
    let mod_rs = &files.iter().find(|(n, _)| n == "mod.rs").unwrap().1;
    assert!(
        mod_rs.contains("pub mod echo_ping;") && mod_rs.contains("pub mod echo_ping_component;")
    );
}

#[test]
fn two_classes_of_one_name_still_collide() {
    let checked = ostrog_idl::check_sources(
        &[
            ("echo/Ping.cdl", COMPONENT),
            ("echo/Ping.edl", "entity echo.Ping\n"),
        ],
        &[],
    );
    assert!(checked.error_count() > 0);
}
