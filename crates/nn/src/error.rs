//! The crate's error type, with the stable API code each failure answers with.

use vox_error::{ApiError, ErrorCode};

/// What can go wrong between a component and the host's inference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NnError {
    /// Bytes or tensors the host cannot take (wasi:nn's `invalid-argument`).
    #[error("inference: invalid argument: {0}")]
    InvalidArgument(String),
    /// The host has no backend for the graph (wasi:nn's `invalid-encoding`).
    #[error("inference: unsupported graph: {0}")]
    Unsupported(String),
    /// Loading or running the graph failed on the host.
    #[error("inference: {0}")]
    Runtime(String),
    /// A tensor the other side sent is not the shape or type asked for.
    #[error("inference: tensor {name}: {message}")]
    Tensor { name: String, message: String },
}

impl NnError {
    /// Every inference failure is the server's: clients never send tensors.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InternalError
    }
}

impl From<NnError> for ApiError {
    fn from(e: NnError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}
