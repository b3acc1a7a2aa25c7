//! Times the `cedar-policy` crate deciding the rules of `cargo xtask bench policy`'s
//! generated solution with `N` classes (the first argument): for every class `C<i>` a
//! request rule to `C<i+1>` on endpoint `svc`, method `Put`, granted only when the message's
//! `x` is below 1,000, and a response rule back; the kernel's execute, request and response
//! rules. The event mix and the classes it uses are those of the Ostrog side: a granted
//! request, a request denied by its rule, a granted response, a request no rule covers, an
//! execute, for eight classes spread over the range. Requests are built before timing, so
//! the figure is `is_authorized` alone. Prints nanoseconds per decision, the best of five
//! runs.

use std::hint::black_box;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request, RestrictedExpression,
};

fn uid(kind: &str, name: &str) -> EntityUid {
    EntityUid::from_str(&format!("{kind}::\"{name}\"")).expect("entity id")
}

fn policies(n: usize) -> PolicySet {
    let mut text = String::from(
        "permit(principal == Class::\"kl.core.Core\", action == Action::\"Execute\", resource);\n\
         permit(principal == Class::\"Einit\", action == Action::\"Execute\", resource);\n\
         permit(principal, action == Action::\"Request\", resource == Class::\"kl.core.Core\");\n\
         permit(principal == Class::\"kl.core.Core\", action == Action::\"Response\", resource);\n",
    );
    for i in 0..n {
        let j = (i + 1) % n;
        text.push_str(&format!(
            "permit(principal == Class::\"bench.C{i}\", action == Action::\"Request\", \
             resource == Class::\"bench.C{j}\") when {{ context.endpoint == \"svc\" && \
             context.method == \"Put\" && context.x < 1000 }};\n\
             permit(principal == Class::\"bench.C{j}\", action == Action::\"Response\", \
             resource == Class::\"bench.C{i}\");\n"
        ));
    }
    PolicySet::from_str(&text).expect("the generated policies parse")
}

fn request(action: &str, src: &str, dst: &str, x: Option<i64>) -> Request {
    let context = match x {
        Some(x) => Context::from_pairs([
            (
                "endpoint".to_string(),
                RestrictedExpression::new_string("svc".into()),
            ),
            (
                "method".to_string(),
                RestrictedExpression::new_string("Put".into()),
            ),
            ("x".to_string(), RestrictedExpression::new_long(x)),
        ])
        .expect("context"),
        None => Context::empty(),
    };
    Request::new(
        uid("Class", src),
        uid("Action", action),
        uid("Class", dst),
        context,
        None,
    )
    .expect("request")
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .filter(|n| *n > 0)
        .expect("usage: ostrog-cedar-bench CLASSES");
    let rounds: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let set = policies(n);
    let entities = Entities::empty();
    let authorizer = Authorizer::new();
    let class = |i: usize| format!("bench.C{}", i % n);
    let mut events = Vec::new();
    for k in 0..8 {
        let i = k * n / 8;
        let (a, b, c) = (class(i), class(i + 1), class(i + 2));
        events.push((request("Request", &a, &b, Some(5)), true));
        events.push((request("Request", &a, &b, Some(5000)), false));
        events.push((request("Response", &b, &a, None), true));
        events.push((request("Request", &a, &c, Some(5)), n <= 2));
        events.push((request("Execute", "Einit", &a, None), true));
    }
    for (r, want) in &events {
        let granted = authorizer.is_authorized(r, &set, &entities).decision() == Decision::Allow;
        assert_eq!(granted, *want, "{r}");
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for (r, _) in &events {
                black_box(authorizer.is_authorized(black_box(r), &set, &entities));
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / (rounds as f64 * events.len() as f64);
        best = best.min(ns);
    }
    println!("{best:.1}");
}
