//! Request bodies, never past a limit: read whole, streamed chunk by chunk, or forwarded; and
//! response bodies fed chunk by chunk by a task.

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{Stream, StreamExt, TryStreamExt};
use http::Request;
use http_body::Body;
use http_body_util::{BodyDataStream, BodyExt, LengthLimitError, Limited};
use spin_sdk::http::{BoxBody, box_body};
use vox_api::{ApiError, ErrorCode};

/// What a request body must be to be read or forwarded here: the incoming body of any
/// component, or the gateway's [`crate::upload::Upload`].
pub trait RequestBody:
    Body<Data = Bytes, Error: std::error::Error + Send + Sync + 'static> + Send + Unpin + 'static
{
}

impl<B> RequestBody for B where
    B: Body<Data = Bytes, Error: std::error::Error + Send + Sync + 'static>
        + Send
        + Unpin
        + 'static
{
}

/// Rejects a declared `content-length` over the limit before reading anything.
pub fn check_length<B>(req: &Request<B>, limit: u64, what: &str) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::payload_too_large(what, limit)),
        _ => Ok(()),
    }
}

/// Reads a whole request body of at most `limit` bytes: 413 beyond it.
pub async fn read_bounded(
    req: Request<impl RequestBody>,
    limit: u64,
    what: &str,
) -> Result<Bytes, ApiError> {
    check_length(&req, limit, what)?;
    Limited::new(req.into_body(), limit as usize)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|e| read_error(&*e, limit, what))
}

/// A request body of at most `limit` bytes as a stream of its chunks, for parsers that work as
/// the data arrives; past the limit the stream ends with a 413, as [`read_bounded`] does.
pub fn stream_bounded(
    req: Request<impl RequestBody>,
    limit: u64,
    what: &str,
) -> Result<impl Stream<Item = Result<Bytes, ApiError>> + Send + 'static, ApiError> {
    check_length(&req, limit, what)?;
    let what = what.to_string();
    Ok(
        BodyDataStream::new(Limited::new(req.into_body(), limit as usize))
            .map_err(move |e| read_error(&*e, limit, &what)),
    )
}

/// The request body as a body to forward that fails once it passes `limit` bytes (for chunked
/// uploads that declared no length).
pub fn forward_bounded(req: Request<impl RequestBody>, limit: u64) -> BoxBody {
    box_body(
        Limited::new(req.into_body(), limit as usize)
            .map_err(|e| anyhow::anyhow!("request body: {e}")),
    )
}

/// 413 when the limit stopped the read, else the transport's failure.
fn read_error(e: &(dyn std::error::Error + 'static), limit: u64, what: &str) -> ApiError {
    if e.is::<LengthLimitError>() {
        ApiError::payload_too_large(what, limit)
    } else {
        ApiError::new(
            ErrorCode::BodyReadFailed,
            format!("reading {what} failed: {e}"),
        )
    }
}

/// A chunk of a body fed by [`channel`]; an error cuts the body short, so the client sees an
/// incomplete transfer rather than a complete-looking one.
pub type Chunk = Result<Bytes, std::io::Error>;

/// A response body and the sender that feeds it, one chunk in flight: the producer waits
/// until each chunk is taken (backpressure), and its sends fail once the body is dropped —
/// the client went away — which is its signal to stop working.
pub fn channel() -> (mpsc::Sender<Chunk>, BoxBody) {
    let (tx, rx) = mpsc::channel::<Chunk>(1);
    let body = http_body_util::StreamBody::new(rx.map(|chunk| chunk.map(http_body::Frame::data)));
    (tx, box_body(body))
}
