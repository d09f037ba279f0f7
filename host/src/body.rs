//! Bodies as the host passes them through: counted, capped at the body limit, drained when a
//! component stops reading early, and reported on when they end.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use vox_api::limits::UPLOAD_LINGER;

/// What the host learned while a body passed through.
#[derive(Debug, Default)]
pub struct BodyProgress {
    received: AtomicU64,
    complete: AtomicBool,
    /// The sender failed (a component cut its answer short, or the client its upload).
    failed: AtomicBool,
    too_large: AtomicBool,
    /// The reader is blocked on the body and its sender has not sent more.
    awaiting_client: AtomicBool,
}

impl BodyProgress {
    /// True when a timeout is the client's fault: the guest waits for body bytes that
    /// have not arrived.
    pub fn stalled_by_client(&self) -> bool {
        !self.complete.load(Ordering::Relaxed) && self.awaiting_client.load(Ordering::Relaxed)
    }

    /// True when the body was dropped before its end and without failing: for a response, the
    /// client closed the connection before the answer was sent.
    pub fn abandoned(&self) -> bool {
        !self.complete.load(Ordering::Relaxed) && !self.failed.load(Ordering::Relaxed)
    }

    /// True when the sender failed: for a request, the client's upload broke off (it hung up).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn too_large(&self) -> bool {
        self.too_large.load(Ordering::Relaxed)
    }

    /// Data bytes passed through so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

type Report = Box<dyn FnOnce(&BodyProgress) + Send>;

/// A body passed through while its bytes are counted into a [`BodyProgress`].
pub struct MeteredBody<B: Body<Data = Bytes> + Unpin + Send + 'static> {
    /// Taken only when dropped, to drain it.
    inner: Option<B>,
    /// More bytes than this fail the body.
    limit: u64,
    /// Drain the rest when dropped half-read.
    linger: bool,
    /// The sender ended the body, or failed.
    ended: bool,
    progress: Arc<BodyProgress>,
    report: Option<Report>,
}

impl<B: Body<Data = Bytes> + Unpin + Send + 'static> MeteredBody<B> {
    /// A request body that fails once more than `max` bytes arrive, recording why. Dropped
    /// half-read (the component answered early, e.g. with a 4xx before taking the whole
    /// upload), it is read to its end in the background, so the client can finish sending
    /// and then read the answer instead of seeing a reset connection; bounded by `max` more
    /// bytes and [`UPLOAD_LINGER`].
    pub fn request(inner: B, max: u64) -> (Self, Arc<BodyProgress>) {
        let progress = Arc::new(BodyProgress::default());
        let body = Self {
            inner: Some(inner),
            limit: max,
            linger: true,
            ended: false,
            progress: progress.clone(),
            report: None,
        };
        (body, progress)
    }

    /// A response body; `report` is called with what passed through once it is dropped
    /// (sent, or abandoned by the client).
    pub fn response(inner: B, report: impl FnOnce(&BodyProgress) + Send + 'static) -> Self {
        Self {
            inner: Some(inner),
            limit: u64::MAX,
            linger: false,
            ended: false,
            progress: Arc::default(),
            report: Some(Box::new(report)),
        }
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        this.progress
            .awaiting_client
            .store(polled.is_pending(), Ordering::Relaxed);
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let total = this
                        .progress
                        .received
                        .fetch_add(data.len() as u64, Ordering::Relaxed)
                        + data.len() as u64;
                    if total > this.limit {
                        this.progress.too_large.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(
                            wasmtime_wasi_http::Error::HttpRequestBodySize(Some(total)),
                        )));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                this.progress.failed.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.ended = true;
                this.progress.complete.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.as_ref().is_none_or(Body::is_end_stream);
        // hyper stops polling a body that says it has ended, so this may be the only sign.
        if end {
            self.progress.complete.store(true, Ordering::Relaxed);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

impl<B: Body<Data = Bytes> + Unpin + Send + 'static> Drop for MeteredBody<B> {
    fn drop(&mut self) {
        if self.inner.as_ref().is_none_or(Body::is_end_stream) {
            self.progress.complete.store(true, Ordering::Relaxed);
        }
        if let Some(report) = self.report.take() {
            report(&self.progress);
        }
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if !self.linger || self.ended || inner.is_end_stream() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let max = self.limit;
        runtime.spawn(async move {
            let drain = async {
                let mut read = 0u64;
                while let Some(Ok(frame)) = inner.frame().await {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if read > max {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(UPLOAD_LINGER, drain).await;
        });
    }
}
