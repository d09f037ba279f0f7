//! The `asr` component: a private Spin HTTP service that turns an uploaded audio file into a
//! Whisper transcript. Reached only through the gateway (`http://asr.spin.internal`).

mod limits;
mod models;
mod preinit;
mod stream;
mod transcribe;
mod wire;

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use vox_api::ErrorStyle;
use vox_http_kit::reply;

/// The service's routes, for 404/405 answers.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/models"),
    ("POST", "/transcribe"),
];

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let result = match (method.as_str(), path.as_str()) {
        ("GET", "/health") => health().await,
        ("GET", "/models") => models::list().await.map(|list| reply::json(200, &list)),
        ("POST", "/transcribe") => transcribe::handle(req).await,
        _ => Err(reply::unrouted(&method, &path, ROUTES)),
    };
    result.unwrap_or_else(|e| reply::error(&e, ErrorStyle::Native))
}

/// Liveness, whether the default model's files are in place, and which models this
/// instance already has loaded.
async fn health() -> vox_http_kit::Result {
    let default = models::default_model().await;
    let present = models::installed().iter().any(|m| m.id == default);
    let status = if present { 200 } else { 503 };
    Ok(reply::json(
        status,
        &serde_json::json!({
            "status": if present {"ok"} else {"model_missing"},
            "service": "asr",
            "model": default,
            "inference": models::INFERENCE.as_str(),
            "loaded": models::loaded(),
        }),
    ))
}
