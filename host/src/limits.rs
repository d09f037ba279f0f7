//! Request limits: body size and how the host reports a limit being hit.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::WasiBody;

/// What the host learned while the guest read the request body.
#[derive(Debug, Default)]
pub struct BodyProgress {
    received: AtomicU64,
    complete: AtomicBool,
    too_large: AtomicBool,
    /// The guest is blocked reading the body and the client has not sent more.
    awaiting_client: AtomicBool,
}

impl BodyProgress {
    /// True when a timeout is the client's fault: the guest waits for body bytes that
    /// have not arrived.
    pub fn stalled_by_client(&self) -> bool {
        !self.complete.load(Ordering::Relaxed) && self.awaiting_client.load(Ordering::Relaxed)
    }

    pub fn too_large(&self) -> bool {
        self.too_large.load(Ordering::Relaxed)
    }
}

/// A request body that fails once more than `max` bytes arrive, recording why.
pub struct LimitedBody<B> {
    inner: B,
    max: u64,
    progress: Arc<BodyProgress>,
}

impl<B> LimitedBody<B> {
    pub fn new(inner: B, max: u64) -> (Self, Arc<BodyProgress>) {
        let progress = Arc::new(BodyProgress::default());
        (
            Self {
                inner,
                max,
                progress: progress.clone(),
            },
            progress,
        )
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
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
                    if total > this.max {
                        this.progress.too_large.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(
                            wasmtime_wasi_http::Error::HttpRequestBodySize(Some(total)),
                        )));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.progress.complete.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A host-generated error, sent as `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct HostError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HostError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn into_response(self) -> http::Response<WasiBody> {
        let body =
            serde_json::json!({"error": {"code": self.code, "message": self.message}}).to_string();
        http::Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(
                Full::new(Bytes::from(body))
                    .map_err(
                        |never: std::convert::Infallible| -> wasmtime_wasi_http::Error {
                            match never {}
                        },
                    )
                    .boxed_unsync(),
            )
            .expect("static response parts are valid")
    }
}

/// How long the host keeps reading a request body its component stopped reading.
const LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// A request body that, when dropped half-read (the component answered early, e.g. with a
/// 4xx before taking the whole upload), is read to its end in the background so the client
/// can finish sending and then read the answer, instead of seeing a reset connection.
/// Bounded by `max` bytes and [`LINGER`].
pub struct LingeringBody<B: Body<Data = Bytes> + Unpin + Send + 'static> {
    inner: Option<B>,
    max: u64,
    ended: bool,
}

impl<B: Body<Data = Bytes> + Unpin + Send + 'static> LingeringBody<B> {
    pub fn new(inner: B, max: u64) -> Self {
        Self {
            inner: Some(inner),
            max,
            ended: false,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin + Send + 'static> Body for LingeringBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

impl<B: Body<Data = Bytes> + Unpin + Send + 'static> Drop for LingeringBody<B> {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if self.ended || inner.is_end_stream() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let max = self.max;
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
            let _ = tokio::time::timeout(LINGER, drain).await;
        });
    }
}
