//! Server-sent event streams, including PCM audio relayed as base64 chunks.

use base64::Engine;
use futures::channel::mpsc::Sender;
use futures::{SinkExt, StreamExt};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{BoxBody, Response, box_body};

use vox_http_kit::reply::{self, Reply};

/// Why a relay stopped early.
pub enum Stop {
    /// The client went away: nothing more can be sent.
    ClientGone,
    /// The upstream stream failed; the client can still be told.
    Upstream(String),
}

/// An event-stream body and the sender that feeds it.
pub fn channel() -> (Sender<String>, BoxBody) {
    let (tx, body) = spin_sdk::http::body::stream::<String>();
    (tx, box_body(body))
}

pub fn reply(body: BoxBody) -> Reply {
    let mut resp = reply::streamed(vox_api::sse::CONTENT_TYPE, body);
    reply::set_header(&mut resp, "cache-control", "no-store");
    resp
}

pub async fn send(tx: &mut Sender<String>, event: String) -> Result<(), Stop> {
    tx.send(event).await.map_err(|_| Stop::ClientGone)
}

/// Relays a PCM stream as events, each holding whole 16-bit samples, base64-encoded by
/// `event`. Returns the bytes relayed. Dropping the upstream body on any early return
/// cancels the synthesis.
pub async fn relay_pcm(
    tx: &mut Sender<String>,
    upstream: Response,
    event: impl Fn(&str) -> String,
) -> Result<u64, Stop> {
    let mut chunks = upstream.into_body().stream();
    let mut carry: Option<u8> = None;
    let mut total = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Stop::Upstream(format!("{e:?}")))?;
        let mut data = Vec::with_capacity(chunk.len() + 1);
        data.extend(carry.take());
        data.extend_from_slice(&chunk);
        if data.len() % 2 == 1 {
            carry = data.pop();
        }
        if data.is_empty() {
            continue;
        }
        total += data.len() as u64;
        send(
            tx,
            event(&base64::engine::general_purpose::STANDARD.encode(&data)),
        )
        .await?;
    }
    Ok(total)
}
