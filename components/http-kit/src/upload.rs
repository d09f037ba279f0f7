//! Request bodies the router can take back once a handler has answered early, to read what the
//! client is still sending before the answer goes out.
//!
//! Why: a handler (or a private service behind it) may answer a 4xx before reading the upload,
//! e.g. an unknown model. A host that then closes the connection with upload bytes still
//! unread makes the kernel reset it, and the client, still sending, loses the answer. Our host
//! drains such bodies itself (host/src/body.rs); Spin does not, so the gateway does, within the
//! same bounds: at most the upload limit and [`UPLOAD_LINGER`].

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use spin_sdk::wasip3::http::types::ErrorCode;
use spin_sdk::wasip3::http_compat::IncomingRequestBody;
use vox_api::limits::UPLOAD_LINGER;

/// A request whose body the router can take back.
pub type Request = http::Request<Upload>;

enum Slot {
    /// Still being read by whoever holds the [`Upload`].
    Open {
        body: IncomingRequestBody,
        /// The last reader's waker, woken when the body is taken back.
        waker: Option<Waker>,
    },
    /// Read to its end, or failed.
    Ended,
    /// Taken back by [`Reclaim::drain`]: a reader still polling gets an error, never a
    /// truncated body that looks complete.
    Reclaimed,
}

type Shared = Arc<Mutex<Slot>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Slot> {
    // A reader that panicked mid-poll left nothing half-done worth refusing over.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The request body as handlers read it.
pub struct Upload {
    shared: Shared,
    hint: SizeHint,
}

/// The router's handle on the body it handed out.
pub struct Reclaim(Shared);

/// Splits off a handle that can take the body back from whoever reads it.
pub fn split(req: spin_sdk::http::Request) -> (Request, Reclaim) {
    let (parts, body) = req.into_parts();
    let hint = body.size_hint();
    let shared = Arc::new(Mutex::new(Slot::Open { body, waker: None }));
    let upload = Upload {
        shared: shared.clone(),
        hint,
    };
    (http::Request::from_parts(parts, upload), Reclaim(shared))
}

impl Body for Upload {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        let mut slot = lock(&self.shared);
        let polled = match &mut *slot {
            Slot::Open { body, waker } => {
                *waker = Some(cx.waker().clone());
                Pin::new(body).poll_frame(cx)
            }
            Slot::Ended => return Poll::Ready(None),
            Slot::Reclaimed => {
                return Poll::Ready(Some(Err(ErrorCode::InternalError(Some(
                    "the request was answered before its body was read".into(),
                )))));
            }
        };
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            *slot = Slot::Ended;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &*lock(&self.shared) {
            Slot::Open { body, .. } => body.is_end_stream(),
            Slot::Ended | Slot::Reclaimed => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

impl Reclaim {
    /// Takes the body back and reads what is left of it, discarding it, until it ends, `max`
    /// bytes have passed, or [`UPLOAD_LINGER`] is up. A body already read to its end costs
    /// nothing.
    pub async fn drain(self, max: u64) {
        let taken = std::mem::replace(&mut *lock(&self.0), Slot::Reclaimed);
        let Slot::Open { mut body, waker } = taken else {
            return;
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        let read = std::pin::pin!(async move {
            let mut seen = 0u64;
            while seen <= max {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                    }
                    Some(Err(_)) | None => break,
                }
            }
        });
        let deadline = std::pin::pin!(spin_sdk::time::sleep(UPLOAD_LINGER));
        let _ = futures::future::select(read, deadline).await;
    }
}
