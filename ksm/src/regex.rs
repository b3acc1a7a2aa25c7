//! The Regex model: `re.match` and `re.select` with patterns compiled at build time.
//!
//! KasperskyOS does not document its regex dialect; patterns in public policies look like
//! `^[0-9]{4,8}$` and are always string literals. We therefore compile every pattern when the
//! policy is built, never in the kernel, using the `regex-automata` crate:
//!
//! * On the host, the policy compiler (with this crate's `compile` feature) calls
//!   `compile::compile_pattern`, which parses the pattern with `regex-syntax` and builds a
//!   dense DFA, then serializes it (little-endian; both our targets are little-endian). A
//!   pattern that does not parse, uses a feature a DFA cannot have (Unicode `\b`,
//!   look-around, back-references), or would exceed the size limit is a *build* error,
//!   reported to the policy author.
//! * In the kernel (no_std, no allocation, only regex-automata's `dfa-search` feature) the
//!   bytes are embedded as a 4-byte-aligned static ([`DfaBytes`],
//!   [`static_dfa!`](crate::static_dfa)) and
//!   loaded once with `DFA::from_bytes`, which validates them; searching is then a walk over
//!   the transition table, linear in the text, with no backtracking and no memory.
//!
//! Why a DFA crate rather than a hand-written matcher: pattern semantics (classes, repetition
//! bounds, Unicode) are subtle and a mistake is a policy bypass; regex-automata is the engine
//! behind Rust's `regex`, supports `no_std` search over serialized DFAs, and guarantees linear
//! time, so no text in a message can make a decision slow.
//!
//! ## Semantics
//!
//! * Syntax is that of Rust's `regex` crate (close to POSIX ERE plus Perl classes).
//! * **Anchoring:** a pattern matches if it matches *anywhere* in the text; `^` and `$` anchor
//!   at the start and end of the whole text (not of lines, unless the pattern enables `(?m)`).
//!   So `^[0-9]{4,8}$` requires the whole text to be 4 to 8 digits, and `[0-9]` accepts any
//!   text containing a digit. This is the reading of every mainstream regex API and of
//!   `grep -E`; a policy that means "the whole text" must say so with `^...$`.
//! * Texts are UTF-8 (strings of validated messages); patterns are Unicode-aware (`.` is one
//!   code point, `\d` any Unicode digit unless `(?-u)` or `[0-9]` is written).
//! * `re.select {text}` returns the index of the first `choice` branch whose pattern matches,
//!   or `None` when the `_` branch (or, without one, a denial) applies.
//! * Failures (automaton that does not load, a search that gives up) are expression failures,
//!   hence denials. A pattern whose bytes fail to load is still a value ([`Pattern::load`]
//!   never fails), and every use of it fails: construction of a policy cannot be made to fail
//!   half-way, and the failure is visible in audit where the pattern is used.
//!
//! Audit: the profile's `emit : ["match", "select"]` says which of the two operations of the
//! `re` object are recorded (see [`crate::profile`]).

use crate::expr::{Expr, ExprError};
use regex_automata::dfa::dense::DFA;
use regex_automata::dfa::Automaton;
use regex_automata::Input;

/// Serialized DFA bytes, aligned as `DFA::from_bytes` requires (4 bytes). The generated code
/// embeds each pattern as `static NAME: DfaBytes<N> = DfaBytes(*include_bytes!(...))` or
/// with [`static_dfa!`](crate::static_dfa).
#[derive(Debug)]
#[repr(C, align(4))]
pub struct DfaBytes<const N: usize>(pub [u8; N]);

