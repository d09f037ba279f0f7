//! Typed errors with stable machine codes for API responses.

use std::time::Duration;

use vox_error::{ApiError, ErrorCode};

/// Why an upload could not be turned into audio.
///
/// Every variant is the client's fault (a 4xx), so [`code`](Self::code) and the `Display` message
/// can go straight into an `{"error":{"code","message"}}` body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all, or a valid container holding no samples.
    #[error("the audio is empty")]
    Empty,
    /// The content matches no format this service reads.
    #[error("unrecognised audio format: expected WAV, FLAC, MP3, Ogg, WebM, MP4/M4A, AIFF or AAC")]
    UnknownFormat,
    /// A recognised container or codec that this service does not decode.
    #[error("unsupported audio format: {0}")]
    Unsupported(String),
    /// The stream is malformed and cannot be decoded.
    #[error("invalid audio: {0}")]
    Invalid(String),
    /// The stream ends before its headers say it should.
    #[error("the audio stream is truncated")]
    Truncated,
    /// Longer than the configured maximum duration.
    #[error("the audio is longer than the maximum of {} s", limit.as_secs_f64())]
    TooLong { limit: Duration },
    /// More bytes than the configured maximum upload size.
    #[error("the audio is larger than the maximum of {limit} bytes")]
    TooLarge { limit: usize },
}

impl DecodeError {
    /// Stable identifier for clients to match on; never changes once published.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::Empty => ErrorCode::EmptyAudio,
            DecodeError::UnknownFormat | DecodeError::Unsupported(_) => {
                ErrorCode::UnsupportedFormat
            }
            DecodeError::Invalid(_) => ErrorCode::InvalidAudio,
            DecodeError::Truncated => ErrorCode::TruncatedAudio,
            DecodeError::TooLong { .. } => ErrorCode::AudioTooLong,
            DecodeError::TooLarge { .. } => ErrorCode::AudioTooLarge,
        }
    }

    /// The HTTP status to answer with: 413 for the size limits, 400 for the rest.
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// Why audio could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The format cannot carry this sample rate (MP3 has a fixed set), or the resampler cannot
    /// reach it.
    #[error("{} audio cannot be {rate} Hz{}", encoding.name(), rates_hint(*encoding))]
    UnsupportedRate {
        encoding: crate::Encoding,
        rate: u32,
    },
    /// The encoder failed; indicates a bug rather than bad input.
    #[error("encoder failed: {0}")]
    Internal(String),
}

fn rates_hint(encoding: crate::Encoding) -> String {
    match encoding.rates() {
        Some(rates) => {
            let list: Vec<String> = rates.iter().map(u32::to_string).collect();
            format!("; supported: {}", list.join(", "))
        }
        None => String::new(),
    }
}

/// Why a resampler could not be built or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// A rate outside [`crate::MIN_SAMPLE_RATE`]..=[`crate::MAX_SAMPLE_RATE`].
    #[error("sample rate {0} Hz is outside the supported range")]
    UnsupportedRate(u32),
    /// The underlying resampler failed; indicates a bug rather than bad input.
    #[error("resampler failed: {0}")]
    Internal(String),
}
