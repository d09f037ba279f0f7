//! The crate's error type, with the stable API code each failure answers with.

use std::path::PathBuf;

use tract_onnx::prelude::TractError;
use vox_error::{ApiError, ErrorCode};

/// Everything that can go wrong loading a voice or synthesizing with it.
#[derive(Debug, thiserror::Error)]
pub enum PiperError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("voice config: {0}")]
    Config(String),
    #[error("unknown speaker {0:?}")]
    UnknownSpeaker(String),
    #[error("{len} phoneme ids do not fit the largest bucket ({max})")]
    TooLong { len: usize, max: usize },
    #[error("no phoneme ids to synthesize")]
    Empty,
    #[error("model: {0}")]
    Model(String),
    #[error(transparent)]
    Inference(#[from] vox_nn::NnError),
}

impl PiperError {
    /// Stable identifier for clients: the caller's mistakes are 4xx, a voice that does not
    /// load or run is the server's (500).
    pub fn code(&self) -> ErrorCode {
        match self {
            PiperError::UnknownSpeaker(_) => ErrorCode::UnknownSpeaker,
            PiperError::TooLong { .. } => ErrorCode::TextTooLong,
            PiperError::Empty => ErrorCode::NoSpeech,
            PiperError::Io { .. } | PiperError::Config(_) | PiperError::Model(_) => {
                ErrorCode::InternalError
            }
            PiperError::Inference(e) => e.code(),
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

/// tract's errors keep their whole cause chain in the message.
impl From<TractError> for PiperError {
    fn from(err: TractError) -> Self {
        Self::Model(format!("{err:#}"))
    }
}

impl From<PiperError> for ApiError {
    fn from(e: PiperError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

pub type Result<T, E = PiperError> = std::result::Result<T, E>;
