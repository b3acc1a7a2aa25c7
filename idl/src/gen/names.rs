//! IDL names to Rust names.
//!
//! Types and union variants become `UpperCamelCase`, methods, fields, parameters and modules
//! `snake_case`, constants `SCREAMING_SNAKE_CASE`; Rust keywords become raw identifiers, and
//! the few names that cannot be raw (`self`, `super`, `crate`, `Self`) get a trailing `_`.

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

fn escape(name: String) -> String {
    if matches!(name.as_str(), "self" | "super" | "crate" | "Self") {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '.' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || next.is_some_and(|n| n.is_lowercase()));
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `snake_case`, escaped.
pub fn snake(name: &str) -> String {
    escape(
        words(name)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("_"),
    )
}

/// `UpperCamelCase`, escaped.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for w in words(name) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.extend(f.to_uppercase());
            out.push_str(&cs.as_str().to_lowercase());
        }
    }
    escape(out)
}

/// `SCREAMING_SNAKE_CASE`.
pub fn screaming(name: &str) -> String {
    escape(
        words(name)
            .iter()
            .map(|w| w.to_uppercase())
            .collect::<Vec<_>>()
            .join("_"),
    )
}

/// The module (and file stem) of a dotted unit name: `demo.Storage` is `demo_storage`.
pub fn module(dotted: &str) -> String {
    snake(dotted).trim_start_matches("r#").to_string()
}

/// The module of a component or process class named `dotted`. KasperskyOS keeps package
/// names apart from class and component names, so `echo.Ping` may be both a package
/// (`Ping.idl`) and a component (`Ping.cdl`); the package keeps `echo_ping` and the other
/// becomes `echo_ping_component` (or `echo_ping_class`), so the generated Rust keeps them
/// apart. `is_package` says whether a package of that name exists.
pub fn unit_module(kind: UnitKind, dotted: &str, is_package: impl Fn(&str) -> bool) -> String {
    let base = module(dotted);
    match kind {
        UnitKind::Package => base,
        UnitKind::Component if is_package(dotted) => format!("{base}_component"),
        UnitKind::Class if is_package(dotted) => format!("{base}_class"),
        UnitKind::Component | UnitKind::Class => base,
    }
}

/// Which kind of specification unit a module is generated from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitKind {
    Package,
    Component,
    Class,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(snake("GetValue"), "get_value");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(camel("my_struct"), "MyStruct");
        assert_eq!(camel("Entry"), "Entry");
        assert_eq!(screaming("MaxName"), "MAX_NAME");
        assert_eq!(module("demo.Storage"), "demo_storage");
        assert_eq!(module("main.door"), "main_door");
        let pkg = |n: &str| n == "echo.Ping";
        assert_eq!(
            unit_module(UnitKind::Package, "echo.Ping", pkg),
            "echo_ping"
        );
        assert_eq!(
            unit_module(UnitKind::Component, "echo.Ping", pkg),
            "echo_ping_component"
        );
        assert_eq!(
            unit_module(UnitKind::Class, "echo.Ping", pkg),
            "echo_ping_class"
        );
        assert_eq!(
            unit_module(UnitKind::Class, "echo.Server", pkg),
            "echo_server"
        );
    }
}
