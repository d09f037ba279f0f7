//! The crate's typed error, its stable API code, and its conversion into the API error.

use std::path::Path;

use tract_onnx::prelude::TractError;
use vox_error::{ApiError, ErrorCode};

/// Errors of loading a checkpoint or transcribing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A checkpoint file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The checkpoint is malformed or incomplete.
    #[error("invalid checkpoint: {0}")]
    Checkpoint(String),
    /// tract could not build or optimise a graph.
    #[error("cannot build graph: {0}")]
    Graph(String),
    /// Running a graph failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// An option is out of range or unsupported by this model.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

impl Error {
    /// Stable identifier for clients: a bad option is the caller's fault, the rest the server's.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidOption(_) => ErrorCode::InvalidParameter,
            Error::Io { .. } | Error::Checkpoint(_) | Error::Graph(_) | Error::Inference(_) => {
                ErrorCode::InternalError
            }
        }
    }

    /// The HTTP status to answer with: 400 for a bad option, 500 for the rest.
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

/// The bytes of a model file `name` in `dir`, or [`Error::Io`] naming it.
pub(crate) fn read_model_file(dir: &Path, name: &str) -> Result<Vec<u8>, Error> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// A failure while running a graph (building one adds its own context as [`Error::Graph`]).
impl From<TractError> for Error {
    fn from(e: TractError) -> Self {
        Error::Inference(format!("{e:#}"))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        // A bad option's message stands alone; the others keep their kind as a prefix.
        let message = match e {
            Error::InvalidOption(message) => message,
            other => other.to_string(),
        };
        ApiError::new(code, message)
    }
}
