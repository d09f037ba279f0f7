//! The `tts` component: a private Spin HTTP service reached through the gateway.

use spin_sdk::http::{IntoResponse, Request, Response, StatusCode};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (status, body) = match (req.method().as_str(), req.uri().path()) {
        ("GET", "/health") => (StatusCode::OK, serde_json::json!({"status": "ok", "service": "tts"})),
        _ => (
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": {"code": "not_found", "message": format!("no route for {} {}", req.method(), req.uri().path())}}),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .unwrap()
}
