//! A writer: runs as logger.Writer and as logger.Auditor, named by its first argument. It
//! writes three plain records, and between them tries what the policy forbids a writer:
//! reading the log, and writing a record that fails the policy's pattern.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::sys::{Channel, CoreTransport};
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::logger_log::LogProxy;
use idl::logger_server::riid;
use idl::spec_rt::CallError;

ostrog_rt::main!(main);

/// What a writer does, in order.
enum Step {
    /// Write "NAME: text"; `allowed` says whether the policy's pattern lets it through.
    Write(&'static str, bool),
    /// Read the first record: the policy lets only the reader read.
    Read,
}

/// The first argument (init.yaml's `args`), or "writer".
fn name() -> String {
    let mut task = TaskProxy {
        transport: CoreTransport,
        riid: core_riid::TASK,
    };
    let args = task.args().map(|a| a.args).unwrap_or_default();
    args.split(|&b| b == 0)
        .find(|a| !a.is_empty())
        .and_then(|a| core::str::from_utf8(a).ok())
        .map_or_else(|| "writer".into(), String::from)
}

/// What refused a call: "access denied" when the policy did.
fn why<E: core::fmt::Debug>(e: &CallError<E>) -> String {
    call_refusal(e).map_or_else(|| format!("{e:?}"), |s| String::from(s.name()))
}

fn main() -> i32 {
    let me = name();
    let Ok(channel) = Channel::lookup("log") else {
        println!("{me}: no channel named log");
        return 1;
    };
    let mut log = LogProxy {
        transport: channel,
        riid: riid::LOG,
    };
    let steps = [
        Step::Write("service started", true),
        Step::Read,
        // `$`, `(`, `)` and `/` are not in the policy's pattern: the record is refused.
        Step::Write("$(rm -rf /)", false),
        Step::Write("2 jobs done", true),
        Step::Write("service stopping", true),
    ];
    let mut surprises = 0;
    for step in steps {
        let (granted, allowed) = match step {
            Step::Write(text, allowed) => {
                let record = format!("{me}: {text}");
                match log.write(record.clone()) {
                    Ok(_) => {
                        println!("{me}: wrote {record:?}");
                        (true, allowed)
                    }
                    Err(e) => {
                        println!("{me}: writing {record:?} refused: {}", why(&e));
                        (false, allowed)
                    }
                }
            }
            Step::Read => match log.read(0) {
                Ok(r) => {
                    println!("{me}: read {:?}", r.record);
                    (true, false)
                }
                Err(e) => {
                    println!("{me}: reading the log refused: {}", why(&e));
                    (false, false)
                }
            },
        };
        if granted != allowed {
            surprises += 1;
            println!("{me}: BREACH: the policy should have decided otherwise");
        }
    }
    println!("{me}: done");
    surprises
}
