//! Checks of model configurations (`config = ...` of a policy object).
//!
//! Each model with a configuration has one function here that turns the constant value into
//! a typed [`ObjectConfig`] and reports what does not fit: Flow's states, initial state and
//! transitions must agree with each other and with the object's `type State`; HashSet and
//! StaticMap sizes must be positive; Mic levels must be non-empty and unique. A model
//! declared by a user file (not one of the standard ones) gets its value stored unchecked.

use std::collections::{BTreeMap, BTreeSet};

use ostrog_diag::source::Span;

use crate::ast::{self, TypeExprKind};
use crate::check::{one_of, Checker};
use crate::model::*;

impl Checker<'_> {
    pub(crate) fn config(
        &mut self,
        model: &str,
        expr: &ast::Expr,
        types: &[(ast::Name, ast::TypeExpr)],
    ) -> ObjectConfig {
        let Some(value) = self.value(expr) else {
            return ObjectConfig::None;
        };
        let span = expr.span;
        match model {
            "Flow" => self.flow_config(value, span, types),
            "HashSet" => {
                let Some(fields) = self.fields(&value, span, &["set_size", "pool_size"], model)
                else {
                    return ObjectConfig::None;
                };
                let set_size = self.positive(fields.get("set_size"), "set_size", span);
                let pool_size = self.positive(fields.get("pool_size"), "pool_size", span);
                match (set_size, pool_size) {
                    (Some(set_size), Some(pool_size)) => ObjectConfig::HashSet {
                        set_size,
                        pool_size,
                    },
                    _ => ObjectConfig::None,
                }
            }
            "StaticMap" => {
                let Some(fields) = self.fields(&value, span, &["keys", "pool_size"], model) else {
                    return ObjectConfig::None;
                };
                let pool_size = self.positive(fields.get("pool_size"), "pool_size", span);
                let keys = match fields.get("keys") {
                    Some(Value::Dict(entries)) if !entries.is_empty() => {
                        let mut out = Vec::new();
                        for (k, v) in entries {
                            match v {
                                Value::Int(i) => out.push((k.clone(), *i)),
                                _ => self.bad_config(
                                    span,
                                    format!("default value of key `{k}` is not an integer"),
                                    "expected `keys : { \"key\" : <integer default>, ... }`",
                                ),
                            }
                        }
                        Some(out)
                    }
                    _ => {
                        self.bad_config(
                            span,
                            "StaticMap `keys` must be a non-empty dictionary".to_string(),
                            "expected `keys : { \"key\" : <integer default>, ... }`",
                        );
                        None
                    }
                };
                match (keys, pool_size) {
                    (Some(keys), Some(pool_size)) => ObjectConfig::StaticMap { keys, pool_size },
                    _ => ObjectConfig::None,
                }
            }
            "Mic" => self.mic_config(value, span),
            _ => ObjectConfig::Other(value),
        }
    }

    fn bad_config(&mut self, span: Span, message: String, help: &str) {
        self.error(span, message, "bad configuration", help.to_string());
    }

    /// The fields of a dictionary configuration, all required, no others.
    fn fields(
        &mut self,
        value: &Value,
        span: Span,
        wanted: &[&str],
        model: &str,
    ) -> Option<BTreeMap<String, Value>> {
        self.fields_opt(value, span, wanted, &[], model)
    }

    /// The fields of a dictionary configuration: all of `wanted`, any of `optional`, no
    /// others.
    fn fields_opt(
        &mut self,
        value: &Value,
        span: Span,
        wanted: &[&str],
        optional: &[&str],
        model: &str,
    ) -> Option<BTreeMap<String, Value>> {
        let all: Vec<&str> = wanted.iter().chain(optional).copied().collect();
        let Value::Dict(entries) = value else {
            self.bad_config(
                span,
                format!("{model} configuration must be a dictionary"),
                &format!("expected `{{ {} }}`", wanted.join(" : ..., ")),
            );
            return None;
        };
        let map: BTreeMap<String, Value> = entries.iter().cloned().collect();
        let mut ok = true;
        for k in map.keys() {
            if !all.contains(&k.as_str()) {
                self.bad_config(
                    span,
                    format!("unknown {model} configuration field `{k}`"),
                    &format!("expected only {}", one_of(all.iter().copied())),
                );
                ok = false;
            }
        }
        for w in wanted {
            if !map.contains_key(*w) {
                self.bad_config(
                    span,
                    format!("{model} configuration lacks `{w}`"),
                    &format!("expected all of {}", one_of(wanted.iter().copied())),
                );
                ok = false;
            }
        }
        ok.then_some(map)
    }

    fn positive(&mut self, v: Option<&Value>, what: &str, span: Span) -> Option<u32> {
        match v {
            Some(Value::Int(i)) if *i > 0 => u32::try_from(*i).ok().or_else(|| {
                self.bad_config(
                    span,
                    format!("`{what}` is too large"),
                    "expected at most 4294967295",
                );
                None
            }),
            Some(_) => {
                self.bad_config(
                    span,
                    format!("`{what}` must be a positive integer"),
                    "expected an integer of at least 1",
                );
                None
            }
            None => None,
        }
    }

    /// The optional `pool_size` of a Flow or Mic object (an Ostrog extension): SIDs the
    /// object can hold, from 1 to [`MAX_SID_POOL`]; [`DEFAULT_SID_POOL`] when not given.
    fn sid_pool(&mut self, v: Option<&Value>, span: Span) -> Option<u32> {
        let Some(v) = v else {
            return Some(DEFAULT_SID_POOL);
        };
        match v {
            Value::Int(i) if *i >= 1 && *i <= i128::from(MAX_SID_POOL) => u32::try_from(*i).ok(),
            _ => {
                self.bad_config(
                    span,
                    format!("`pool_size` must be an integer from 1 to {MAX_SID_POOL}"),
                    &format!("expected the number of SIDs the object can hold, at most {MAX_SID_POOL} (default {DEFAULT_SID_POOL})"),
                );
                None
            }
        }
    }

    fn text_list(&mut self, v: Option<&Value>, what: &str, span: Span) -> Option<Vec<String>> {
        let Some(Value::List(items)) = v else {
            self.bad_config(
                span,
                format!("`{what}` must be a list of texts"),
                "expected `[\"a\", \"b\"]`",
            );
            return None;
        };
        let mut out: Vec<String> = Vec::new();
        for item in items {
            match item {
                Value::Text(t) if out.contains(t) => {
                    self.bad_config(
                        span,
                        format!("`{t}` appears twice in `{what}`"),
                        "expected each name once",
                    );
                    return None;
                }
                Value::Text(t) => out.push(t.clone()),
                _ => {
                    self.bad_config(
                        span,
                        format!("`{what}` must be a list of texts"),
                        "expected `[\"a\", \"b\"]`",
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn flow_config(
        &mut self,
        value: Value,
        span: Span,
        types: &[(ast::Name, ast::TypeExpr)],
    ) -> ObjectConfig {
        let Some(fields) = self.fields_opt(
            &value,
            span,
            &["states", "initial", "transitions"],
            &["pool_size"],
            "Flow",
        ) else {
            return ObjectConfig::None;
        };
        let Some(pool_size) = self.sid_pool(fields.get("pool_size"), span) else {
            return ObjectConfig::None;
        };
        let Some(states) = self.text_list(fields.get("states"), "states", span) else {
            return ObjectConfig::None;
        };
        if states.is_empty() {
            self.bad_config(
                span,
                "Flow `states` is empty".to_string(),
                "expected at least one state",
            );
            return ObjectConfig::None;
        }
        let help = format!(
            "expected one of {}",
            one_of(states.iter().map(String::as_str))
        );
        let initial = match fields.get("initial") {
            Some(Value::Text(t)) if states.contains(t) => t.clone(),
            Some(Value::Text(t)) => {
                self.bad_config(
                    span,
                    format!("initial state `{t}` is not in `states`"),
                    &help,
                );
                return ObjectConfig::None;
            }
            _ => {
                self.bad_config(
                    span,
                    "Flow `initial` must be a state name".to_string(),
                    &help,
                );
                return ObjectConfig::None;
            }
        };
        let mut transitions = BTreeMap::new();
        let Some(Value::Dict(entries)) = fields.get("transitions") else {
            self.bad_config(
                span,
                "Flow `transitions` must be a dictionary".to_string(),
                "expected `{ \"from\" : [\"to\", ...], ... }`",
            );
            return ObjectConfig::None;
        };
        let mut ok = true;
        for (from, to) in entries {
            if !states.contains(from) {
                self.bad_config(
                    span,
                    format!("transition from unknown state `{from}`"),
                    &help,
                );
                ok = false;
                continue;
            }
            let Some(list) = self.text_list(Some(to), "transitions", span) else {
                ok = false;
                continue;
            };
            for t in &list {
                if !states.contains(t) {
                    self.bad_config(
                        span,
                        format!("transition from `{from}` to unknown state `{t}`"),
                        &help,
                    );
                    ok = false;
                }
            }
            transitions.insert(from.clone(), list);
        }
        if let Some((name, ty)) = types.iter().find(|(n, _)| n.text == "State") {
            let mut declared = BTreeSet::new();
            let alts: Vec<&ast::TypeExpr> = match &ty.kind {
                TypeExprKind::Variant(a) => a.iter().collect(),
                _ => vec![ty],
            };
            for a in alts {
                if let TypeExprKind::Text(t) = &a.kind {
                    declared.insert(t.clone());
                }
            }
            let configured: BTreeSet<String> = states.iter().cloned().collect();
            if declared != configured {
                self.error(
                    name.span,
                    "`type State` and `config.states` name different states".to_string(),
                    "does not match the configuration",
                    format!(
                        "expected `type State = {}`",
                        states
                            .iter()
                            .map(|s| format!("\"{s}\""))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return ObjectConfig::None;
        }
        ObjectConfig::Flow(FlowConfig {
            states,
            initial,
            transitions,
            pool_size,
        })
    }

    fn mic_config(&mut self, value: Value, span: Span) -> ObjectConfig {
        match &value {
            Value::List(_) => match self.text_list(Some(&value), "levels", span) {
                Some(levels) if !levels.is_empty() => ObjectConfig::Mic {
                    levels: MicLevels::Linear(levels),
                    pool_size: DEFAULT_SID_POOL,
                },
                Some(_) => {
                    self.bad_config(
                        span,
                        "Mic levels are empty".to_string(),
                        "expected at least one level",
                    );
                    ObjectConfig::None
                }
                None => ObjectConfig::None,
            },
            Value::Dict(_) => {
                let Some(fields) = self.fields_opt(
                    &value,
                    span,
                    &["degrees", "categories"],
                    &["pool_size"],
                    "Mic",
                ) else {
                    return ObjectConfig::None;
                };
                let Some(pool_size) = self.sid_pool(fields.get("pool_size"), span) else {
                    return ObjectConfig::None;
                };
                let degrees = self.text_list(fields.get("degrees"), "degrees", span);
                let categories = self.text_list(fields.get("categories"), "categories", span);
                match (degrees, categories) {
                    (Some(d), Some(_)) if d.is_empty() => {
                        self.bad_config(
                            span,
                            "Mic `degrees` is empty".to_string(),
                            "expected at least one degree",
                        );
                        ObjectConfig::None
                    }
                    (Some(degrees), Some(categories)) => ObjectConfig::Mic {
                        levels: MicLevels::Lattice {
                            degrees,
                            categories,
                        },
                        pool_size,
                    },
                    _ => ObjectConfig::None,
                }
            }
            _ => {
                self.bad_config(
                    span,
                    "Mic configuration must be a list of levels or `{ degrees, categories }`"
                        .to_string(),
                    "expected `[\"LOW\", \"HIGH\"]` or `{ degrees : [...], categories : [...] }`",
                );
                ObjectConfig::None
            }
        }
    }
}
