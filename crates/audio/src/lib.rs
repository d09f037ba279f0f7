//! Audio decoding and resampling to 16 kHz mono.
//!
//! Uploads (WAV, FLAC, MP3, Ogg Vorbis) are recognised by content, decoded with limits on size
//! and duration, averaged to mono and resampled with a band-limited resampler. Failures are typed
//! [`DecodeError`]s with stable codes for API responses. Pure Rust; builds for `wasm32-wasip2`.

mod decode;
mod error;
mod probe;
mod resample;
mod wav;

pub use decode::{
    Codec, DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION, DecodeOptions, DecodedAudio,
    TARGET_SAMPLE_RATE, decode, decode_reader, to_mono_16k,
};
pub use error::{DecodeError, ResampleError};
pub use resample::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Resampler, downmix, resample};
pub use wav::{WAV_HEADER_LEN, WAV_UNKNOWN_SIZE, encode_wav, f32_to_i16, f32_to_s16le, wav_header};