impl<const N: usize> DfaBytes<N> {
    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Declares a static [`DfaBytes`] from a byte-string expression of known length (a
/// `b"..."` literal or `include_bytes!("pattern0.dfa")`):
///
/// ```ignore
/// ostrog_ksm::static_dfa!(pub static PIN_CODE = include_bytes!("pin_code.dfa"));
/// ```
#[macro_export]
macro_rules! static_dfa {
    ($vis:vis static $name:ident = $bytes:expr) => {
        $vis static $name: $crate::regex::DfaBytes<{ $bytes.len() }> =
            $crate::regex::DfaBytes(*$bytes);
    };
}

/// A compiled pattern, ready to search.
#[derive(Clone, Debug)]
pub struct Pattern {
    dfa: Option<DFA<&'static [u32]>>,
}

impl Pattern {
    /// Loads (and validates) serialized DFA bytes. If they do not load (corrupt, wrong
    /// endianness, misaligned), the pattern still exists but every search with it fails.
    pub fn load(bytes: &'static [u8]) -> Pattern {
        let dfa = DFA::from_bytes(bytes).ok().map(|(dfa, _)| dfa);
        Pattern { dfa }
    }

    /// True if the bytes loaded.
    pub fn is_loaded(&self) -> bool {
        self.dfa.is_some()
    }

    /// True if the pattern matches somewhere in `text` (see the anchoring rules above).
    pub fn is_match(&self, text: &str) -> Expr<bool> {
        let dfa = self.dfa.as_ref().ok_or(ExprError::Regex)?;
        let input = Input::new(text).earliest(true);
        match dfa.try_search_fwd(&input) {
            Ok(found) => Ok(found.is_some()),
            Err(_) => Err(ExprError::Regex),
        }
    }
}

/// `re.match {text, pattern}`.
pub fn matches(text: &str, pattern: &Pattern) -> Expr<bool> {
    pattern.is_match(text)
}

/// `re.select {text}` over the patterns of a `choice`'s branches, in order: the index of the
/// first that matches, or `None` (the `_` branch). A pattern that fails fails the whole
/// selection: a later branch is never taken because an earlier one could not be evaluated.
pub fn select(text: &str, branches: &[&Pattern]) -> Expr<Option<usize>> {
    for (index, pattern) in branches.iter().enumerate() {
        if pattern.is_match(text)? {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Host side: compiling patterns into DFA bytes (feature `compile`).
#[cfg(any(feature = "compile", test))]
pub mod compile {
    use regex_automata::dfa::{dense, StartKind};
    use regex_automata::util::syntax;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// Default upper bound of a serialized DFA, and of the memory used to build it.
    pub const DEFAULT_SIZE_LIMIT: usize = 1 << 20;

    /// Why a pattern could not be compiled.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct CompileError(pub String);

    impl core::fmt::Display for CompileError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for CompileError {}

    /// Compiles `pattern` into serialized little-endian DFA bytes, at most
    /// [`DEFAULT_SIZE_LIMIT`] bytes.
    pub fn compile_pattern(pattern: &str) -> Result<Vec<u8>, CompileError> {
        compile_pattern_with_limit(pattern, DEFAULT_SIZE_LIMIT)
    }

    /// Compiles `pattern` with a size limit in bytes (for the DFA and for building it).
    pub fn compile_pattern_with_limit(
        pattern: &str,
        limit: usize,
    ) -> Result<Vec<u8>, CompileError> {
        let config = dense::Config::new()
            .start_kind(StartKind::Unanchored)
            .minimize(true)
            .dfa_size_limit(Some(limit))
            .determinize_size_limit(Some(limit));
        let dfa = dense::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().unicode(true).utf8(true))
            .build(pattern)
            .map_err(|e| CompileError(e.to_string()))?;
        let (bytes, padding) = dfa.to_bytes_little_endian();
        // `padding` aligns the Vec's own buffer; the embedded static is aligned by `DfaBytes`.
        bytes
            .get(padding..)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| CompileError("serialization padding out of range".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::compile::compile_pattern;
    use super::*;
    use std::boxed::Box;
    use std::vec;

    /// Compiles `source` and leaks a 4-aligned copy of the bytes, as a static would hold them.
    fn pattern(source: &str) -> Pattern {
        Pattern::load(leak_aligned(&compile_pattern(source).unwrap_or_default()))
    }

    fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
        let buffer: &'static mut [u8] = Box::leak(vec![0u8; bytes.len() + 3].into_boxed_slice());
        let skip = (4 - buffer.as_ptr() as usize % 4) % 4;
        let aligned = &mut buffer[skip..skip + bytes.len()];
        aligned.copy_from_slice(bytes);
        aligned
    }

    static_dfa!(static PIN_FIXTURE = include_bytes!("../tests/fixtures/pin.dfa"));
    static_dfa!(static CORRUPT = b"not a dfa at all");

    #[test]
    fn embedded_static_dfa_loads_and_matches() {
        assert_eq!(core::ptr::addr_of!(PIN_FIXTURE) as usize % 4, 0);
        let pin = Pattern::load(PIN_FIXTURE.as_bytes());
        assert!(pin.is_loaded());
        assert_eq!(matches("2024", &pin), Ok(true));
        assert_eq!(matches("20x4", &pin), Ok(false));
        // The fixture is what the compiler produces today (regenerate it if this fails).
        assert_eq!(
            compile_pattern(PIN_SOURCE).ok().as_deref(),
            Some(PIN_FIXTURE.as_bytes())
        );
    }

    const PIN_SOURCE: &str = "^[0-9]{4,8}$";

    /// `cargo test -p ostrog-ksm -- --ignored regenerate` rewrites the fixture.
    #[test]
    #[ignore]
    fn regenerate_regex_fixture() {
        let bytes = compile_pattern(PIN_SOURCE).unwrap_or_default();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pin.dfa");
        assert!(std::fs::write(path, bytes).is_ok());
    }

    #[test]
    fn unusable_patterns_fail_every_search() {
        let corrupt = Pattern::load(CORRUPT.as_bytes());
        assert!(!corrupt.is_loaded());
        assert_eq!(matches("anything", &corrupt), Err(ExprError::Regex));
        let ok = pattern("a");
        assert_eq!(select("a", &[&corrupt, &ok]), Err(ExprError::Regex));
        // Misaligned bytes of a valid DFA do not load.
        let good = compile_pattern("a").unwrap_or_default();
        let aligned = leak_aligned(&[&[0u8][..], &good[..]].concat());
        assert!(!Pattern::load(aligned.get(1..).unwrap_or(&[])).is_loaded());
    }

    #[test]
    fn select_takes_the_first_matching_branch() {
        let (digits, letters, any) = (pattern("^[0-9]+$"), pattern("^[a-z]+$"), pattern(""));
        assert_eq!(select("123", &[&digits, &letters]), Ok(Some(0)));
        assert_eq!(select("abc", &[&digits, &letters]), Ok(Some(1)));
        assert_eq!(select("a1", &[&digits, &letters]), Ok(None));
        assert_eq!(select("a1", &[&digits, &letters, &any]), Ok(Some(2)));
        assert_eq!(select("x", &[]), Ok(None));
    }

    #[test]
    fn unicode_and_build_errors() {
        let dot = pattern("^.$");
        assert_eq!(dot.is_match("Ж"), Ok(true), ". is one code point");
        assert_eq!(dot.is_match("ab"), Ok(false));
        assert!(compile_pattern("(").is_err());
        assert!(
            compile_pattern(r"\bword\b").is_err(),
            "Unicode word boundary: no DFA"
        );
        assert!(compile_pattern(r"(?-u:\b)word").is_ok());
        assert!(
            super::compile::compile_pattern_with_limit("[a-z]{50}[0-9]{50}x{1000}", 1024).is_err()
        );
    }

    #[test]
    fn anchoring_follows_mainstream_semantics() {
        let pin = pattern("^[0-9]{4,8}$");
        assert!(pin.is_loaded());
        assert_eq!(pin.is_match("1234"), Ok(true));
        assert_eq!(pin.is_match("12345678"), Ok(true));
        assert_eq!(pin.is_match("123"), Ok(false));
        assert_eq!(pin.is_match("123456789"), Ok(false));
        assert_eq!(pin.is_match("12ab"), Ok(false));
        assert_eq!(pin.is_match("x1234"), Ok(false));
        assert_eq!(
            pin.is_match("1234\n"),
            Ok(false),
            "$ is the end of the text"
        );
        let digit = pattern("[0-9]");
        assert_eq!(
            digit.is_match("abc7def"),
            Ok(true),
            "unanchored matches anywhere"
        );
        assert_eq!(digit.is_match("abc"), Ok(false));
        let empty = pattern("^$");
        assert_eq!(empty.is_match(""), Ok(true));
        assert_eq!(empty.is_match("a"), Ok(false));
    }
}
