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

use std::future::{Future, poll_fn};
use std::pin::pin;

use spin_sdk::http::{IntoRequest, Response};
use spin_sdk::wasip3::http::types::ErrorCode;

/// Sends `request` and waits for the response's headers.
pub async fn send(request: impl IntoRequest) -> Result<Response, ErrorCode> {
    let mut sending = pin!(spin_sdk::http::send(request));
    let mut woken = false;
    poll_fn(|cx| {
        let poll = sending.as_mut().poll(cx);
        // Once: the first poll is where the body writer was spawned.
        if poll.is_pending() && !woken {
            woken = true;
            cx.waker().wake_by_ref();
        }
        poll
    })
    .await
}
