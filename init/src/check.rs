//! From `init.yaml` to a checked [`Solution`], or to every diagnostic at once.
//!
//! Checking runs in two passes over the marked tree of [`crate::yaml`]. The first reads
//! each entity on its own: known keys, value types, name rules, and the defaults (`task`
//! is the class name, `path` the class's last dotted part). The second looks across
//! entities: unique task names, connection targets that exist and are not the client
//! itself, channel ids unique per client, and, when the caller says what the image and the
//! EDL files hold, that every executable and every class is there.
//!
//! The passes do not stop at the first problem: a person fixing `init.yaml` wants the whole
//! list. They avoid knock-on errors instead: an entity whose name is broken still
//! registers its task, so connections to it are not reported as unknown as well.
//! A solution is returned only when there is nothing to report.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::names::{self, NameKind};
use crate::solution::{Channel, Process, Solution};
use crate::table::{
    DEFAULT_PRIORITY, LINUX_PERSONALITY, MAX_ARGS, MAX_CHANNELS, MAX_ENV, MAX_PRIORITY,
    MAX_PROCESSES,
};
use crate::yaml::{self, Kind, Node};
use ostrog_diag::FileDiagnostic;
use ostrog_diag::SourceFile;

/// What the checker may assume about the rest of the solution.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The executables the image will contain; `None` skips the check.
    pub executables: Option<Vec<String>>,
    /// The process classes declared in EDL files; `None` skips the check.
    pub classes: Option<Vec<String>>,
    /// Where the C headers of `id: {var: NAME, include: path/header.h}` are searched after
    /// the folder of `init.yaml` (a solution's `-I` folders).
    pub include_dirs: Vec<PathBuf>,
}

/// Reads and checks an `init.yaml` file.
pub fn load(path: &Path, options: &Options) -> Result<Solution, Vec<FileDiagnostic>> {
    match std::fs::read_to_string(path) {
        Ok(text) => check_source(path, text, options),
        Err(e) => {
            let file = Arc::new(SourceFile::new(path, ""));
            Err(vec![FileDiagnostic::new(
                &file,
                0..0,
                format!("cannot read the file: {e}"),
                "",
            )
            .help("give the path of the solution's init.yaml")])
        }
    }
}

/// Checks `text` as the contents of the file `path` (which is only used in messages).
pub fn check_source(
    path: impl Into<PathBuf>,
    text: impl Into<String>,
    options: &Options,
) -> Result<Solution, Vec<FileDiagnostic>> {
    let file = Arc::new(SourceFile::new(path, text));
    let root = match yaml::parse(&file) {
        Ok(root) => root,
        Err(d) => return Err(vec![d]),
    };
    let mut checker = Checker {
        file,
        options,
        diagnostics: Vec::new(),
    };
    let solution = checker.solution(root.as_ref());
    match checker.diagnostics.is_empty() {
        true => Ok(solution),
        false => Err(checker.diagnostics),
    }
}

const TOP_KEYS: &[&str] = &["entities"];
const ENTITY_KEYS: &[&str] = &[
    "name",
    "task",
    "path",
    "args",
    "env",
    "connections",
    "dynamic_connection_manager",
    "priority",
    "linux",
    "memory",
];
const CONNECTION_KEYS: &[&str] = &["target", "id"];
const HEADER_ID_KEYS: &[&str] = &["var", "include"];

/// A string value and where it was written.
#[derive(Clone, Debug)]
struct Text {
    value: String,
    span: Range<usize>,
}

/// One connection as written.
#[derive(Debug)]
struct Connection {
    target: Option<Text>,
    id: Option<Text>,
}

/// One entity as written, before defaults and cross-entity checks.
#[derive(Debug, Default)]
struct Entity {
    class: Option<Text>,
    task: Option<Text>,
    path: Option<Text>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    connections: Vec<Connection>,
    dynamic_connection_manager: Option<Flag>,
    priority: Option<u8>,
    linux: Option<Flag>,
    memory: Option<u64>,
}

/// A `true`/`false` key as written, and where its key is.
#[derive(Clone, Copy, Debug)]
struct Flag {
    value: bool,
    key: usize,
}

