//! The gateway: Vox's one public entry point. It serves the native and OpenAI-compatible APIs
//! and reaches the private `asr` and `tts` components (and an optional responder) through Spin
//! service chaining.
//!
//! Modules depend one way, from the router down to the leaves:
//!
//! ```text
//! routes ──> auth, cors, page         (page: the browser UI's embedded files)
//!   └──────> native, openai, e2e          (the handlers; they never use each other)
//!              └──> transcribe, responder, audio, audio_sse
//!                     └──> upstream       (service chaining; uses no other module)
//! ```
//!
//! Handlers share code only through the modules below them; anything about HTTP in general
//! (headers, bodies, replies) lives in `vox-http-kit`, and the API's logic in `vox-api`.

mod audio;
mod audio_sse;
mod auth;
mod cors;
mod e2e;
mod native;
mod openai;
mod page;
mod responder;
mod routes;
mod transcribe;
mod upstream;

use spin_sdk::http::Request;
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> vox_http_kit::Reply {
    routes::handle(req).await
}
