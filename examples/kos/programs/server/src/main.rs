//! The kos server (class kos.Server): serves the echo component `main` (package and
//! component kos.Echo) and says which board it was started for (its argument, which the
//! init.yaml template chose with a board block).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;

use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_handle::HandleProxy;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::println;
use ostrog_rt::sys::CoreTransport;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kos_echo::{
    EchoServer, FirstError, FirstRequest, FirstResponse, LendError, LendRequest, LendResponse,
    ReverseError, ReverseRequest, ReverseResponse, WipeError, WipeRequest, WipeResponse,
};
use idl::kos_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

struct Echo;

impl EchoServer for Echo {
    fn reverse(&mut self, r: ReverseRequest) -> Result<ReverseResponse, ReverseError> {
        Ok(ReverseResponse {
            reversed: r.text.chars().rev().collect::<String>(),
        })
    }

    fn first(&mut self, r: FirstRequest) -> Result<FirstResponse, FirstError> {
        Ok(FirstResponse {
            first: r.text.bytes().next().unwrap_or(0),
        })
    }

    fn wipe(&mut self, _r: WipeRequest) -> Result<WipeResponse, WipeError> {
        // Never runs: the policy denies every Wipe before it is delivered.
        println!("server: BREACH: Wipe was delivered");
        Ok(WipeResponse {})
    }

    fn lend(&mut self, r: LendRequest) -> Result<LendResponse, LendError> {
        // The rights the handle arrived with (the low 16 bits); the policy let it through
        // only without the right to pass it on. It is given back at once.
        let rights = r.token.rights_and_mode & 0xffff;
        println!("server: lent a handle with rights {rights:#x}");
        let mut handles = HandleProxy {
            transport: CoreTransport,
            riid: core_riid::HANDLE,
        };
        if handles.close(r.token).is_err() {
            println!("server: cannot close the lent handle");
        }
        Ok(LendResponse {})
    }
}

impl ServerEndpoints for Echo {
    fn main_echo(&mut self) -> &mut dyn EchoServer {
        self
    }
}

/// The first argument (init.yaml's `args`).
fn board() -> String {
    let mut task = TaskProxy {
        transport: CoreTransport,
        riid: core_riid::TASK,
    };
    let args = task.args().map(|a| a.args).unwrap_or_default();
    args.split(|&b| b == 0)
        .find(|a| !a.is_empty())
        .and_then(|a| core::str::from_utf8(a).ok())
        .map_or_else(|| "(no argument)".into(), String::from)
}

fn main() -> i32 {
    println!("server: started for the {} board", board());
    let mut echo = Echo;
    let status = ostrog_rt::server::serve("server", |_header, request| {
        kos_server::dispatch(&mut echo, request)
    });
    if status == 0 {
        println!("server: the client is gone; ending");
    }
    status
}
