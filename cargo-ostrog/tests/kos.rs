//! KasperskyOS solutions as they are written: the corpus of `tests/kos` checks clean on
//! every board, every example checks with no flags, templates expand per board with what
//! the solution uses, and what Ostrog cannot do is a diagnostic at its line.

use std::path::{Path, PathBuf};

use cargo_ostrog::sdk;
use cargo_ostrog::solution::{self, Solution};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The folders directly in `dir`, sorted.
fn folders(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// `cargo ostrog check ARGS` from the source root: its status and what it printed.
fn check_cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-ostrog"))
        .arg("check")
        .args(args)
        .current_dir(root())
        .output()
        .expect("cargo-ostrog runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of the corpus solution `name` in a fresh temporary folder named `copy`.
fn copy_of(name: &str, copy: &str) -> PathBuf {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("created");
        for e in std::fs::read_dir(from).expect("read").flatten() {
            let target = to.join(e.file_name());
            if e.path().is_dir() {
                copy_dir(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).expect("copied");
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("{copy}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root().join("tests/kos").join(name), &dir);
    dir
}

#[test]
fn the_corpus_checks_clean_on_every_board() {
    let dirs = folders(&root().join("tests/kos"));
    assert!(dirs.len() >= 4, "{dirs:?}");
    for dir in dirs {
        for board in sdk::BOARDS {
            let s = Solution::open(&dir)
                .and_then(|s| s.for_board(board))
                .expect("a solution");
            if let Err(e) = solution::check(&s) {
                panic!("{} on {}: {e:#}", dir.display(), board.name);
            }
        }
    }
}

#[test]
fn every_example_checks_with_no_flags() {
    for dir in folders(&root().join("examples")) {
        let name = dir.strip_prefix(root()).expect("below the root");
        let (ok, err) = check_cli(&[name.to_str().expect("utf-8")]);
        assert!(ok, "{}: {err}", name.display());
        assert!(err.contains("no errors"), "{err}");
    }
}

#[test]
fn templates_expand_for_the_board_with_what_the_solution_uses() {
    let dir = root().join("tests/kos/net_template");
    let s = Solution::open(&dir).expect("a solution");
    let x86 = s.for_board(sdk::board("qemu-x86_64").unwrap()).unwrap();
    solution::check(&x86).expect("clean");
    let init = std::fs::read_to_string(&x86.init_yaml).expect("expanded");
    // The client's connection comes from the policy's grant; the network server and the
    // bus manager it needs on x86_64 from @INIT_EXTERNAL_ENTITIES@; the DHCP client, named
    // by the policy but without a program, is left out.
    assert!(
        init.contains("connections: [{target: kl.VfsNet, id: net}]"),
        "{init}"
    );
    assert!(
        init.contains("- name: kl.VfsNet\n  connections: [{target: kl.drivers.PciBus, id: pci}]"),
        "{init}"
    );
    assert!(init.contains("- name: kl.drivers.PciBus"), "{init}");
    assert!(
        !init.contains("Dhcpcd") && !init.contains("BCM2711"),
        "{init}"
    );
    let policy = std::fs::read_to_string(&x86.policy).expect("expanded");
    assert!(
        policy.contains("use EDL kl.VfsNet use EDL kl.drivers.PciBus"),
        "{policy}"
    );
    // Lines keep their numbers: the placeholder's line is line 10 in both.
    assert_eq!(
        policy.lines().nth(9),
        Some("use EDL kl.VfsNet use EDL kl.drivers.PciBus")
    );
    let arm = s.for_board(sdk::board("qemu-aarch64").unwrap()).unwrap();
    solution::check(&arm).expect("clean");
    let init = std::fs::read_to_string(&arm.init_yaml).expect("expanded");
    assert!(init.contains("- name: kl.VfsNet\n"), "{init}");
    assert!(
        !init.contains("PciBus"),
        "the bus manager is x86_64's: {init}"
    );
}

#[test]
fn a_driver_the_board_has_no_program_for_is_refused_at_its_line() {
    let dir = copy_of("entity_old", "kos-rpi");
    let init = dir.join("init.yaml");
    let mut text = std::fs::read_to_string(&init).expect("read");
    text.push_str("- name: kl.drivers.BCM2711MboxArmToVc\n");
    std::fs::write(&init, text).expect("written");
    let (ok, err) = check_cli(&[dir.to_str().expect("utf-8")]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("board `qemu-x86_64` has no program for `kl.drivers.BCM2711MboxArmToVc`"),
        "{err}"
    );
    assert!(err.contains("init.yaml:8:9]"), "no file:line:col in {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn template_problems_name_the_template_line_and_column() {
    let dir = copy_of("net_template", "kos-bad");
    let template = dir.join("init.yaml.in");
    let text = std::fs::read_to_string(&template).expect("read");
    std::fs::write(
        &template,
        text.replace("@INIT_Client_ENTITY_ENV@", "@INIT_Nobody_ENTITY_ENV@"),
    )
    .expect("written");
    let (ok, err) = check_cli(&[dir.to_str().expect("utf-8")]);
    assert!(!ok, "{err}");
    assert!(err.contains("names program `Nobody`"), "{err}");
    assert!(err.contains("init.yaml.in:5:3]"), "{err}");
    // A YAML problem after a multi-line expansion still points into the template.
    std::fs::write(&template, format!("{text}  bogus: 1\n")).expect("written");
    let (ok, err) = check_cli(&[dir.to_str().expect("utf-8")]);
    assert!(!ok, "{err}");
    assert!(err.contains("unknown key `bogus`"), "{err}");
    assert!(err.contains("init.yaml.in:10:3]"), "{err}");
    // An unclosed board block.
    std::fs::write(
        &template,
        "entities:\n{% if BOARD == \"x\" %}\n- name: web.Client\n",
    )
    .expect("written");
    let (ok, err) = check_cli(&[dir.to_str().expect("utf-8")]);
    assert!(!ok, "{err}");
    assert!(err.contains("init.yaml.in:2:1]"), "{err}");
    // An unknown board is refused with the boards there are.
    let (ok, err) = check_cli(&["--board", "RPI4_BCM2711", dir.to_str().expect("utf-8")]);
    assert!(!ok && err.contains("qemu-aarch64"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The start of every policy text below.
const HEAD: &str = "execute: kl.core.Execute\nuse nk.base._\nuse EDL kl.core.Core\nuse EDL Einit\n";

/// The short diagnostics of a policy text checked against the SDK.
fn diagnostics(text: &str) -> Vec<String> {
    let path = root().join("tests/kos/policy.psl");
    ostrog_policy::load_policy_source(&path, text, &[ostrog_idl::sysroot()]).short_messages()
}

/// The targets (endpoint.method) each binding of a policy text selects on kl.core.Core.
fn core_targets(text: &str) -> Vec<Vec<String>> {
    let path = root().join("tests/kos/policy.psl");
    let checked = ostrog_policy::load_policy_source(&path, text, &[ostrog_idl::sysroot()]);
    let mut out = Vec::new();
    checked.report(&mut out).ok();
    let policy = checked
        .policy()
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out)));
    fn walk(
        block: &ostrog_policy::model::Block,
        targets: &ostrog_policy::model::Targets,
        out: &mut Vec<Vec<String>>,
    ) {
        if let ostrog_policy::model::Targets::Only(list) = targets {
            out.push(
                list.iter()
                    .map(|t| format!("{}.{}", t.endpoint, t.method))
                    .collect(),
            );
        }
        for s in &block.stmts {
            if let ostrog_policy::model::Stmt::Match(m) = s {
                walk(&m.body, &m.targets, out);
            }
        }
    }
    let mut all = Vec::new();
    for b in &policy.bindings {
        walk(&b.body, &b.targets, &mut all);
    }
    all
}

/// The targets of each level of `request src=Einit, dst=kl.core.Core { BODY }`.
fn einit_to_core(body: &str) -> Vec<Vec<String>> {
    core_targets(&format!(
        "{HEAD}request src=Einit, dst=kl.core.Core {{\n{body}\n}}\n"
    ))
}

#[test]
fn kasperskyos_kernel_endpoint_names_mean_ostrogs() {
    let kos = einit_to_core(
        "match endpoint=vmm.VMM, method=Allocate { grant () }
         match endpoint=handle.Handle { match method=Copy { grant () } }
         match endpoint=sync.Sync { grant () }
         match endpoint=vmm.VMM, method=Commit { grant () }",
    );
    let ostrog = einit_to_core(
        "match endpoint=vmm, method=Allocate { grant () }
         match endpoint=handle { match method=Duplicate { grant () } }
         match endpoint=futex { grant () }",
    );
    assert_eq!(kos[..4], ostrog[..4], "{kos:?}");
    assert_eq!(kos[2], vec!["handle.Duplicate".to_string()]);
    // Commit has no counterpart: it selects nothing.
    assert_eq!(kos[4], Vec::<String>::new());
    // On another class, a dotted endpoint is that class's own: neither a KasperskyOS
    // kernel endpoint Ostrog has nor one it lacks is an endpoint of kl.Klog.
    for endpoint in ["vmm.VMM", "hal.HAL"] {
        let errs = diagnostics(&format!(
            "{HEAD}use EDL kl.Klog\nrequest dst=kl.Klog, endpoint={endpoint} {{ grant () }}\n"
        ));
        assert!(!errs.is_empty(), "{endpoint} is no endpoint of kl.Klog");
    }
}

#[test]
fn kernel_endpoints_ostrog_lacks_compile_and_select_what_does_the_same() {
    // One `match SELECTORS { RULE }` per line.
    let levels = [
        ("endpoint=hal.HAL, method=DebugWrite", "grant ()"),
        ("endpoint=hal.HAL", "match method=GetEntropy { grant () }"),
        ("endpoint=fs.FS, method=Open", "grant ()"),
        ("endpoint=hal.HAL, method=SetPrivReg", "grant ()"),
        ("endpoint=pm.PM", "deny ()"),
        ("endpoint=profiler.Profiler, method=GetCounters", "grant ()"),
        ("endpoint=hal.HAL", "grant ()"),
    ];
    let body: Vec<String> = levels
        .iter()
        .map(|(selectors, rule)| format!("match {selectors} {{ {rule} }}"))
        .collect();
    let kos = einit_to_core(&body.join("\n"));
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let both = strings(&["console.Write", "entropy.Read"]);
    assert_eq!(kos[0], strings(&["console.Write"]), "{kos:?}");
    // `match endpoint=hal.HAL { ... }` is every method Ostrog has a counterpart for.
    assert_eq!(kos[1], both, "{kos:?}");
    assert_eq!(kos[2], strings(&["entropy.Read"]), "{kos:?}");
    assert_eq!(kos[3], strings(&["romfs.Read"]), "{kos:?}");
    // Privileged registers, power, profiling: nothing on Ostrog is one of these requests.
    assert!(kos[4..7].iter().all(Vec::is_empty), "{kos:?}");
    assert_eq!(kos[7], both, "{kos:?}");
    assert_eq!(kos.len(), 8, "{kos:?}");
}

#[test]
fn handle_rights_by_kasperskyos_name_compile_or_say_why_not() {
    // A policy naming a right Ostrog's handles lack does not compile, and says why.
    let errs = diagnostics(&format!(
        "{HEAD}request src=Einit, dst=kl.core.Core, endpoint=handle, method=Duplicate {{\n\
         assert ((message.rights & OCAP_IOPORT_FULL) == 0)\n}}\n"
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("policy.psl:6:27: Ostrog's handles have no right `OCAP_IOPORT_FULL`"),
        "{errs:?}"
    );
    // The names stand wherever a number does.
    let errs = diagnostics(&format!(
        "{HEAD}request src=Einit, dst=kl.core.Core, endpoint=handle, method=Duplicate {{\n\
         assert ((message.rights & (OCAP_HANDLE_TRANSFER | OCAP_HANDLE_COPY)) == 0)\n}}\n"
    ));
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn the_corpus_pal_tests_pass() {
    let mut total = 0;
    for dir in folders(&root().join("tests/kos")) {
        let s = Solution::open(&dir).expect("a solution");
        let mut out = Vec::new();
        let (passed, failed) = solution::pal_tests(&s, &mut out).expect("runs");
        let out = String::from_utf8_lossy(&out);
        assert_eq!(failed, 0, "{}: {out}", dir.display());
        total += passed;
    }
    // The rights and kernel-endpoint cases of ocap_rights.
    assert!(total >= 4, "{total}");
}

#[test]
fn kasperskyos_parameter_names_of_kernel_methods_read_ostrogs() {
    // Copy's mask is Duplicate's `rights`; an unknown KasperskyOS name lists Ostrog's.
    let errs = diagnostics(&format!(
        "{HEAD}request src=Einit, dst=kl.core.Core, endpoint=handle.Handle, method=Copy {{\n\
         assert ((message.newRightsMask & OCAP_HANDLE_TRANSFER) == 0)\n}}\n"
    ));
    assert!(errs.is_empty(), "{errs:?}");
    let errs = diagnostics(&format!(
        "{HEAD}request src=Einit, dst=kl.core.Core, endpoint=handle.Handle, method=Copy {{\n\
         assert (message.copyBadge.rights == 0)\n}}\n"
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("has no in parameter `copyBadge`"),
        "{errs:?}"
    );
}
