//! `time`: the clock and sleeping, both in nanoseconds of [`time::now_ns`].

use ostrog_abi::Status;

use super::Caller;
use crate::idl::kl_core_time::{
    NowError, NowRequest, NowResponse, SleepError, SleepNsError, SleepNsRequest, SleepNsResponse,
    SleepRequest, SleepResponse, TimeServer,
};
use crate::{sched, time};

/// Sleeps until `ns` from now; `Err(Interrupted)` if a notification the thread accepts
/// ends it early. A zero sleep still gives up the CPU until the timer's next interrupt.
fn sleep_for(ns: u64) -> Result<(), Status> {
    let interrupted = |me| crate::notify::take_interrupt(&mut crate::task::TASKS.lock(), me);
    let me = sched::current();
    // A notification the thread accepts ends the sleep early (or keeps it from starting).
    if me.is_some_and(interrupted) {
        return Err(Status::Interrupted);
    }
    let wake_at = time::deadline_after_ns(ns);
    sched::sleep_current(wake_at)?;
    if me.is_some_and(interrupted) && time::now_ns() < wake_at {
        return Err(Status::Interrupted);
    }
    Ok(())
}

impl TimeServer for Caller {
    fn now(&mut self, _request: NowRequest) -> Result<NowResponse, NowError> {
        Ok(NowResponse { ns: time::now_ns() })
    }

    fn sleep(&mut self, request: SleepRequest) -> Result<SleepResponse, SleepError> {
        sleep_for(u64::from(request.ms).saturating_mul(1_000_000))
            .map(|()| SleepResponse {})
            .map_err(|s| SleepError {
                status: super::code(s),
            })
    }

    fn sleep_ns(&mut self, request: SleepNsRequest) -> Result<SleepNsResponse, SleepNsError> {
        sleep_for(request.ns)
            .map(|()| SleepNsResponse {})
            .map_err(|s| SleepNsError {
                status: super::code(s),
            })
    }
}
