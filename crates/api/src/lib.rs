//! Vox's public API logic, free of HTTP clients and WebAssembly so it is unit-tested natively.
//!
//! The gateway component is a thin adapter over this crate: it parses requests with these
//! helpers, forwards them to the private `asr` and `tts` services and shapes their answers.

pub mod auth;
pub mod cors;
pub mod error;
pub mod limits;
pub mod models;
pub mod multipart;
pub mod percent;
pub mod query;
pub mod request_id;
pub mod routes;
pub mod sentences;
pub mod speech;
pub mod sse;
pub mod transcript;
pub mod transcript_stream;
pub mod transcription_form;
pub mod usage;
pub mod voices;

pub use error::{ApiError, ErrorCode, ErrorStyle};
