//! The generated module file: its interface to the kernel, and compile errors with places.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn the_module_file_defines_what_the_kernel_includes_and_nothing_from_std() {
    let include = ostrog_policy::solution_include_dirs(&corpus());
    let m = ostrog_policy::compile(&corpus().join("door.psl"), &include, "door")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(m.source.contains("pub const INSECURE: bool = false;"));
    assert!(m.source.contains("pub const SOLUTION: &str = \"door\";"));
    assert!(m
        .source
        .contains("pub fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule>"));
    assert!(
        !m.source.contains("std::"),
        "only ostrog_ksm, alloc and core paths"
    );
    assert!(
        m.source.contains("static_dfa!(static RE_0"),
        "the pattern is embedded"
    );
    assert_eq!(
        m.classes,
        ["Einit", "kl.core.Core", "lock.Controller", "lock.Panel"]
    );
}

#[test]
fn an_invalid_pattern_is_a_compile_error_at_its_place() {
    let dir = std::env::temp_dir().join("ostrog-gen-bad-pattern");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(corpus().join("door.psl"))
        .expect("door.psl")
        .replace("^[0-9]{4,8}$", "^([0-9]$");
    let top = dir.join("bad.psl");
    std::fs::write(&top, text).expect("write");
    let mut include = ostrog_policy::solution_include_dirs(&corpus());
    include.insert(0, dir.clone());
    let e = ostrog_policy::compile(&top, &include, "bad").expect_err("the pattern is invalid");
    let text = e.to_string();
    assert!(text.contains("invalid regular expression"), "{text}");
    assert!(text.contains("bad.psl:27:58"), "file and line: {text}");
}

#[test]
fn flow_and_mic_pools_come_from_the_config_or_default_to_64() {
    let include = ostrog_policy::solution_include_dirs(&corpus());
    let m = ostrog_policy::compile(&corpus().join("pools.psl"), &include, "pools")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(m.source.contains("o_door: Flow<2>,"), "configured");
    assert!(m.source.contains("o_wide: Flow<64>,"), "default");
    assert!(m.source.contains("o_mic: Mic<3>,"), "configured");
    let m = ostrog_policy::compile(&corpus().join("models.psl"), &include, "models")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        m.source.contains("o_mic: Mic<64>,"),
        "default: {}",
        m.source
    );
}

#[test]
fn dictionary_and_tuple_entries_are_fixed_width_keys() {
    let include = ostrog_policy::solution_include_dirs(&corpus());
    let m = ostrog_policy::compile(&corpus().join("entries.psl"), &include, "entries")
        .unwrap_or_else(|e| panic!("{e}"));
    // { port : UInt16, proto : UInt8 }: 3 bytes; [UInt32, Boolean]: 5; nested: 1 + 1 + 2.
    assert!(m.source.contains("o_conns: HashSet<[u8; 3], 2, 3>,"));
    assert!(m.source.contains("o_pairs: HashSet<[u8; 5], 4, 3>,"));
    assert!(m.source.contains("o_nested: HashSet<[u8; 4], 4, 3>,"));
    assert!(m.source.contains("key_put(&mut k, 2, &math::cast::<u8>("));
}
