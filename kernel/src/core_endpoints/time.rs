//! `time`: the clock and sleeping.

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
        sched::sleep_current(time::ticks().saturating_add(ticks)).map_err(|s| SleepError {
            status: super::code(s),
        })?;
        Ok(SleepResponse {})
    }
}
