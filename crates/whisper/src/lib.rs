//! Whisper speech recognition on faster-whisper (CTranslate2) checkpoints, run with tract.
//!
//! Layers, each depending only on the ones before it:
//! [`error`] → [`tokenizer`] reads the vocabulary files and maps text to ids and back →
//! [`checkpoint`] reads `model.bin`/`config.json` → [`quant`] (int8 linear layers) → [`runner`]
//! runs graphs here or on the host → [`graph`] builds and optimises the encoder and decoder-step
//! graphs → [`mel`] computes features → [`vad`] finds speech →
//! [`decode`] decodes one 30 s window → `window` (one window of the seek loop) →
//! [`alignment`] times its words → `segments` splits it at timestamps → [`options`] and
//! [`transcript`] (what a call takes and returns) → `language` detects the spoken language →
//! `fallback` retries at higher temperatures → [`model`] loads it all → `transcribe` runs
//! faster-whisper's seek loop, whole ([`Model::transcribe`]) or a window at a time
//! ([`Transcription`], segments as they are decoded).
//!
//! ```no_run
//! let model = vox_whisper::Model::load("models/whisper/tiny.en".as_ref())?;
//! let samples = vec![0f32; 16_000]; // 16 kHz mono
//! let transcript = model.transcribe(&samples, &vox_whisper::TranscribeOptions::default())?;
//! println!("{}", transcript.text);
//! # Ok::<(), vox_whisper::Error>(())
//! ```
#![deny(missing_docs)]

pub mod alignment;
pub mod checkpoint;
pub mod decode;
pub mod error;
mod fallback;
pub mod graph;
mod language;
pub mod mel;
pub mod model;
pub mod ops;
pub mod options;
pub mod quant;
pub mod runner;
mod segments;
pub mod self_attention;
mod simd;
pub mod tokenizer;
mod transcribe;
pub mod transcript;
pub mod vad;
mod window;
pub mod window_product;

use std::path::Path;

pub use alignment::Word;
pub use error::Error;
pub use fallback::compression_ratio;
pub use model::Model;
pub use options::{Task, TranscribeOptions};
pub use quant::ComputeType;
pub use runner::Inference;
pub use transcribe::{Decoded, Transcription};
pub use transcript::{Segment, Transcript};
pub use vad::{Vad, VadOptions};

/// Whether the model in `dir` is multilingual, from its vocabulary as the checkpoint reader
/// sees it (`vocabulary.json`, `vocabulary.txt` or `tokenizer.json`), without loading weights.
/// [`Model::is_multilingual`] gives the same answer once loaded.
pub fn is_multilingual(dir: &Path) -> Result<bool, Error> {
    let size = tokenizer::Vocabulary::read_size(dir)?;
    Ok(tokenizer::is_multilingual_vocabulary(size))
}
