//! Hands the heap's free pages back to the system once inference has been quiet for a moment.
//!
//! A request's tensors (an encoder window's activations, a decoder's cache) are megabytes each,
//! and glibc's allocator keeps what they freed inside its arenas: it raises its mmap threshold
//! after such frees, so later large blocks come from the heap and stay there. Measured on the
//! asr and tts graphs, an idle `vox up` held ~300 MB more than its prepared graphs need. Trimming
//! after every computation would make each token step fault its pages in again; trimming once no
//! computation has run for [`QUIET`] costs nothing while requests flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long inference must have been idle before the heap is trimmed.
pub const QUIET: Duration = Duration::from_millis(250);

/// Watches the inference threads' work and trims the heap when it stops.
pub struct Trimmer {
    state: Arc<State>,
}

struct State {
    base: Instant,
    /// Milliseconds after `base` of the last computation's end.
    last_ms: AtomicU64,
    /// Work has run since the last trim.
    dirty: AtomicBool,
}

impl Trimmer {
    /// A trimmer with its own watching thread (none where the allocator cannot trim).
    pub fn start() -> Self {
        let state = Arc::new(State {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
        });
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            // Holds only a weak handle: the thread ends with the cache.
            let watched = Arc::downgrade(&state);
            let started = std::thread::Builder::new()
                .name("vox-heap-trim".into())
                .spawn(move || {
                    while let Some(state) = watched.upgrade() {
                        if state.due() {
                            trim_heap();
                        }
                        drop(state);
                        std::thread::sleep(QUIET);
                    }
                });
            if let Err(e) = started {
                tracing::warn!(target: "vox::nn", "cannot start the heap trimming thread: {e}");
            }
        }
        Self { state }
    }

    /// Notes that work just ended (a computation, a graph's preparation).
    pub fn worked(&self) {
        self.state.worked();
    }
}

impl State {
    fn worked(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Release);
    }

    /// Work ran since the last trim, and none for [`QUIET`]; clears the mark when so.
    fn due(&self) -> bool {
        let idle_ms = (self.base.elapsed().as_millis() as u64)
            .saturating_sub(self.last_ms.load(Ordering::Relaxed));
        idle_ms >= QUIET.as_millis() as u64 && self.dirty.swap(false, Ordering::AcqRel)
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    // SAFETY: malloc_trim only walks and releases the allocator's own free memory.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trim_is_due_once_after_work_and_a_quiet_moment() {
        let state = State {
            base: Instant::now() - 2 * QUIET,
            last_ms: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
        };
        assert!(!state.due(), "nothing ran yet");
        state.worked();
        assert!(!state.due(), "work just ended");
        // The work ended two quiet periods ago.
        state.last_ms.store(0, Ordering::Relaxed);
        assert!(state.due());
        assert!(!state.due(), "no work since the trim");
    }
}
