//! Why espeak-ng could not be loaded or could not phonemize, with the stable API code of each.

use std::path::PathBuf;

use vox_error::{ApiError, ErrorCode};

/// Why espeak-ng could not be loaded or could not phonemize.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data path cannot be handed to espeak.
    #[error("espeak-ng data path {0:?} must be UTF-8, at most 150 bytes, without NUL")]
    DataPath(PathBuf),
    /// espeak has one global state: one data directory per process.
    #[error("espeak-ng is already loaded from {0:?} in this process")]
    DataDirInUse(PathBuf),
    /// The data directory is missing or espeak rejected it.
    #[error("espeak-ng could not load its data from {0:?}: {1}")]
    Initialize(PathBuf, String),
    /// No such voice in the data, or its dictionary is missing.
    #[error("espeak-ng voice {0:?}: {1}")]
    Voice(String, String),
    /// Compiling espeak's data from its sources failed.
    #[error("compiling espeak-ng data, {0}")]
    Compile(String),
    /// espeak could not decode the text.
    #[error("espeak-ng could not read the text: {0}")]
    Translate(String),
}

impl Error {
    /// Stable identifier for clients: text espeak cannot read is the client's (400); data or
    /// voices that do not load are the server's (500).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Translate(_) => ErrorCode::InvalidText,
            Error::DataPath(_)
            | Error::DataDirInUse(_)
            | Error::Initialize(..)
            | Error::Voice(..)
            | Error::Compile(_) => ErrorCode::InternalError,
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}
