//! The `responder` component: the example of the end-to-end flow's step between hearing and
//! speaking. The gateway sends it the transcript when the `responder_url` variable names it
//! (`http://responder.spin.internal/reply`); it answers with what it heard and how many words
//! that was, streamed a word at a time as a language model's answer would stream. Replace it with any service that speaks the
//! same protocol (docs/api.md, "Plugging in a responder").

use bytes::Bytes;
use futures::SinkExt;
use serde::Deserialize;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use vox_api::limits::MAX_REPLY_BYTES;
use vox_api::{ApiError, ErrorCode, ErrorStyle};
use vox_http_kit::{body, reply};

/// The service's routes, for 404/405 answers.
const ROUTES: &[(&str, &str)] = &[("GET", "/health"), ("POST", "/reply")];

/// What the gateway sends: the transcript of what was said.
#[derive(Debug, Deserialize)]
struct Heard {
    text: String,
    #[serde(default)]
    language: Option<String>,
}

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let result = match (method.as_str(), path.as_str()) {
        ("GET", "/health") => Ok(reply::json(
            200,
            &serde_json::json!({"status": "ok", "service": "responder"}),
        )),
        ("POST", "/reply") => respond(req).await,
        _ => Err(reply::unrouted(&method, &path, ROUTES)),
    };
    result.unwrap_or_else(|e| reply::error(&e, ErrorStyle::Native))
}

async fn respond(req: Request) -> vox_http_kit::Result {
    let raw = body::read_bounded(req, MAX_REPLY_BYTES, "the transcript").await?;
    let heard: Heard = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body must be {{\"text\": …}}: {e}"),
        )
    })?;
    let text = heard.text.trim();
    if text.is_empty() {
        return Err(
            ApiError::new(ErrorCode::EmptyText, "`text` has nothing to reply to")
                .with_param("text"),
        );
    }
    let answer = answer(text, heard.language.as_deref());
    let (mut tx, out) = body::channel();
    spin_sdk::wasip3::spawn(async move {
        // Word by word, so the gateway's sentence cutting sees the reply as it would see a
        // model's streamed tokens.
        for word in answer.split_inclusive(' ') {
            if tx.send(Ok(Bytes::from(word.to_string()))).await.is_err() {
                return;
            }
        }
    });
    Ok(reply::streamed("text/plain; charset=utf-8", out))
}

/// The reply to a transcript: what was heard, said back, and how long it was.
fn answer(text: &str, language: Option<&str>) -> String {
    let heard = match text.chars().last() {
        Some(c) if c.is_alphanumeric() => format!("{text}."),
        _ => text.to_string(),
    };
    let words = text.split_whitespace().count();
    let length = if words == 1 {
        "That was one word.".to_string()
    } else {
        format!("That was {words} words.")
    };
    match language {
        Some(language) if language != "en" => format!("I heard, in {language}: {heard} {length}"),
        _ => format!("I heard you say: {heard} {length}"),
    }
}
