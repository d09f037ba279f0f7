//! The `tts` component: a private Spin HTTP service that turns text into Piper speech, streamed
//! sentence by sentence. Reached only through the gateway (`http://tts.spin.internal`).

mod preinit;
mod request;
mod stream;
mod voices;

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use vox_api::ErrorStyle;
use vox_http_kit::reply;

/// The service's routes, for 404/405 answers.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/voices"),
    ("POST", "/synthesize"),
];

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let result = match (method.as_str(), path.as_str()) {
        ("GET", "/health") => health().await,
        ("GET", "/voices") => voices::list().await.map(|list| reply::json(200, &list)),
        ("POST", "/synthesize") => synthesize(req).await,
        _ => Err(reply::unrouted(&method, &path, ROUTES)),
    };
    result.unwrap_or_else(|e| reply::error(&e, ErrorStyle::Native))
}

/// Liveness, whether the default voice's files are in place, and which voices this
/// instance already has loaded.
async fn health() -> vox_http_kit::Result {
    let default = voices::default_voice().await;
    let present = voices::is_installed(&default);
    Ok(reply::json(
        if present { 200 } else { 503 },
        &serde_json::json!({
            "status": if present {"ok"} else {"voice_missing"},
            "service": "tts",
            "voice": default,
            "inference": voices::INFERENCE.as_str(),
            "loaded": voices::loaded(),
        }),
    ))
}

async fn synthesize(req: Request) -> vox_http_kit::Result {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = vox_http_kit::body::read_bounded(
        req,
        vox_api::limits::MAX_TTS_BODY_BYTES,
        "the synthesis request",
    )
    .await?;
    let request = request::parse(content_type.as_deref(), &body)?;
    let voice = voices::for_request(request.voice.as_deref()).await?;
    stream::respond(voice, request)
}
