//! The asr service's request limits.
//!
//! The longest audio accepted is `vox_audio::DEFAULT_MAX_DURATION` (30 min), the default of
//! every decode; decoding stops as soon as an upload passes it.

/// Largest upload, raw or multipart.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
