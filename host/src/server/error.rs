//! Errors the host answers itself, before or instead of a component, sent as
//! `{"error":{"code","message"}}`, or in OpenAI's error shape under `/v1/` as the gateway
//! answers there (`ErrorStyle::for_path`).

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use vox_error::{ApiError, ErrorCode, ErrorStyle};

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
    /// The stable `error.code` clients match on: the same vocabulary as the components' errors.
    pub fn code(&self) -> ErrorCode {
        match self {
            HostError::NotFound { .. } => ErrorCode::NotFound,
            HostError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            HostError::RequestTimeout { .. } => ErrorCode::RequestTimeout,
            HostError::ComponentTimeout { .. } => ErrorCode::ComponentTimeout,
            HostError::ComponentFailed { .. } => ErrorCode::ComponentFailed,
            HostError::NotRunning { .. } => ErrorCode::InternalError,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).expect("error codes carry valid statuses")
    }

    /// The error as a response in `style`, the shape the request's route answers in.
    pub fn into_response(self, style: ErrorStyle) -> Response {
        let body = ApiError::new(self.code(), self.to_string()).body(style);
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
