//! What Ostrog's three language front ends share: the specification languages (EDL, CDL,
//! IDL, in `ostrog-idl`), the policy language (PSL, in `ostrog-policy`) and the solution
//! description (`init.yaml`, in `ostrog-init`).
//!
//! Every diagnostic of every front end names file, line and column and shows the offending
//! text the same way, so the text of a file, the arithmetic between byte offsets and
//! line/column, and the rendering live here once:
//!
//! * [`source`]: loaded files, spans (file id plus byte range), line and column of an offset;
//! * [`diagnostic`]: what went wrong, where, and what was expected, rendered with `miette`;
//! * [`name`]: dotted names such as `kl.core.Task`, how the parsers read them, and the file a
//!   name is looked for in;
//! * [`lexer`]: the tokens EDL/CDL/IDL and PSL have in common (names, integers, text,
//!   comments); each language adds its punctuation, and its keywords stay in its parser.

pub mod diagnostic;
pub mod lexer;
pub mod name;
pub mod source;

pub use diagnostic::{Diagnostic, FileDiagnostic};
pub use name::{Name, NameParser, NameToken, Path};
pub use source::{FileId, SourceFile, SourceMap, Span};
