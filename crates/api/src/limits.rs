//! Request limits the gateway enforces before any work reaches a model.

/// Largest audio upload, in bytes (the same as OpenAI's 25 MB).
pub const MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// How long an upload answered before it was read is still read, so the client gets to see
/// the answer (host/src/body.rs, and the gateway under Spin).
pub const UPLOAD_LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// Room for multipart boundaries, part headers and text fields around the file.
pub const MULTIPART_OVERHEAD_BYTES: u64 = 64 * 1024;

/// Largest multipart body as a whole.
pub const MAX_MULTIPART_BYTES: u64 = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES;

/// Longest text to synthesize, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Largest JSON or text request body for synthesis, in bytes (4 bytes per character plus JSON).
pub const MAX_TTS_BODY_BYTES: u64 = 64 * 1024;

/// Largest JSON body read back from a private service, in bytes.
pub const MAX_UPSTREAM_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Largest error body read back from a private service, in bytes (its message is kept).
pub const MAX_UPSTREAM_ERROR_BYTES: u64 = 64 * 1024;

/// Longest reply read from the end-to-end flow's responder, in bytes (ten times the text one
/// synthesis request may carry: the reply is spoken a few sentences at a time).
pub const MAX_REPLY_BYTES: u64 = 10 * MAX_TEXT_CHARS as u64 * 4;

/// Largest value of a single multipart text field, in bytes.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Most parts in one multipart body.
pub const MAX_PARTS: usize = 32;

/// Fastest and slowest OpenAI `speed`.
pub const SPEED_RANGE: (f32, f32) = (0.25, 4.0);

/// Lowest and highest `sample_rate` of synthesized audio, in Hz.
pub const SAMPLE_RATE_RANGE: (u32, u32) = (8_000, 48_000);
