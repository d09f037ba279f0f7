//! The gateway: Vox's one public entry point. It serves the native and OpenAI-compatible APIs
//! and reaches the private `asr` and `tts` components through Spin service chaining.

mod audio_sse;
mod auth;
mod cors;
mod e2e;
mod native;
mod openai;
mod routes;
mod upstream;

use spin_sdk::http::Request;
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> vox_http_kit::Reply {
    routes::handle(req).await
}
