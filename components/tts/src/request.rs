//! `POST /synthesize` bodies: JSON (`vox_api::speech::Synthesize`) or plain text, validated.

use vox_api::speech::{AudioFormat, Synthesize};
use vox_api::{ApiError, ErrorCode};
use vox_piper::Speaker;

pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Synthesize, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidUtf8,
            format!("the body is not valid UTF-8: {e}"),
        )
    })?;
    let is_json = content_type
        .map(|ct| ct.to_ascii_lowercase().contains("json"))
        .unwrap_or_else(|| text.trim_start().starts_with('{'));
    let request = if is_json {
        serde_json::from_str(text)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON body: {e}")))?
    } else {
        Synthesize::new(text.to_string(), AudioFormat::Pcm)
    };
    request.validate("text")?;
    Ok(request)
}

/// A speaker by index (`3`) or by name (`"alice"`).
pub fn speaker(value: &serde_json::Value) -> Result<Speaker, ApiError> {
    match value {
        serde_json::Value::Number(n) if n.is_i64() => {
            Ok(Speaker::Id(n.as_i64().unwrap_or_default()))
        }
        serde_json::Value::String(name) => Ok(Speaker::Name(name.clone())),
        other => Err(ApiError::invalid_param(
            "speaker",
            format!("`speaker` must be an index or a name, got {other}"),
        )),
    }
}
