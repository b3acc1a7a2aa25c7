//! `time`: the clock and sleeping.

use ostrog_abi::Status;

use super::Caller;
use crate::idl::kl_core_time::{
    NowError, NowRequest, NowResponse, SleepError, SleepRequest, SleepResponse, TimeServer,
};
use crate::{sched, time, TICK_HZ};

impl TimeServer for Caller {
    fn now(&mut self, _request: NowRequest) -> Result<NowResponse, NowError> {
        let ns = time::ticks().saturating_mul(1_000_000_000 / u64::from(TICK_HZ));
        Ok(NowResponse { ns })
    }

    fn sleep(&mut self, request: SleepRequest) -> Result<SleepResponse, SleepError> {
        let ticks = u64::from(request.ms)
            .saturating_mul(u64::from(TICK_HZ))
            .div_ceil(1000)
            .max(1);
        let interrupted = |me| crate::notify::take_interrupt(&mut crate::task::TASKS.lock(), me);
        let me = sched::current();
        // A notification the thread accepts ends the sleep early (or keeps it from starting).
        if me.is_some_and(interrupted) {
            return Err(SleepError {
                status: super::code(Status::Interrupted),
            });
        }
        let wake_at = time::ticks().saturating_add(ticks);
        sched::sleep_current(wake_at).map_err(|s| SleepError {
            status: super::code(s),
        })?;
        if me.is_some_and(interrupted) && time::ticks() < wake_at {
            return Err(SleepError {
                status: super::code(Status::Interrupted),
            });
        }
        Ok(SleepResponse {})
    }
}
