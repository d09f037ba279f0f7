//! Per-instance memory limits: a store limiter that ends an instance growing past its limit
//! with a trap, and records it, so the request learns why its instance failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one instance was refused, shared with the requests it takes.
#[derive(Debug, Default)]
pub struct MemoryReport {
    /// The size a refused growth asked for, in bytes; 0 while none was refused.
    refused: AtomicU64,
    /// The limit it passed.
    limit: AtomicU64,
    /// The largest size the instance's memory grew to, in bytes.
    peak: AtomicU64,
}

impl MemoryReport {
    /// `(asked, limit)` once a growth past the limit was refused.
    pub fn refused(&self) -> Option<(u64, u64)> {
        match self.refused.load(Ordering::Relaxed) {
            0 => None,
            asked => Some((asked, self.limit.load(Ordering::Relaxed))),
        }
    }

    /// The largest size the instance's memory grew to, in bytes (what a limit must allow).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// The limiter of one instance's store.
pub struct MemoryLimiter {
    limit: Option<u64>,
    report: Arc<MemoryReport>,
}

impl MemoryLimiter {
    pub fn new(limit: Option<u64>, report: Arc<MemoryReport>) -> Self {
        Self { limit, report }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.limit {
            Some(limit) if desired as u64 > limit => {
                self.report.limit.store(limit, Ordering::Relaxed);
                self.report.refused.store(desired as u64, Ordering::Relaxed);
                // A trap, not a failed `memory.grow`: the guest's allocator would abort on
                // the failure anyway, and a trap names the cause.
                Err(wasmtime::format_err!(
                    "memory limit: growing to {desired} bytes passes the instance's {limit}-byte limit"
                ))
            }
            _ => {
                self.report
                    .peak
                    .fetch_max(desired as u64, Ordering::Relaxed);
                Ok(true)
            }
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn growth_past_the_limit_traps_and_is_reported() {
        let report = Arc::new(MemoryReport::default());
        let mut limiter = MemoryLimiter::new(Some(1 << 20), report.clone());
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert_eq!(report.refused(), None);
        assert_eq!(report.peak(), 1 << 20);
        assert!(limiter.memory_growing(1 << 20, 2 << 20, None).is_err());
        assert_eq!(report.refused(), Some((2 << 20, 1 << 20)));
        assert_eq!(report.peak(), 1 << 20, "a refused size is no peak");
        let mut unlimited = MemoryLimiter::new(None, Arc::default());
        assert!(unlimited.memory_growing(0, 3 << 30, None).unwrap());
    }
}
