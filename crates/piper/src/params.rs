//! Per-request synthesis settings: noise, pace, speaker and the silence between sentences.

use crate::config::Speaker;

/// Per-request synthesis settings; [`Voice::default_params`](crate::Voice::default_params) gives
/// the voice's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisParams {
    /// Generator noise (0 = deterministic timbre).
    pub noise_scale: f32,
    /// Phoneme duration factor: larger is slower.
    pub length_scale: f32,
    /// Duration noise (0 = deterministic timing).
    pub noise_w: f32,
    pub speaker: Option<Speaker>,
    /// Seconds of silence appended after each sentence.
    pub sentence_silence: f32,
}

impl SynthesisParams {
    /// Speaking rate relative to the voice's natural pace (1 / `length_scale`).
    pub fn speed(&self) -> f32 {
        1.0 / self.length_scale
    }

    pub fn with_speed(mut self, speed: f32) -> Self {
        self.length_scale = 1.0 / speed;
        self
    }

    /// Turns both noises off, making the output a pure function of the ids.
    pub fn without_noise(mut self) -> Self {
        self.noise_scale = 0.0;
        self.noise_w = 0.0;
        self
    }

    /// The sentence silence in samples at `sample_rate`.
    pub(crate) fn silence_samples(&self, sample_rate: u32) -> usize {
        (self.sentence_silence.max(0.0) * sample_rate as f32).round() as usize
    }
}
