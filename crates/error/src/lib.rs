//! Vox's error vocabulary: the stable codes every route answers with and the error that carries one.
//!
//! This is the leaf of the dependency graph: the libraries (`vox-audio`, `vox-whisper`, `vox-piper`,
//! `vox-phonemizer`) implement `From<TheirError> for ApiError` next to their own typed errors, and
//! `vox-api` and the components only ever hold an [`ApiError`]. Conversions between layers are
//! `From` impls, never matches on message or code strings (the pattern of Spin's
//! `crates/manifest/src/error.rs` and wasi-http's `p3` conversions).

mod code;

use serde_json::{Value, json};

pub use code::ErrorCode;

/// Which JSON shape an error body takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// `{"error":{"code","message"}}` — the native routes and the private services.
    Native,
    /// `{"error":{"message","type","param","code"}}` — the `/v1/*` routes.
    OpenAi,
}

impl ErrorStyle {
    /// OpenAI-compatible routes live under `/v1/`.
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/v1/") {
            Self::OpenAi
        } else {
            Self::Native
        }
    }
}

/// An HTTP error with a stable machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    /// The request parameter at fault, when there is one (OpenAI's `param`).
    pub param: Option<String>,
}

impl ApiError {
    /// An error with the code's own status ([`ErrorCode::status`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, message)
    }

    /// An error whose status is not the code's usual one (an upstream's answer, say).
    pub fn with_status(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// Names the request parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// A parameter with an unacceptable value.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message).with_param(param)
    }

    pub fn missing_param(param: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("`{param}` is required"),
        )
        .with_param(param)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::InvalidApiKey,
            "missing or invalid API key (send `Authorization: Bearer <key>`)",
        )
    }

    pub fn not_found(method: &str, path: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no route for {method} {path}"))
    }

    pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> Self {
        let allowed = allowed.join(", ");
        Self::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}; use {allowed}"),
        )
    }

    pub fn payload_too_large(what: &str, limit: u64) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("{what} exceeds the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, message)
    }

    /// An upstream service could not be reached at all.
    pub fn upstream_unreachable(service: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::UpstreamUnreachable,
            format!("the {service} service is unreachable: {detail}"),
        )
    }

    /// An upstream service answered something the gateway cannot use.
    pub fn upstream_invalid(service: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::UpstreamInvalidResponse,
            format!("the {service} service sent an invalid response: {detail}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// Rebuilds an error a private service answered with, keeping its status and message.
    /// Bodies that are not in the native error shape still keep the status; a body without a
    /// code this build knows becomes `<service>_error`.
    pub fn from_upstream(service: &str, status: u16, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let field = |name| error.and_then(|e| e.get(name)).and_then(Value::as_str);
        let code = field("code").and_then(|c| c.parse::<ErrorCode>().ok());
        let code = code.unwrap_or_else(|| ErrorCode::for_service(service));
        if let Some(message) = field("message") {
            return Self::with_status(status, code, message);
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("the {service} service answered status {status}")
        } else {
            let text = truncate(text, 500);
            format!("the {service} service answered status {status}: {text}")
        };
        Self::with_status(status, code, message)
    }

    /// OpenAI's `type` for this status.
    pub fn openai_type(&self) -> &'static str {
        match self.status {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            s if s >= 500 => "server_error",
            _ => "invalid_request_error",
        }
    }

    pub fn to_json(&self, style: ErrorStyle) -> Value {
        let code = self.code.as_str();
        match style {
            ErrorStyle::Native => json!({"error": {"code": code, "message": self.message}}),
            ErrorStyle::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": self.param,
                "code": code,
            }}),
        }
    }

    pub fn body(&self, style: ErrorStyle) -> String {
        self.to_json(style).to_string()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_shape() {
        let e = ApiError::new(ErrorCode::EmptyText, "text is empty");
        assert_eq!(
            e.to_json(ErrorStyle::Native),
            json!({"error": {"code": "empty_text", "message": "text is empty"}})
        );
    }

    #[test]
    fn openai_shape() {
        let e = ApiError::invalid_param("speed", "speed must be between 0.25 and 4.0");
        assert_eq!(
            e.to_json(ErrorStyle::OpenAi),
            json!({"error": {"message": "speed must be between 0.25 and 4.0", "type": "invalid_request_error", "param": "speed", "code": "invalid_parameter"}})
        );
        assert_eq!(ApiError::internal("x").openai_type(), "server_error");
        assert_eq!(
            ApiError::unauthorized().openai_type(),
            "authentication_error"
        );
    }

    #[test]
    fn upstream_errors_keep_status_and_message() {
        let body = br#"{"error":{"code":"unsupported_format","message":"cannot decode audio"}}"#;
        let e = ApiError::from_upstream("asr", 415, body);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (415, ErrorCode::UnsupportedFormat, "cannot decode audio")
        );
        let body = br#"{"error":{"code":"no_such_code","message":"it broke"}}"#;
        let e = ApiError::from_upstream("asr", 503, body);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (503, ErrorCode::AsrError, "it broke")
        );
        let e = ApiError::from_upstream("tts", 500, b"boom");
        assert_eq!(e.status, 500);
        assert_eq!(e.code, ErrorCode::TtsError);
        assert!(e.message.contains("boom"));
    }

    #[test]
    fn style_by_path() {
        assert_eq!(ErrorStyle::for_path("/v1/audio/speech"), ErrorStyle::OpenAi);
        assert_eq!(ErrorStyle::for_path("/api/tts"), ErrorStyle::Native);
        assert_eq!(ErrorStyle::for_path("/v1"), ErrorStyle::Native);
    }
}
