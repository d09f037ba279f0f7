//! The asr service's request limits.

use std::time::Duration;

/// Largest upload, raw or multipart.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Longest audio accepted; decoding stops as soon as an upload passes it.
pub const MAX_AUDIO_DURATION: Duration = Duration::from_secs(30 * 60);
