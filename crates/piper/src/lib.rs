//! Piper (VITS) voices on tract: phoneme strings or ids in, f32 audio out.
//!
//! Layers, each module using only those above it in this list (no import cycles):
//! `error`; `ids` (phonemes → ids, Piper's framing); `config` (a voice's `.onnx.json`);
//! `params` (per-request settings); `split` (cutting long sentences); `graph_fix` (rewrites
//! of the ONNX graph); `plan` (per-bucket tract plans and the vocoder); `voice` (a loaded
//! voice and one model call); `synth` (whole sentences and streaming on a voice).

mod config;
mod error;
mod graph_fix;
mod ids;
mod params;
mod plan;
mod split;
mod synth;
mod voice;

pub use config::{Speaker, VoiceConfig};
pub use error::{PiperError, Result};
pub use ids::PhonemeIdMap;
pub use params::SynthesisParams;
pub use plan::{Buckets, Optimisation};
pub use synth::{AudioChunk, Synthesizer};
pub use voice::{Inference, Voice, VoiceOptions};
