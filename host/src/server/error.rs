//! Errors the host answers itself, before or instead of a component, sent as
//! `{"error":{"code","message"}}`.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};

use crate::runtime::Response;

#[derive(Debug, Clone, thiserror::Error)]
pub enum HostError {
    #[error("no route for {method} {path}")]
    NotFound { method: http::Method, path: String },
    #[error("request body exceeds the {limit}-byte limit")]
    PayloadTooLarge { limit: u64 },
    /// The client stopped sending its body.
    #[error("request body not received within {}s", timeout.as_secs_f64())]
    RequestTimeout { timeout: Duration },
    #[error("component {component:?} did not respond within {}s", timeout.as_secs_f64())]
    ComponentTimeout {
        component: String,
        timeout: Duration,
    },
    #[error("component {component:?} failed: {message}")]
    ComponentFailed { component: String, message: String },
    #[error("component {component:?} is not running")]
    NotRunning { component: String },
}

impl HostError {
    /// The stable `error.code` clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            HostError::NotFound { .. } => "not_found",
            HostError::PayloadTooLarge { .. } => "payload_too_large",
            HostError::RequestTimeout { .. } => "request_timeout",
            HostError::ComponentTimeout { .. } => "component_timeout",
            HostError::ComponentFailed { .. } => "component_failed",
            HostError::NotRunning { .. } => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HostError::NotFound { .. } => StatusCode::NOT_FOUND,
            HostError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HostError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            HostError::ComponentTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            HostError::ComponentFailed { .. } | HostError::NotRunning { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    pub fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code(), "message": self.to_string()}})
            .to_string();
        http::Response::builder()
            .status(self.status())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(
                Full::new(Bytes::from(body))
                    .map_err(
                        |never: std::convert::Infallible| -> wasmtime_wasi_http::Error {
                            match never {}
                        },
                    )
                    .boxed_unsync(),
            )
            .expect("static response parts are valid")
    }
}