impl Flag {
    fn on(flag: Option<Flag>) -> bool {
        flag.is_some_and(|f| f.value)
    }
}

impl Entity {
    /// The task name and where to point at it: `task:` if given, else the class.
    fn task(&self) -> Option<&Text> {
        self.task.as_ref().or(self.class.as_ref())
    }
}

struct Checker<'o> {
    file: Arc<SourceFile>,
    options: &'o Options,
    diagnostics: Vec<FileDiagnostic>,
}

/// `a, b, c` with backticks, at most `limit` items and an ellipsis after.
fn listing<'a>(items: impl Iterator<Item = &'a str>, limit: usize) -> String {
    let items: Vec<&str> = items.collect();
    let mut out: Vec<String> = items.iter().take(limit).map(|s| format!("`{s}`")).collect();
    if items.len() > limit {
        out.push(format!("and {} more", items.len() - limit));
    }
    match out.is_empty() {
        true => "none".to_string(),
        false => out.join(", "),
    }
}

/// The class of the dynamic connection manager.
const DCM_CLASS: &str = "kl.core.DCM";

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String, label: &str, help: String) {
        let d = FileDiagnostic::new(&self.file, span, message, label).help(help);
        self.diagnostics.push(d);
    }

    fn place(&self, offset: usize) -> String {
        let (line, col) = self.file.line_col(offset);
        format!("{line}:{col}")
    }

    fn solution(&mut self, root: Option<&Node>) -> Solution {
        let Some(root) = root else {
            self.error(
                0..0,
                "the file is empty".to_string(),
                "expected `entities:` here",
                "init.yaml is a map with the key `entities` and a list of processes".to_string(),
            );
            return Solution::default();
        };
        let Kind::Map(top) = &root.kind else {
            self.error(
                root.span.clone(),
                format!(
                    "the top level must be a map with the key `entities`, found {}",
                    root.describe()
                ),
                "expected `entities:`",
                "start the file with `entities:` followed by a list of processes".to_string(),
            );
            return Solution::default();
        };
        let fields = self.fields(top, TOP_KEYS, "at the top level");
        let Some((_, key, list)) = fields.into_iter().find(|(k, _, _)| *k == "entities") else {
            self.error(
                root.span.start..root.span.start,
                "missing key `entities`".to_string(),
                "expected `entities:`",
                "the top level of init.yaml is `entities:` followed by a list of processes"
                    .to_string(),
            );
            return Solution::default();
        };
        let Kind::Seq(items) = &list.kind else {
            self.error(
                list.span.clone(),
                format!("`entities` must be a list, found {}", list.describe()),
                "expected a list",
                "write each process as a list item: `- name: demo.Client`".to_string(),
            );
            return Solution::default();
        };
        let entities: Vec<Entity> = items.iter().filter_map(|n| self.entity(n)).collect();
        if entities.len() > MAX_PROCESSES {
            self.error(
                key.span.clone(),
                format!(
                    "too many processes: {}, at most {MAX_PROCESSES}",
                    entities.len()
                ),
                "here",
                "split the solution or start the rest dynamically".to_string(),
            );
        }
        self.across(&entities, key.span.clone())
    }

    /// The string keys of a map, reporting unknown, duplicate and non-string keys.
    fn fields<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        allowed: &[&str],
        place: &str,
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.text() else {
                self.error(
                    key.span.clone(),
                    format!("a key must be a name, found {}", key.describe()),
                    "not a key",
                    format!(
                        "keys allowed {place}: {}",
                        listing(allowed.iter().copied(), 10)
                    ),
                );
                continue;
            };
            if !allowed.contains(&name) {
                self.error(
                    key.span.clone(),
                    format!("unknown key `{name}` {place}"),
                    "unknown key",
                    format!(
                        "keys allowed {place}: {}",
                        listing(allowed.iter().copied(), 10)
                    ),
                );
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == name) {
                let first = self.place(*first);
                self.error(
                    key.span.clone(),
                    format!("key `{name}` appears twice"),
                    "second time",
                    format!("the first `{name}` is at {first}; keep one"),
                );
                continue;
            }
            seen.push((name, key.span.start));
            out.push((name, key, value));
        }
        out
    }

    /// A scalar that stands for a string (numbers and booleans count by their text).
    fn string(&mut self, node: &Node, key: &str, example: &str) -> Option<Text> {
        match node.text() {
            Some(text) => Some(Text {
                value: text.to_string(),
                span: node.span.clone(),
            }),
            None => {
                self.error(
                    node.span.clone(),
                    format!("`{key}` must be a string, found {}", node.describe()),
                    "expected a string",
                    format!("write it like `{example}`"),
                );
                None
            }
        }
    }

    /// Checks a name against its rule; reports and returns false when it breaks it.
    fn name(&mut self, text: &Text, kind: NameKind) -> bool {
        match names::check(kind, &text.value) {
            Ok(()) => true,
            Err(problem) => {
                let message = match text.value.is_empty() {
                    true => format!("invalid {}: {problem}", kind.noun()),
                    false => format!("invalid {} `{}`: {problem}", kind.noun(), text.value),
                };
                self.error(
                    text.span.clone(),
                    message,
                    &format!("invalid {}", kind.noun()),
                    kind.rule().to_string(),
                );
                false
            }
        }
    }

    fn entity(&mut self, node: &Node) -> Option<Entity> {
        let Kind::Map(entries) = &node.kind else {
            self.error(
                node.span.clone(),
                format!("an entity must be a map, found {}", node.describe()),
                "expected a map",
                "write an entity like `- name: demo.Client`".to_string(),
            );
            return None;
        };
        let mut entity = Entity::default();
        let mut has_name = false;
        for (key, key_node, value) in self.fields(entries, ENTITY_KEYS, "in an entity") {
            match key {
                "name" => {
                    has_name = true;
                    entity.class = self
                        .string(value, key, "name: demo.Client")
                        .filter(|t| self.name(t, NameKind::Class));
                }
                "task" => {
                    entity.task = self
                        .string(value, key, "task: client-1")
                        .filter(|t| self.name(t, NameKind::Task));
                }
                "path" => {
                    entity.path = self
                        .string(value, key, "path: client")
                        .filter(|t| self.name(t, NameKind::Path));
                }
                "args" => entity.args = self.args(value),
                "env" => entity.env = self.env(value),
                "connections" => entity.connections = self.connections(value),
                "priority" => entity.priority = self.priority(value),
                "memory" => entity.memory = self.memory(value),
                _ => match value.boolean() {
                    Some(flag) => {
                        let flag = Some(Flag {
                            value: flag,
                            key: key_node.span.start,
                        });
                        match key {
                            "linux" => entity.linux = flag,
                            _ => entity.dynamic_connection_manager = flag,
                        }
                    }
                    None => self.error(
                        value.span.clone(),
                        format!(
                            "`{key}` must be `true` or `false`, found {}",
                            value.describe()
                        ),
                        "expected true or false",
                        format!("write `{key}: true` (without quotes) or leave the key out"),
                    ),
                },
            }
        }
        if !has_name {
            self.error(
                node.span.start..node.span.start,
                "entity has no `name`".to_string(),
                "this entity",
                "every entity names its process class (EDL): `name: demo.Client`".to_string(),
            );
        }
        self.linux_rules(&entity);
        Some(entity)
    }

    /// What a Linux program (`linux: true`) may not be: the personality itself.
    fn linux_rules(&mut self, entity: &Entity) {
        if !entity.linux.is_some_and(|f| f.value) {
            return;
        }
        if let Some(path) = entity
            .path
            .as_ref()
            .filter(|p| p.value == LINUX_PERSONALITY)
        {
            self.error(
                path.span.clone(),
                format!("`{LINUX_PERSONALITY}` is the Linux personality, not a Linux program"),
                "the personality",
                format!(
                    "`path:` of a `linux: true` entity names the Linux executable in the \
                     image (for instance `hello`); Einit starts `{LINUX_PERSONALITY}` with it"
                ),
            );
        }
    }

    /// `memory:` (an Ostrog extension): the process's memory limit, a whole number of bytes
    /// with an optional unit `K`, `M` or `G` (KiB, MiB, GiB): `memory: 64M`. Rounded up to
    /// 4 KiB pages; at least one page, at most [`MAX_MEMORY`].
    fn memory(&mut self, node: &Node) -> Option<u64> {
        let bytes = match &node.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => parse_memory(text),
            _ => None,
        };
        match bytes {
            Some(b) if (1..=MAX_MEMORY).contains(&b) => Some(b),
            Some(_) => {
                self.error(
                    node.span.clone(),
                    format!("memory limit `{}` is out of range", scalar_text(node)),
                    "out of range",
                    format!(
                        "a limit is at least 1 byte (one 4 KiB page) and at most {} GiB",
                        MAX_MEMORY >> 30
                    ),
                );
                None
            }
            None => {
                self.error(
                    node.span.clone(),
                    format!(
                        "`memory` must be a number of bytes with an optional unit K, M or G, \
                         found {}",
                        node.describe()
                    ),
                    "expected a size",
                    "write it like `memory: 64M` or leave the key out (the kernel's default, \
                     a quarter of RAM)"
                        .to_string(),
                );
                None
            }
        }
    }

    /// `priority:` (an Ostrog extension): a plain number from 0 to [`MAX_PRIORITY`].
    fn priority(&mut self, node: &Node) -> Option<u8> {
        let number = match &node.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => text.parse::<u8>().ok(),
            _ => None,
        };
        match number {
            Some(p) if p <= MAX_PRIORITY => Some(p),
            Some(p) => {
                self.error(
                    node.span.clone(),
                    format!("priority {p} is above {MAX_PRIORITY}"),
                    "too high",
                    format!(
                        "programs run below Einit ({}); the default is {DEFAULT_PRIORITY}",
                        MAX_PRIORITY + 1
                    ),
                );
                None
            }
            None => {
                self.error(
                    node.span.clone(),
                    format!(
                        "`priority` must be a number from 0 to {MAX_PRIORITY}, found {}",
                        node.describe()
                    ),
                    "expected a number",
                    format!("write it like `priority: {DEFAULT_PRIORITY}` or leave the key out"),
                );
                None
            }
        }
    }

    fn args(&mut self, node: &Node) -> Vec<String> {
        let Kind::Seq(items) = &node.kind else {
            self.error(
                node.span.clone(),
                format!(
                    "`args` must be a list of strings, found {}",
                    node.describe()
                ),
                "expected a list",
                "write the arguments like `args: [\"-v\", \"--port\", \"80\"]`".to_string(),
            );
            return Vec::new();
        };
        if items.len() > MAX_ARGS {
            self.error(
                node.span.clone(),
                format!("too many arguments: {}, at most {MAX_ARGS}", items.len()),
                "here",
                "pass bulk configuration in a file instead".to_string(),
            );
        }
        let mut args = Vec::new();
        for item in items {
            if let Some(arg) = self.string(item, "an argument", "args: [\"-v\"]") {
                if self.value(&arg, "an argument") {
                    args.push(arg.value);
                }
            }
        }
        args
    }

    /// Checks an argument or environment value for NUL characters.
    fn value(&mut self, text: &Text, what: &str) -> bool {
        match names::check_value(&text.value) {
            Ok(()) => true,
            Err(_) => {
                self.error(
                    text.span.clone(),
                    format!("{what} contains a NUL character"),
                    "contains \\0",
                    "a program sees a NUL as the end of the string; remove it".to_string(),
                );
                false
            }
        }
    }

    fn env(&mut self, node: &Node) -> Vec<(String, String)> {
        let Kind::Map(entries) = &node.kind else {
            self.error(
                node.span.clone(),
                format!(
                    "`env` must be a map of names to strings, found {}",
                    node.describe()
                ),
                "expected a map",
                "write the environment as `NAME: value` lines under `env:`".to_string(),
            );
            return Vec::new();
        };
        if entries.len() > MAX_ENV {
            self.error(
                node.span.clone(),
                format!(
                    "too many environment variables: {}, at most {MAX_ENV}",
                    entries.len()
                ),
                "here",
                "pass bulk configuration in a file instead".to_string(),
            );
        }
        let mut env: Vec<(String, String)> = Vec::new();
        let mut first_at: HashMap<String, usize> = HashMap::new();
        for (key, value) in entries {
            let Some(name) = self.string(key, "an environment variable name", "MODE: fast") else {
                continue;
            };
            if !self.name(&name, NameKind::EnvKey) {
                continue;
            }
            if let Some(first) = first_at.get(&name.value) {
                let first = self.place(*first);
                self.error(
                    name.span.clone(),
                    format!("environment variable `{}` is set twice", name.value),
                    "second time",
                    format!("the first is at {first}; keep one"),
                );
                continue;
            }
            first_at.insert(name.value.clone(), name.span.start);
            let what = format!("environment variable `{}`", name.value);
            if let Some(v) = self.string(value, &what, "MODE: fast") {
                if self.value(&v, &what) {
                    env.push((name.value, v.value));
                }
            }
        }
        env
    }

    fn connections(&mut self, node: &Node) -> Vec<Connection> {
        let Kind::Seq(items) = &node.kind else {
            self.error(
                node.span.clone(),
                format!("`connections` must be a list, found {}", node.describe()),
                "expected a list",
                "write each connection as `- {target: <server task>, id: <channel name>}`"
                    .to_string(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Kind::Map(entries) = &item.kind else {
                self.error(
                    item.span.clone(),
                    format!("a connection must be a map, found {}", item.describe()),
                    "expected a map",
                    "write a connection as `- {target: <server task>, id: <channel name>}`"
                        .to_string(),
                );
                continue;
            };
            let mut connection = Connection {
                target: None,
                id: None,
            };
            let (mut has_target, mut has_id) = (false, false);
            for (key, _, value) in self.fields(entries, CONNECTION_KEYS, "in a connection") {
                if key == "target" {
                    has_target = true;
                    connection.target = self
                        .string(value, key, "target: demo.Server")
                        .filter(|t| self.name(t, NameKind::Task));
                } else {
                    has_id = true;
                    connection.id = self.channel_id(value);
                }
            }
            for (present, key, example) in [
                (has_target, "target", "target: demo.Server"),
                (has_id, "id", "id: server_connection"),
            ] {
                if !present {
                    self.error(
                        item.span.start..item.span.start,
                        format!("connection has no `{key}`"),
                        "this connection",
                        format!(
                            "a connection names the server task and the channel: add `{example}`"
                        ),
                    );
                }
            }
            out.push(connection);
        }
        if out.len() > MAX_CHANNELS {
            self.error(
                node.span.clone(),
                format!("too many channels: {}, at most {MAX_CHANNELS}", out.len()),
                "here",
                "use the dynamic connection manager for the rest".to_string(),
            );
        }
        out
    }

    /// A channel id: a string, or `{var: NAME, include: path/header.h}`, the string that
    /// header `#define`s NAME to (see [`crate::header`]).
    fn channel_id(&mut self, node: &Node) -> Option<Text> {
        if let Kind::Map(entries) = &node.kind {
            let fields = self.fields(entries, HEADER_ID_KEYS, "in a channel id");
            let var = fields
                .iter()
                .find(|(k, _, _)| *k == "var")
                .and_then(|(_, _, v)| v.text().map(|t| (t.to_string(), v.span.clone())));
            let include = fields
                .iter()
                .find(|(k, _, _)| *k == "include")
                .and_then(|(_, _, v)| v.text().map(|t| (t.to_string(), v.span.clone())));
            let (Some((var, var_span)), Some((include, include_span))) = (var, include) else {
                self.error(
                    node.span.clone(),
                    "a channel id from a header needs `var` and `include`".to_string(),
                    "this id",
                    "write `id: {var: NAME, include: path/header.h}`, NAME being `#define`d to \
                     the channel name in that header"
                        .to_string(),
                );
                return None;
            };
            let mut dirs: Vec<PathBuf> = self
                .file
                .path
                .parent()
                .map(Path::to_path_buf)
                .into_iter()
                .collect();
            for d in &self.options.include_dirs {
                if !dirs.contains(d) {
                    dirs.push(d.clone());
                }
            }
            return match crate::header::define(&include, &var, &dirs) {
                Ok(value) => Some(Text {
                    value,
                    span: node.span.clone(),
                })
                .filter(|t| self.name(t, NameKind::ChannelId)),
                Err(crate::header::Missing::Header(searched)) => {
                    self.error(
                        include_span,
                        format!("header `{include}` not found"),
                        "this header",
                        format!("searched {searched}; give its folder with -I"),
                    );
                    None
                }
                Err(crate::header::Missing::Define(path)) => {
                    self.error(
                        var_span,
                        format!("`{var}` is not #defined to a string in {path}"),
                        "this name",
                        format!("expected a line `#define {var} \"channel_name\"` in the header"),
                    );
                    None
                }
            };
        }
        self.string(node, "id", "id: server_connection")
            .filter(|t| self.name(t, NameKind::ChannelId))
    }

    /// The checks across entities, and the solution with every default filled in.
    fn across(&mut self, entities: &[Entity], entities_key: Range<usize>) -> Solution {
        let mut tasks: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut solution = Solution::default();
        for (index, entity) in entities.iter().enumerate() {
            if let Some(task) = entity.task() {
                if let Some((_, first)) = tasks.get(task.value.as_str()) {
                    let first = self.place(*first);
                    let help = match entity.task.is_none() {
                        true => format!(
                            "the first is at {first}; two processes of one class need distinct `task:` names"
                        ),
                        false => format!("the first is at {first}; task names must be unique"),
                    };
                    self.error(
                        task.span.clone(),
                        format!("task `{}` is declared twice", task.value),
                        "second time",
                        help,
                    );
                } else {
                    tasks.insert(&task.value, (index, task.span.start));
                }
            }
            let Some(class) = &entity.class else {
                continue;
            };
            self.known_class(class);
            let path = match &entity.path {
                Some(path) => path.value.clone(),
                None => names::default_path(&class.value).to_string(),
            };
            self.known_executable(entity, &path, class);
            solution.processes.push(Process {
                task: entity.task().map_or_else(String::new, |t| t.value.clone()),
                class: class.value.clone(),
                path,
                args: entity.args.clone(),
                env: entity.env.clone(),
                dynamic_connection_manager: Flag::on(entity.dynamic_connection_manager),
                linux: Flag::on(entity.linux),
                priority: entity.priority,
                memory: entity.memory,
            });
        }
        self.manager_present(entities);
        let mut total = 0usize;
        for (client, entity) in entities.iter().enumerate() {
            let mut ids: HashMap<&str, usize> = HashMap::new();
            for connection in &entity.connections {
                total += 1;
                let server = connection
                    .target
                    .as_ref()
                    .and_then(|t| self.target(t, entity, entities, &tasks));
                let Some(id) = &connection.id else { continue };
                if let Some(first) = ids.get(id.value.as_str()) {
                    let first = self.place(*first);
                    let task = entity.task().map_or("", |t| t.value.as_str());
                    self.error(
                        id.span.clone(),
                        format!("channel `{}` is declared twice for task `{task}`", id.value),
                        "second time",
                        format!(
                            "the first is at {first}; the client finds a channel by its id, so each of its channels needs its own"
                        ),
                    );
                    continue;
                }
                ids.insert(&id.value, id.span.start);
                if let Some(server) = server {
                    solution.channels.push(Channel {
                        client,
                        server,
                        id: id.value.clone(),
                    });
                }
            }
        }
        if total > MAX_CHANNELS {
            self.error(
                entities_key,
                format!("too many channels: {total}, at most {MAX_CHANNELS}"),
                "in these entities",
                "use the dynamic connection manager for the rest".to_string(),
            );
        }
        solution
    }

    /// A program marked `dynamic_connection_manager: true` needs the manager in the solution:
    /// Einit connects it to the process of class `kl.core.DCM`.
    fn manager_present(&mut self, entities: &[Entity]) {
        let present = entities
            .iter()
            .any(|e| e.class.as_ref().is_some_and(|c| c.value == DCM_CLASS));
        if present {
            return;
        }
        for entity in entities {
            if let Some(flag) = entity.dynamic_connection_manager.filter(|f| f.value) {
                self.error(
                    flag.key..flag.key + "dynamic_connection_manager".len(),
                    "the solution has no dynamic connection manager".to_string(),
                    "uses it",
                    format!(
                        "add `- name: {DCM_CLASS}` to the entities: Einit connects the programs \
                         that use it to that process"
                    ),
                );
            }
        }
    }

    /// The server index of a connection's target, after reporting unknown targets and
    /// self-connections.
    fn target(
        &mut self,
        target: &Text,
        client: &Entity,
        entities: &[Entity],
        tasks: &HashMap<&str, (usize, usize)>,
    ) -> Option<usize> {
        let Some((server, _)) = tasks.get(target.value.as_str()) else {
            let renamed: Vec<&str> = entities
                .iter()
                .filter(|e| e.class.as_ref().is_some_and(|c| c.value == target.value))
                .filter_map(|e| e.task.as_ref().map(|t| t.value.as_str()))
                .collect();
            let help = match renamed.is_empty() {
                false => format!(
                    "`{}` is a class, started as task{} {}; `target` names a task",
                    target.value,
                    if renamed.len() == 1 { "" } else { "s" },
                    listing(renamed.into_iter(), 10)
                ),
                true => {
                    let mut known: Vec<&str> = tasks.keys().copied().collect();
                    known.sort_unstable();
                    format!("tasks in this solution: {}", listing(known.into_iter(), 10))
                }
            };
            self.error(
                target.span.clone(),
                format!("connection to unknown task `{}`", target.value),
                "no such task",
                help,
            );
            return None;
        };
        if client.task().is_some_and(|t| t.value == target.value) {
            self.error(
                target.span.clone(),
                format!("task `{}` connects to itself", target.value),
                "the client itself",
                "a connection goes from this entity (the client) to another task (the server)"
                    .to_string(),
            );
            return None;
        }
        Some(*server)
    }

    fn known_class(&mut self, class: &Text) {
        let Some(classes) = &self.options.classes else {
            return;
        };
        if classes.contains(&class.value) {
            return;
        }
        let help = format!(
            "classes declared in the EDL files: {}",
            listing(classes.iter().map(String::as_str), 10)
        );
        self.error(
            class.span.clone(),
            format!("unknown class `{}`", class.value),
            "no EDL declares this class",
            help,
        );
    }

    fn known_executable(&mut self, entity: &Entity, path: &str, class: &Text) {
        let Some(executables) = &self.options.executables else {
            return;
        };
        if let Some(linux) = entity.linux.filter(|f| f.value) {
            if !executables.iter().any(|e| e.as_str() == LINUX_PERSONALITY) {
                let at = linux.key;
                self.error(
                    at..at + "linux".len(),
                    format!("the Linux personality `{LINUX_PERSONALITY}` is not in the image"),
                    "a Linux program",
                    format!(
                        "Einit starts a Linux program through `{LINUX_PERSONALITY}` (built from \
                         system/linux); build the image with it"
                    ),
                );
            }
        }
        if executables.iter().any(|e| e.as_str() == path) {
            return;
        }
        let available = listing(executables.iter().map(String::as_str), 10);
        match &entity.path {
            Some(given) => self.error(
                given.span.clone(),
                format!("executable `{path}` is not in the image"),
                "no such executable",
                format!("executables in the image: {available}"),
            ),
            None => self.error(
                class.span.clone(),
                format!(
                    "executable `{path}` (the default path for class `{}`) is not in the image",
                    class.value
                ),
                "no such executable",
                format!("executables in the image: {available}; set `path:` to name another"),
            ),
        }
    }
}

/// The largest `memory:` limit: what the table's page count can hold (16 TiB).
pub const MAX_MEMORY: u64 = u32::MAX as u64 * crate::table::MEMORY_PAGE;

/// `64M` and the like: digits, then nothing (bytes) or one of `K`, `M`, `G`.
fn parse_memory(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' => (&text[..text.len() - 1], 10),
        b'M' => (&text[..text.len() - 1], 20),
        b'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The text of a plain scalar (for messages).
fn scalar_text(node: &Node) -> &str {
    match &node.kind {
        Kind::Scalar { text, .. } => text,
        _ => "",
    }
}
