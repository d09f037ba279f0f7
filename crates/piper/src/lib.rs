//! Piper (VITS) voices on tract: phoneme strings or ids in, f32 audio out.

mod config;
mod error;
mod graph_fix;
mod ids;
mod plan;
mod split;
mod synth;
mod voice;

pub use config::{Speaker, VoiceConfig};
pub use error::{PiperError, Result};
pub use ids::PhonemeIdMap;
pub use plan::{Buckets, Optimisation};
pub use synth::{AudioChunk, SynthesisParams, Synthesizer, to_i16, to_s16le};
pub use voice::{Voice, VoiceOptions};
