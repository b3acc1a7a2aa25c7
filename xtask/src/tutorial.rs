//! The tutorial (`docs/tutorial.md`), step by step, as a test: what a new user is told to do
//! must work, and what they are told they will see must be what they see.

use std::path::Path;

use cargo_ostrog::arch::Arch;
use cargo_ostrog::solution::Solution;

/// Text the tutorial shows, checked against the real output.
const PAL_LINES: [&str; 3] = [
    "PASS greeter/the client may greet",
    "PASS greeter/but not shut the server down",
    "PASS greeter/and no program may take memory from the kernel",
];
const GRANT_SHUTDOWN: &str =
    "request src=app.Client, dst=app.Server, endpoint=greeter, method=Shutdown { grant () }";

/// Runs the steps; each result is `(step, passed, detail)`.
pub fn run() -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let dir = std::env::temp_dir().join(format!("ostrog-tutorial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut step = |name: &str, outcome: Result<(), String>| {
        let (ok, detail) = match outcome {
            Ok(()) => (true, String::new()),
            Err(e) => (false, e),
        };
        results.push((format!("tutorial: {name}"), ok, detail));
        ok
    };
    let doc = std::fs::read_to_string(cargo_ostrog::source_root().join("docs/tutorial.md"))
        .unwrap_or_default();
    let shown = |text: &str| {
        if doc.contains(text) {
            Ok(())
        } else {
            Err(format!("docs/tutorial.md no longer shows {text:?}"))
        }
    };

    // 1. Create a solution.
    if !step(
        "1 new",
        cargo_ostrog::template::create(&dir).map_err(|e| format!("{e:#}")),
    ) {
        return results;
    }
    let solution = match Solution::open(&dir) {
        Ok(s) => s,
        Err(e) => {
            step("1 new", Err(format!("{e:#}")));
            return results;
        }
    };
    // 2. The policy grants Greet only.
    step(
        "2 policy",
        std::fs::read_to_string(&solution.policy)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                let line = "request src=app.Client, dst=app.Server, endpoint=greeter, method=Greet { grant () }";
                if p.contains(line) {
                    shown(line)
                } else {
                    Err("the template policy changed".into())
                }
            }),
    );
    // 3. PAL tests, then the scenario on both architectures.
    step("3 PAL tests", pal(&solution.dir, true));
    for arch in Arch::ALL {
        let mut out = Vec::new();
        let outcome = match cargo_ostrog::solution::run_scenarios(&solution, arch, &mut out) {
            Ok((passed, 0)) if passed > 0 => shown("client: Shutdown refused: access denied"),
            Ok(_) => Err(String::from_utf8_lossy(&out).into_owned()),
            Err(e) => Err(format!("{e:#}")),
        };
        step(&format!("3 scenario ({arch})"), outcome);
    }
    // 5. Granting Shutdown breaks a PAL test.
    let granted = std::fs::read_to_string(&solution.policy)
        .map(|p| p + "\n" + GRANT_SHUTDOWN + "\n")
        .and_then(|p| std::fs::write(&solution.policy, p));
    step(
        "5 policy change caught",
        granted
            .map_err(|e| e.to_string())
            .and_then(|()| shown(GRANT_SHUTDOWN))
            .and_then(|()| pal(&solution.dir, false)),
    );
    // 6. The graph.
    step(
        "6 graph",
        cargo_ostrog::graph::write(&solution, &solution.dir)
            .map_err(|e| format!("{e:#}"))
            .and_then(|(dot, svg)| {
                let dot = std::fs::read_to_string(dot).unwrap_or_default();
                if dot.contains("greeter.Greet") && svg.is_file() {
                    Ok(())
                } else {
                    Err("the graph lacks greeter.Greet".into())
                }
            }),
    );
    let _ = std::fs::remove_dir_all(&dir);
    results
}

/// Runs the PAL tests: with `clean`, all must pass with the lines the tutorial shows;
/// otherwise the Shutdown test must fail, and say which.
fn pal(dir: &Path, clean: bool) -> Result<(), String> {
    let mut out = Vec::new();
    let (passed, failed) = ostrog_policy::pal_test_cli(dir, &mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    if clean {
        match PAL_LINES.iter().find(|l| !text.contains(*l)) {
            _ if failed > 0 || passed != PAL_LINES.len() => Err(text.into_owned()),
            Some(missing) => Err(format!("output lacks {missing:?}:\n{text}")),
            None => Ok(()),
        }
    } else if failed > 0 && text.contains("FAIL greeter/but not shut the server down") {
        Ok(())
    } else {
        Err(format!("granting Shutdown went unnoticed:\n{text}"))
    }
}
