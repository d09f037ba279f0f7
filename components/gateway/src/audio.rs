//! Relaying a tts audio stream to the client with the headers a player needs.

use spin_sdk::http::Response;
use vox_api::speech::AudioFormat;
use vox_http_kit::reply::{self, Reply};

use crate::upstream;

/// Headers of the tts audio stream the client needs to play it.
const AUDIO_HEADERS: &[&str] = &["x-sample-rate", "x-channels"];

/// The audio as it streams from tts, typed by tts's content type (else `format`'s).
pub fn reply(resp: Response, format: AudioFormat) -> Reply {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(format.content_type())
        .to_string();
    let mut headers = Vec::new();
    for name in AUDIO_HEADERS {
        if let Some(v) = resp.headers().get(*name) {
            headers.push((*name, v.clone()));
        }
    }
    let mut out = reply::streamed(&content_type, upstream::relay(resp));
    for (name, v) in headers {
        out.headers_mut().insert(name, v);
    }
    reply::set_header(&mut out, "cache-control", "no-store");
    out
}
