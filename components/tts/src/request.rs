//! `POST /synthesize` bodies: JSON (`vox_api::speech::Synthesize`) or plain text, validated.

use vox_api::speech::{self, AudioFormat, Synthesize};
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

/// The piper speaker for a request's speaker.
pub fn speaker(speaker: &speech::Speaker) -> Speaker {
    match speaker {
        speech::Speaker::Id(id) => Speaker::Id(i64::from(*id)),
        speech::Speaker::Name(name) => Speaker::Name(name.clone()),
    }
}
