//! Reading a request body whole, but never past a limit.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use spin_sdk::http::Request;
use vox_api::{ApiError, ErrorCode};

/// Rejects a declared `content-length` over the limit before reading anything.
pub fn check_length(req: &Request, limit: u64, what: &str) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::payload_too_large(what, limit)),
        _ => Ok(()),
    }
}

/// Reads a whole request body of at most `limit` bytes: 413 beyond it.
pub async fn read_bounded(req: Request, limit: u64, what: &str) -> Result<Bytes, ApiError> {
    check_length(&req, limit, what)?;
    match Limited::new(req.into_body(), limit as usize)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::payload_too_large(what, limit))
        }
        Err(e) => Err(ApiError::new(
            ErrorCode::BodyReadFailed,
            format!("reading {what} failed: {e}"),
        )),
    }
}
