//! Per-instance CPU limits: the epoch callback counts the ticks an instance's guest code runs
//! through while the instance has work, and ends one that passes its limit with a trap,
//! recorded so the request learns why its instance failed.
//!
//! The count is in epoch ticks ([`super::engine::EPOCH_TICK`]): a guest that computes without
//! pause is charged about one tick per tick, one that mostly waits on I/O almost nothing. The
//! wall-clock limits (request and stream-idle timeouts) cannot see a runaway that keeps its
//! stream alive; this can.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::engine::EPOCH_TICK;

/// The CPU one instance has used since it last was idle, against its limit.
#[derive(Debug)]
pub struct CpuMeter {
    limit: Option<Duration>,
    limit_ticks: u64,
    used_ticks: AtomicU64,
    exceeded: AtomicBool,
}

impl CpuMeter {
    /// A meter ending the instance after `limit` of guest CPU; `None` counts without a limit.
    pub fn new(limit: Option<Duration>) -> Self {
        let limit_ticks = limit.map_or(u64::MAX, |l| {
            (l.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64
        });
        Self {
            limit,
            limit_ticks,
            used_ticks: AtomicU64::new(0),
            exceeded: AtomicBool::new(false),
        }
    }

    /// One epoch tick that found the guest running: `Err(limit)` once it has used it all.
    pub fn tick(&self) -> Result<(), Duration> {
        let used = self.used_ticks.fetch_add(1, Ordering::Relaxed) + 1;
        match self.limit {
            Some(limit) if used > self.limit_ticks => {
                self.exceeded.store(true, Ordering::Relaxed);
                Err(limit)
            }
            _ => Ok(()),
        }
    }

    /// The instance has no work left: what it does next is charged afresh.
    pub fn idle(&self) {
        self.used_ticks.store(0, Ordering::Relaxed);
    }

    /// The guest CPU charged since the instance last was idle.
    pub fn used(&self) -> Duration {
        EPOCH_TICK * self.used_ticks.load(Ordering::Relaxed) as u32
    }

    /// The limit, once the instance has passed it.
    pub fn exceeded(&self) -> Option<Duration> {
        match self.exceeded.load(Ordering::Relaxed) {
            true => self.limit,
            false => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_ends_the_instance_after_its_ticks_and_idle_starts_afresh() {
        let meter = CpuMeter::new(Some(EPOCH_TICK * 3));
        for _ in 0..3 {
            assert_eq!(meter.tick(), Ok(()));
        }
        assert_eq!(meter.used(), EPOCH_TICK * 3);
        assert_eq!(meter.exceeded(), None);
        meter.idle();
        assert_eq!(meter.used(), Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(meter.tick(), Ok(()));
        }
        assert_eq!(meter.tick(), Err(EPOCH_TICK * 3));
        assert_eq!(meter.exceeded(), Some(EPOCH_TICK * 3));
        let unlimited = CpuMeter::new(None);
        for _ in 0..10_000 {
            assert_eq!(unlimited.tick(), Ok(()));
        }
        assert_eq!(unlimited.exceeded(), None);
    }
}
