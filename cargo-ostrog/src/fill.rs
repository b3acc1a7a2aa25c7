//! What Ostrog fills a KasperskyOS solution's templates with, and the check of the result.
//!
//! KasperskyOS's build knows which system programs each program is linked with (CMake) and
//! fills `@INIT_<program>_ENTITY_CONNECTIONS@` and `@INIT_EXTERNAL_ENTITIES@` from that.
//! Ostrog has no link step that says so; what it knows is the solution itself:
//!
//! * the SDK services the solution *uses* are those of [`crate::sdk::SERVICES`] whose class
//!   its `init.yaml(.in)` or its policy names, with the services they need themselves on
//!   the board's architecture (the network server needs the PCI bus manager on x86_64);
//! * a program *connects* to a used service when the policy may grant a request from the
//!   program's class to the service's class (the same analysis as `cargo ostrog graph`),
//!   over the channel id the service's clients open ([`crate::sdk::Service::channel`]).
//!
//! So `@INIT_Client_ENTITY_CONNECTIONS@` becomes `connections: [{target: kl.VfsRamFs, id:
//! vfs}]` when the policy lets `app.Client` call `kl.VfsRamFs`, and `@INIT_EXTERNAL_ENTITIES@`
//! becomes the entities of the used services that the template does not start itself (in a
//! policy: `use EDL` of each). A service Ostrog has no program for is never added this way;
//! starting one by name is refused at its line.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ostrog_diag::FileDiagnostic;

use crate::expand::{Placeholder, Template};
use crate::sdk::{self, Service};
use crate::solution::Solution;

/// Whether `text` names `word` as a whole dotted name (`use word._` counts).
fn names(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    text.match_indices(word).any(|(i, _)| {
        let before = text.get(..i).and_then(|t| t.chars().next_back());
        let rest = text.get(i + word.len()..).unwrap_or("");
        let after = rest.chars().next();
        !before.is_some_and(part) && (!after.is_some_and(part) || rest.starts_with("._"))
    })
}

