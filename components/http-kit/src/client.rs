//! Outgoing requests (service chaining and the responder) that reliably leave.
//!
//! `spin_sdk::http::send` hands the request body to a task it spawns, then waits for the
//! response. wit-bindgen 0.57's executor adds a task spawned during a poll that ends `Pending`
//! to its set without polling it and without waking itself (its `Tasks::poll_next`; fixed
//! upstream in wit-bindgen#1608, which turns the loop again when work was spawned). Unless some
//! other event of the same request happens to come, the body is never written, the callee never
//! answers, and the request hangs: the end-to-end flow's later syntheses stalled that way when
//! its transcription had already ended. Waking the task once after the first poll turns the
//! executor's loop again, and the new task is polled.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use spin_sdk::http::{IntoRequest, Response};
use spin_sdk::wasip3::http::types::ErrorCode;

/// Sends `request` and waits for the response's headers.
pub async fn send(request: impl IntoRequest) -> Result<Response, ErrorCode> {
    PollSpawned {
        inner: Box::pin(spin_sdk::http::send(request)),
        polled: false,
    }
    .await
}

/// A future that, once its first poll is pending, asks to be polled again, so whatever the
/// first poll spawned is polled in the executor's next turn.
struct PollSpawned<F> {
    inner: Pin<Box<F>>,
    polled: bool,
}

impl<F: Future> Future for PollSpawned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.inner.as_mut().poll(cx);
        if poll.is_pending() && !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
        }
        poll
    }
}
