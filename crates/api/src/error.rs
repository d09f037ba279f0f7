//! The error every route answers with, in Vox's native shape or OpenAI's.

use serde_json::{Value, json};

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
    pub code: String,
    pub message: String,
    /// The request parameter at fault, when there is one (OpenAI's `param`).
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            param: None,
        }
    }

    /// Names the request parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// A parameter with an unacceptable value.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_parameter", message).with_param(param)
    }

    pub fn missing_param(param: &str) -> Self {
        Self::new(400, "missing_parameter", format!("`{param}` is required")).with_param(param)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "invalid_api_key",
            "missing or invalid API key (send `Authorization: Bearer <key>`)",
        )
    }

    pub fn not_found(method: &str, path: &str) -> Self {
        Self::new(404, "not_found", format!("no route for {method} {path}"))
    }

    pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            format!(
                "{method} is not allowed on {path}; use {}",
                allowed.join(", ")
            ),
        )
    }

    pub fn payload_too_large(what: &str, limit: u64) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("{what} exceeds the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported_media_type", message)
    }

    /// An upstream service could not be reached at all.
    pub fn upstream_unreachable(service: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            502,
            "upstream_unreachable",
            format!("the {service} service is unreachable: {detail}"),
        )
    }

    /// An upstream service answered something the gateway cannot use.
    pub fn upstream_invalid(service: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            502,
            "upstream_invalid_response",
            format!("the {service} service sent an invalid response: {detail}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal_error", message)
    }

    /// Rebuilds an error a private service answered with, keeping its status and message.
    /// Bodies that are not in the native error shape still keep the status.
    pub fn from_upstream(service: &str, status: u16, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let code = error.and_then(|e| e.get("code")).and_then(Value::as_str);
        let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
        match (code, message) {
            (Some(code), Some(message)) => Self::new(status, code, message),
            _ => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let message = if text.is_empty() {
                    format!("the {service} service answered status {status}")
                } else {
                    format!(
                        "the {service} service answered status {status}: {}",
                        truncate(text, 500)
                    )
                };
                Self::new(status, format!("{service}_error"), message)
            }
        }
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
        match style {
            ErrorStyle::Native => json!({"error": {"code": self.code, "message": self.message}}),
            ErrorStyle::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": self.param,
                "code": self.code,
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
        let e = ApiError::bad_request("empty_text", "text is empty");
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
        let body = br#"{"error":{"code":"unsupported_audio","message":"cannot decode audio"}}"#;
        let e = ApiError::from_upstream("asr", 415, body);
        assert_eq!(
            (e.status, e.code.as_str(), e.message.as_str()),
            (415, "unsupported_audio", "cannot decode audio")
        );
        let e = ApiError::from_upstream("tts", 500, b"boom");
        assert_eq!(e.status, 500);
        assert_eq!(e.code, "tts_error");
        assert!(e.message.contains("boom"));
    }

    #[test]
    fn style_by_path() {
        assert_eq!(ErrorStyle::for_path("/v1/audio/speech"), ErrorStyle::OpenAi);
        assert_eq!(ErrorStyle::for_path("/api/tts"), ErrorStyle::Native);
        assert_eq!(ErrorStyle::for_path("/v1"), ErrorStyle::Native);
    }
}
