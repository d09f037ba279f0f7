//! The gateway: Vox's one public entry point. It answers liveness itself and reaches
//! the private `asr` and `tts` components through Spin service chaining.

use spin_sdk::http::{IntoResponse, Request, Response, StatusCode};
use spin_sdk::http_service;

const ASR: &str = "http://asr.spin.internal";
const TTS: &str = "http://tts.spin.internal";

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/health") => json(StatusCode::OK, serde_json::json!({"status": "ok"})),
        ("GET", "/ready") => ready().await,
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": {"code": "not_found", "message": format!("no route for {} {}", req.method(), req.uri().path())}}),
        ),
    }
}

/// Ready when both private services answer their health check.
async fn ready() -> Response<String> {
    let mut services = serde_json::Map::new();
    let mut all_ok = true;
    for (name, base) in [("asr", ASR), ("tts", TTS)] {
        let status = match spin_sdk::http::get(format!("{base}/health")).await {
            Ok(resp) if resp.status().is_success() => "ok".to_string(),
            Ok(resp) => format!("status {}", resp.status().as_u16()),
            Err(e) => format!("unreachable: {e}"),
        };
        all_ok &= status == "ok";
        services.insert(name.into(), status.into());
    }
    let code = if all_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(code, serde_json::json!({"status": if all_ok {"ok"} else {"unavailable"}, "services": services}))
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<String> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(value.to_string())
        .unwrap()
}
