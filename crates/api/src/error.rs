//! The error every route answers with, in Vox's native shape or OpenAI's (defined in `vox-error`).

pub use vox_error::{ApiError, ErrorCode, ErrorStyle};
