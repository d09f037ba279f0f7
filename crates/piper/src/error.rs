//! The crate's error type.

use std::path::PathBuf;

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
}

impl PiperError {
    /// Wraps a tract error, keeping its whole cause chain in the message.
    pub(crate) fn model(err: impl std::fmt::Display) -> Self {
        Self::Model(format!("{err:#}"))
    }
}

pub type Result<T, E = PiperError> = std::result::Result<T, E>;
