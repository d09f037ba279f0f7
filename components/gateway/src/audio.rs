//! Relaying a tts audio stream to the client with the headers a player needs.

use spin_sdk::http::{BoxBody, EmptyBody, Response, box_body};
use vox_api::speech::AudioFormat;
use vox_http_kit::reply::{self, Reply};

use crate::upstream;

/// Headers of the tts audio stream the client needs to play it.
const AUDIO_HEADERS: &[&str] = &["x-sample-rate", "x-channels"];

/// The audio as it streams from tts, typed by tts's content type (else `format`'s).
pub fn reply(resp: Response, format: AudioFormat) -> Reply {
    let mut out = reply_with(&resp, format, box_body(EmptyBody::new()));
    *out.body_mut() = upstream::relay(resp);
    out
}

/// A reply with `body`, typed and described as tts's answer `resp` is.
pub fn reply_with(resp: &Response, format: AudioFormat, body: BoxBody) -> Reply {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(format.content_type())
        .to_string();
    let mut out = reply::streamed(&content_type, body);
    for name in AUDIO_HEADERS {
        if let Some(v) = resp.headers().get(*name) {
            out.headers_mut().insert(*name, v.clone());
        }
    }
    reply::set_header(&mut out, "cache-control", "no-store");
    out
}