/// `text` without its comments: `#` to the end of a line in YAML; `//` and `/* */` in PSL.
fn code(text: &str, yaml: bool) -> String {
    if yaml {
        return text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |n| &rest[l + n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// The lines of a template as evaluated for the solution's board (its text as written if
/// it does not evaluate; the problem is reported where the template is checked).
fn evaluated(solution: &Solution, path: &Path, text: &str) -> String {
    Template::parse(path, text, solution.board.name)
        .map(|t| t.lines.join("\n"))
        .unwrap_or_else(|_| text.to_string())
}

/// The SDK services `texts` name, with what they need on the board, in table order.
fn used_services(solution: &Solution, texts: &[&str]) -> Vec<&'static Service> {
    let mut used: BTreeSet<&str> = sdk::SERVICES
        .iter()
        .filter(|s| texts.iter().any(|t| names(t, s.class)))
        .map(|s| s.class)
        .collect();
    loop {
        let needed: Vec<&str> = used
            .iter()
            .filter_map(|c| sdk::service(c))
            .flat_map(|s| s.needs.iter())
            .filter(|(_, _, arch)| arch.is_none_or(|a| a == solution.board.arch))
            .map(|(class, _, _)| *class)
            .filter(|c| !used.contains(c))
            .collect();
        if needed.is_empty() {
            break;
        }
        used.extend(needed);
    }
    sdk::SERVICES
        .iter()
        .filter(|s| used.contains(s.class))
        .collect()
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn report(out: &mut dyn Write, diagnostics: &[FileDiagnostic]) -> std::io::Result<usize> {
    for d in diagnostics {
        writeln!(out, "{}", d.render())?;
    }
    Ok(diagnostics.len())
}

fn io(e: anyhow::Error) -> std::io::Error {
    std::io::Error::other(format!("{e:#}"))
}

/// The text of the solution's `init.yaml` or its template, as written.
fn init_text(solution: &Solution) -> String {
    let path = solution
        .init_template
        .as_ref()
        .unwrap_or(&solution.init_yaml);
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Expands the policy template (and the solution's other `.psl` files with board blocks)
/// and checks the policy; writes every diagnostic to `out`, returns how many.
pub fn policy(solution: &Solution, out: &mut dyn Write) -> std::io::Result<usize> {
    let expanded_dir = solution.expanded.clone();
    let _ = std::fs::remove_dir_all(&expanded_dir);
    std::fs::create_dir_all(&expanded_dir)?;
    let mut errors = 0;
    // The solution's own `.psl` parts: those with board blocks are expanded beside the
    // policy, which finds them first.
    let mut parts: Vec<_> = std::fs::read_dir(&solution.dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "psl") && p != &solution.policy)
        .collect();
    parts.sort();
    let init_path = solution
        .init_template
        .as_ref()
        .unwrap_or(&solution.init_yaml);
    let init = code(&evaluated(solution, init_path, &init_text(solution)), true);
    let template_text = match &solution.policy_template {
        Some(t) => read(t).map_err(io)?,
        None => String::new(),
    };
    let policy_code = match &solution.policy_template {
        Some(t) => code(&evaluated(solution, t, &template_text), false),
        None => String::new(),
    };
    let used = used_services(solution, &[&init, &policy_code]);
    let external = |text: &str| -> Vec<String> {
        used.iter()
            .filter(|s| s.program && !names(&declared_edls(text), s.class))
            .map(|s| format!("use EDL {}", s.class))
            .collect()
    };
    for part in parts {
        let text = read(&part).map_err(io)?;
        if !text.contains("{%") {
            continue;
        }
        let expanded = Template::parse(&part, &text, solution.board.name)
            .and_then(|t| t.fill(|p| psl_placeholder(p, &external(&text))));
        match expanded {
            Ok(e) => {
                let name = part.file_name().unwrap_or_default();
                std::fs::write(expanded_dir.join(name), &e.text)?;
            }
            Err(ds) => errors += report(out, &ds)?,
        }
    }
    let Some(template) = &solution.policy_template else {
        return Ok(errors
            + ostrog_policy::check_cli(
                std::slice::from_ref(&solution.policy),
                &solution.include_dirs(),
                out,
            )?);
    };
    let expanded = Template::parse(template, &template_text, solution.board.name)
        .and_then(|t| t.fill(|p| psl_placeholder(p, &external(&template_text))));
    let expanded = match expanded {
        Ok(e) => e,
        Err(ds) => return Ok(errors + report(out, &ds)?),
    };
    std::fs::write(&solution.policy, &expanded.text)?;
    // Checked under the template's name: a policy's expansion keeps every line where it was
    // (a placeholder becomes one line), so line and column are the template's.
    let checked =
        ostrog_policy::load_policy_source(template, &expanded.text, &solution.include_dirs());
    checked.report(out)?;
    Ok(errors + checked.error_count())
}

/// `use EDL a.B` lines of a policy text, joined (what it already declares).
fn declared_edls(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("use EDL"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A placeholder in a policy: only `@INIT_EXTERNAL_ENTITIES@`, on one line.
fn psl_placeholder(p: &Placeholder, external: &[String]) -> Result<Vec<String>, String> {
    match p.name.as_str() {
        "INIT_EXTERNAL_ENTITIES" => Ok(vec![external.join(" ")]),
        other => Err(format!(
            "unknown placeholder `@{other}@` in a policy (Ostrog fills `@INIT_EXTERNAL_ENTITIES@` \
             there)"
        )),
    }
}

/// One entity of an `init.yaml` template, found by its lines.
#[derive(Debug, Default)]
struct Entity {
    class: String,
    path: Option<String>,
    /// Its lines, joined.
    text: String,
}

/// The entities of a template's lines: each begins with `- name: CLASS` at the list's
/// indentation.
fn entities(lines: &[String]) -> Vec<Entity> {
    let indent = lines
        .iter()
        .filter_map(|l| {
            let t = l.trim_start();
            t.starts_with("- name:").then(|| l.len() - t.len())
        })
        .min();
    let mut out: Vec<Entity> = Vec::new();
    for line in lines {
        let t = line.trim_start();
        if let Some(class) = t.strip_prefix("- name:") {
            if Some(line.len() - t.len()) == indent {
                out.push(Entity {
                    class: class.split('#').next().unwrap_or("").trim().to_string(),
                    ..Entity::default()
                });
            }
        }
        let Some(e) = out.last_mut() else { continue };
        if let Some(path) = t.strip_prefix("path:") {
            e.path = Some(path.split('#').next().unwrap_or("").trim().to_string());
        }
        e.text.push_str(line);
        e.text.push('\n');
    }
    out
}

/// Expands the `init.yaml` template and checks the result (or checks `init.yaml`); refuses
/// a started SDK class the board has no program for. Writes every diagnostic to `out`,
/// returns how many.
pub fn init(
    solution: &Solution,
    options: &ostrog_init::Options,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let Some(template) = &solution.init_template else {
        let text = read(&solution.init_yaml).map_err(io)?;
        return match ostrog_init::check_source(&solution.init_yaml, text.as_str(), options) {
            Ok(described) => report(
                out,
                &unavailable(solution, &solution.init_yaml, &text, &described),
            ),
            Err(ds) => report(out, &ds),
        };
    };
    let text = read(template).map_err(io)?;
    let parsed = match Template::parse(template, &text, solution.board.name) {
        Ok(t) => t,
        Err(ds) => return report(out, &ds),
    };
    let policy_text = code(
        &std::fs::read_to_string(&solution.policy).unwrap_or_default(),
        false,
    );
    let used = used_services(
        solution,
        &[&code(&parsed.lines.join("\n"), true), &policy_text],
    );
    let checked = ostrog_policy::load_policy(&solution.policy, &solution.include_dirs());
    let bindings = checked
        .policy()
        .map(|p| p.bindings.clone())
        .unwrap_or_default();
    let entities = entities(&parsed.lines);
    let connections = |entity: &Entity| -> Vec<String> {
        used.iter()
            .filter(|s| s.program)
            .filter_map(|s| s.channel.map(|id| (s.class, id)))
            .filter(|(class, _)| !names(&entity.text, &format!("target: {class}")))
            .filter(|(class, _)| {
                !crate::graph::grantable(&bindings, &entity.class, class).is_empty()
            })
            .map(|(class, id)| format!("{{target: {class}, id: {id}}}"))
            .collect()
    };
    let expanded = parsed.fill(|p| {
        let name = p.name.as_str();
        if name == "INIT_EXTERNAL_ENTITIES" {
            let mut lines = Vec::new();
            for s in used.iter().filter(|s| s.program) {
                if entities.iter().any(|e| e.class == s.class) {
                    continue;
                }
                lines.push(format!("- name: {}", s.class));
                let needs: Vec<String> = s
                    .needs
                    .iter()
                    .filter(|(_, _, arch)| arch.is_none_or(|a| a == solution.board.arch))
                    .map(|(class, id, _)| format!("{{target: {class}, id: {id}}}"))
                    .collect();
                if !needs.is_empty() {
                    lines.push(format!("  connections: [{}]", needs.join(", ")));
                }
            }
            return Ok(lines);
        }
        let Some(program) = name.strip_prefix("INIT_") else {
            return Err(format!("unknown placeholder `@{name}@`"));
        };
        let (program, what) = [
            "_ENTITY_CONNECTIONS+",
            "_ENTITY_CONNECTIONS",
            "_ENTITY_ARGS",
            "_ENTITY_ENV",
        ]
        .iter()
        .find_map(|suffix| program.strip_suffix(suffix).map(|p| (p, *suffix)))
        .ok_or_else(|| format!("unknown placeholder `@{name}@`"))?;
        let entity = entities
            .iter()
            .find(|e| e.path.as_deref() == Some(program))
            .or_else(|| {
                entities
                    .iter()
                    .find(|e| e.class.rsplit('.').next() == Some(program))
            })
            .or_else(|| entities.iter().find(|e| e.class == program))
            .ok_or_else(|| {
                format!(
                    "`@{name}@` names program `{program}`, which no entity runs (its `path`, or \
                     the last part of its class)"
                )
            })?;
        Ok(match what {
            "_ENTITY_CONNECTIONS" => {
                let list = connections(entity);
                match list.is_empty() {
                    true => Vec::new(),
                    false => vec![format!("connections: [{}]", list.join(", "))],
                }
            }
            "_ENTITY_CONNECTIONS+" => connections(entity)
                .into_iter()
                .map(|c| format!("- {c}"))
                .collect(),
            // Ostrog's build has no EXTRA_ARGS / EXTRA_ENV: nothing to add.
            _ => Vec::new(),
        })
    });
    let expanded = match expanded {
        Ok(e) => e,
        Err(ds) => return report(out, &ds),
    };
    std::fs::write(&solution.init_yaml, &expanded.text)?;
    match ostrog_init::check_source(template, expanded.text.as_str(), options) {
        Ok(described) => report(out, &unavailable(solution, template, &text, &described)),
        Err(ds) => {
            let remapped: Vec<FileDiagnostic> = ds.iter().map(|d| expanded.remap(d)).collect();
            report(out, &remapped)
        }
    }
}

/// A diagnostic for each process of an SDK class the board has no program for, at the
/// `name:` that starts it in `text` (the file `path`).
fn unavailable(
    solution: &Solution,
    path: &Path,
    text: &str,
    described: &ostrog_init::Solution,
) -> Vec<FileDiagnostic> {
    let file = std::sync::Arc::new(ostrog_diag::SourceFile::new(path, text));
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &described.processes {
        if sdk::service(&p.class).is_none_or(|s| s.program) {
            continue;
        };
        if !seen.insert(p.class.clone()) {
            continue;
        }
        let at = text
            .match_indices(p.class.as_str())
            .map(|(i, _)| i)
            .find(|i| {
                text.get(..*i)
                    .is_some_and(|b| b.trim_end().ends_with("name:"))
            })
            .unwrap_or(0);
        out.push(
            FileDiagnostic::new(
                &file,
                at..at + p.class.len(),
                format!(
                    "board `{}` has no program for `{}`",
                    solution.board.name, p.class
                ),
                "started here",
            )
            .help(format!(
                "Ostrog gives `{}` its EDL and PSL package so that a policy naming it \
                     compiles, but has no program for it on {}; remove the entity (see \
                     docs/porting.md, \"SDK classes\")",
                p.class,
                sdk::BOARDS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_not_code() {
        assert_eq!(code("a: 1 # kl.Klog\nb", true), "a: 1 \nb");
        assert_eq!(
            code("x // kl.Klog\ny /* kl.VfsNet\n */ z", false),
            "x \ny  z"
        );
        assert_eq!(code("/* open", false), "");
    }

    #[test]
    fn names_are_whole_dotted_names() {
        assert!(names("use kl.Klog._\n", "kl.Klog"));
        assert!(names("- name: kl.VfsNet\n", "kl.VfsNet"));
        assert!(!names("- name: kl.VfsNetX\n", "kl.VfsNet"));
        assert!(!names("use my.kl.VfsNet", "kl.VfsNet"));
        assert!(names("dst=kl.VfsNet,", "kl.VfsNet"));
    }

    #[test]
    fn entities_are_found_by_their_name_lines() {
        let lines: Vec<String> = "entities:\n- name: a.B\n  path: Bee\n  connections:\n  - target: c.D\n    id: d\n- name: c.D\n"
            .lines()
            .map(String::from)
            .collect();
        let e = entities(&lines);
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].class.as_str(), e[0].path.as_deref()),
            ("a.B", Some("Bee"))
        );
        assert!(e[0].text.contains("target: c.D"));
        assert_eq!(e[1].class, "c.D");
    }
}
