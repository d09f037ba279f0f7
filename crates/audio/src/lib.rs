//! Audio decoding and resampling to 16 kHz mono.
//!
//! Uploads (WAV with PCM, G.711 or ADPCM; FLAC; MP1/MP2/MP3; Ogg Vorbis and Opus; MP4/M4A with
//! AAC or ALAC; Matroska/WebM; AIFF/AIFC; ADTS AAC) are recognised by content, decoded with limits on size
//! and duration, averaged to mono and resampled with a band-limited resampler. Failures are typed
//! [`DecodeError`]s with stable codes for API responses. Responses are encoded as they stream
//! ([`StreamEncoder`]: PCM, WAV, MP3, Opus, AAC, FLAC). Pure Rust; builds for `wasm32-wasip2`.

mod decode;
mod encode;
mod error;
mod opus;
mod probe;
mod resample;
mod wav;

pub use decode::{
    Codec, DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION, DecodeOptions, DecodedAudio,
    TARGET_SAMPLE_RATE, decode, decode_reader, to_mono_16k,
};
pub use encode::{Encoding, StreamEncoder};
pub use error::{DecodeError, EncodeError, ResampleError};
pub use resample::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Resampler, downmix, resample};
pub use wav::{WAV_HEADER_LEN, WAV_UNKNOWN_SIZE, encode_wav, f32_to_i16, f32_to_s16le, wav_header};
