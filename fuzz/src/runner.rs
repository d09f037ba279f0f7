//! Runs a target on mutated seeds for a while, catching panics, inputs that run too long and
//! inputs that allocate too much.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alloc;
use crate::mutate::Mutator;
use crate::targets::Target;

/// The longest one input may take; a target past it is taken to hang.
pub const INPUT_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Mutated inputs are cut to this many bytes: enough for every header and a few frames.
pub const MAX_INPUT: usize = 256 * 1024;

/// An input that broke a target, and how.
#[derive(Debug)]
pub struct Failure {
    pub input: Vec<u8>,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub inputs: u64,
    pub failures: Vec<Failure>,
    /// The most one input made the target hold at once.
    pub peak_bytes: usize,
}

/// Runs `target` for `duration` on `seeds` (each run once as is, then mutated), from `seed`.
/// An input that runs past [`INPUT_TIME_LIMIT`] aborts the process after `on_hang` saw it:
/// a hang cannot be interrupted from inside.
pub fn run(
    target: &mut dyn Target,
    seeds: &[Vec<u8>],
    duration: Duration,
    seed: u64,
    on_hang: impl Fn(&[u8]) + Send + 'static,
) -> Report {
    let current = Arc::new(Mutex::new(Vec::new()));
    let started_ms = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let watchdog = {
        let (current, started_ms) = (current.clone(), started_ms.clone());
        let name = target.name();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let at = started_ms.load(Ordering::Relaxed);
                if at == u64::MAX {
                    return;
                }
                let now = epoch.elapsed().as_millis() as u64;
                if at != 0 && now.saturating_sub(at) > INPUT_TIME_LIMIT.as_millis() as u64 {
                    let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                    on_hang(&input);
                    eprintln!(
                        "fuzz target {name}: an input of {} bytes ran past {INPUT_TIME_LIMIT:?}",
                        input.len()
                    );
                    std::process::abort();
                }
            }
        })
    };

    let mut report = Report::default();
    let mut mutator = Mutator::new(seed, MAX_INPUT);
    let deadline = Instant::now() + duration;
    let empty = Vec::new();
    let mut n = 0usize;
    while n < seeds.len() || Instant::now() < deadline {
        let input = match seeds.get(n) {
            Some(s) => s.clone(),
            None if seeds.is_empty() => mutator.mutate(&empty, &empty),
            None => {
                let a = &seeds[n % seeds.len()];
                let b = &seeds[(n / seeds.len()) % seeds.len()];
                mutator.mutate(a, b)
            }
        };
        n += 1;
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        started_ms.store(epoch.elapsed().as_millis().max(1) as u64, Ordering::Relaxed);
        let base = alloc::reset_peak();
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&input)));
        let peak = alloc::peak_since(base);
        started_ms.store(0, Ordering::Relaxed);
        report.inputs += 1;
        report.peak_bytes = report.peak_bytes.max(peak);
        let what = match outcome {
            Ok(Ok(())) if peak > alloc::PEAK_LIMIT => Some(format!("allocated {peak} bytes")),
            Ok(Ok(())) => None,
            Ok(Err(broken)) => Some(broken),
            Err(panic) => Some(format!("panicked: {}", panic_text(&panic))),
        };
        if let Some(what) = what {
            report.failures.push(Failure { input, what });
        }
    }
    started_ms.store(u64::MAX, Ordering::Relaxed);
    let _ = watchdog.join();
    report
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
