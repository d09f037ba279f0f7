//! The end-to-end flow's optional step between hearing and speaking: the transcript goes to the
//! service the `responder_url` variable names, and its text reply is read as it streams back.
//!
//! The protocol (docs/api.md, "Plugging in a responder"): `POST` JSON
//! `{"text", "language", "duration"}`; a 2xx answer's body is the reply as UTF-8 text, spoken
//! sentence by sentence as it arrives; an error answer keeps its status and message.

use futures::StreamExt;
use serde_json::json;
use spin_sdk::http::Response;
use vox_api::ApiError;
use vox_api::limits::MAX_REPLY_BYTES;
use vox_api::transcript_stream::Summary;

use crate::upstream::{self, Chunks, Ctx, Service};

/// Sends the transcript to the responder at `url`; its reply streams back.
pub async fn ask(url: &str, heard: &Summary, ctx: &Ctx) -> Result<Reply, ApiError> {
    let request = json!({
        "text": heard.text,
        "language": heard.language,
        "duration": heard.duration,
    });
    let resp = upstream::post_json(Service::Responder, url, &request, ctx).await?;
    Ok(Reply::new(resp))
}

/// A reply's text as it arrives, in whole characters, never past [`MAX_REPLY_BYTES`].
/// Dropping it drops the responder's body, which tells the responder to stop.
pub struct Reply {
    chunks: Chunks,
    /// The start of a character split across chunks.
    carry: Vec<u8>,
    read: u64,
}

impl Reply {
    fn new(resp: Response) -> Self {
        Self {
            chunks: upstream::chunks(resp),
            carry: Vec::new(),
            read: 0,
        }
    }

    /// The next piece of the reply, `None` at its end. A broken stream, text that is not
    /// UTF-8 or a reply over the limit is an error.
    pub async fn next(&mut self) -> Result<Option<String>, ApiError> {
        loop {
            let Some(chunk) = self.chunks.next().await else {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                return Err(invalid("the reply ends inside a UTF-8 character"));
            };
            let chunk = chunk.map_err(invalid)?;
            self.read += chunk.len() as u64;
            if self.read > MAX_REPLY_BYTES {
                return Err(invalid(format!(
                    "the reply is longer than {MAX_REPLY_BYTES} bytes"
                )));
            }
            self.carry.extend_from_slice(&chunk);
            let whole = match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.len(),
                // Only an incomplete character at the end may wait for the next chunk.
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => return Err(invalid("the reply is not UTF-8 text")),
            };
            let rest = self.carry.split_off(whole);
            let text = std::mem::replace(&mut self.carry, rest);
            if !text.is_empty() {
                return Ok(Some(String::from_utf8(text).map_err(invalid)?));
            }
        }
    }
}

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::upstream_invalid(Service::Responder.name(), detail)
}
