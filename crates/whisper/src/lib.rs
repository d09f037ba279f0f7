//! Whisper speech recognition on faster-whisper (CTranslate2) checkpoints, run with tract.
//!
//! Layers, each depending only on the ones before it:
//! [`checkpoint`] reads `model.bin`/`config.json`/vocabulary → [`graph`] builds and optimises
//! the encoder and decoder-step graphs → [`mel`] computes features and [`tokenizer`] maps ids
//! to text → [`decode`] decodes one 30 s window, [`alignment`] times its words →
//! [`transcribe`] runs faster-whisper's seek loop, optionally on the speech found by [`vad`].
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
pub mod graph;
pub mod mel;
pub mod tokenizer;
pub mod transcribe;
pub mod vad;

pub use alignment::Word;
pub use transcribe::{Model, Segment, Task, TranscribeOptions, Transcript};
pub use vad::{Vad, VadOptions};

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
