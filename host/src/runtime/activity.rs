//! Progress of streamed responses: each instance keeps the last moment a response body it
//! writes, or a chained response it reads, moved — so an instance streaming an answer is
//! bounded by how long its streams sit idle, not by the answer's total length (a long
//! transcription streams for minutes) — and whether it was ended, so a body it leaves unfinished
//! ends in an error rather than looking complete.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::cpu::CpuMeter;
use super::memory::MemoryReport;

/// When data last flowed through any response body of one instance.
#[derive(Debug)]
pub struct Activity {
    base: Instant,
    /// Milliseconds after `base`.
    last_ms: AtomicU64,
    /// The instance was ended (timed out or trapped) rather than retired when done.
    ended: AtomicBool,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
            ended: AtomicBool::new(false),
        })
    }

    pub fn touch(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub fn last(&self) -> Instant {
        self.base + std::time::Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Marks the instance as ended before its store goes: its unfinished bodies are cut short.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }
}

/// Travels with a request into the pool: the instance that takes the request fills in its
/// [`Activity`], which the request's response body then keeps up to date, and its
/// [`MemoryReport`] and [`CpuMeter`], which say whether a failure was its memory or CPU limit.
#[derive(Debug, Clone, Default)]
pub struct RequestTag {
    pub id: u64,
    instance: Arc<OnceLock<Arc<Activity>>>,
    memory: Arc<OnceLock<Arc<MemoryReport>>>,
    cpu: Arc<OnceLock<Arc<CpuMeter>>>,
}

impl RequestTag {
    pub fn new(id: u64) -> Self {
        Self {
            id,
            instance: Arc::default(),
            memory: Arc::default(),
            cpu: Arc::default(),
        }
    }

    /// A tag for data flowing into the instance that owns `activity` (a chained response it reads).
    pub fn of(activity: &Arc<Activity>) -> Self {
        let tag = Self::new(0);
        tag.taken_by(activity);
        tag
    }

    /// Called by the instance that accepted the request.
    pub fn taken_by(&self, activity: &Arc<Activity>) {
        let _ = self.instance.set(activity.clone());
    }

    /// Called by the instance that accepted the request, with what its memory limit saw.
    pub fn watches_memory(&self, report: &Arc<MemoryReport>) {
        let _ = self.memory.set(report.clone());
    }

    /// Called by the instance that accepted the request, with the meter of its CPU.
    pub fn watches_cpu(&self, meter: &Arc<CpuMeter>) {
        let _ = self.cpu.set(meter.clone());
    }

    /// The CPU limit, when the instance that took the request passed it.
    pub fn cpu_exceeded(&self) -> Option<std::time::Duration> {
        self.cpu.get().and_then(|m| m.exceeded())
    }

    /// `(asked, limit)` when the instance that took the request was refused memory.
    pub fn memory_refused(&self) -> Option<(u64, u64)> {
        self.memory.get().and_then(|m| m.refused())
    }

    fn touch(&self) {
        if let Some(activity) = self.instance.get() {
            activity.touch();
        }
    }

    fn instance_ended(&self) -> bool {
        self.instance.get().is_some_and(|a| a.ended())
    }
}

/// A response body that records each frame (and its end) as its instance's activity.
pub struct ActiveBody<B> {
    inner: B,
    tag: RequestTag,
}

impl<B> ActiveBody<B> {
    pub fn new(inner: B, tag: RequestTag) -> Self {
        tag.touch();
        Self { inner, tag }
    }
}

impl<B: Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Unpin> Body for ActiveBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_ready() {
            self.tag.touch();
        }
        // The body of an instance that was ended stops as if complete (its stream closes with
        // the store): an error instead, so the client sees an incomplete transfer.
        if matches!(polled, Poll::Ready(None)) && self.tag.instance_ended() {
            return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::InternalError(Some(
                "the component instance ended before its response did".into(),
            )))));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for ActiveBody<B> {
    fn drop(&mut self) {
        // An ended (or abandoned) stream starts the idle clock for what the guest does after.
        self.tag.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reports_to_the_instance_that_took_it() {
        let activity = Activity::new();
        let before = activity.last();
        let tag = RequestTag::new(7);
        tag.touch();
        assert_eq!(activity.last(), before, "not taken yet");
        tag.taken_by(&activity);
        std::thread::sleep(std::time::Duration::from_millis(5));
        tag.touch();
        assert!(activity.last() > before);
    }
}
