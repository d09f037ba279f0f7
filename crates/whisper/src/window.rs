//! One 30 s window of faster-whisper's seek loop: where it lies in the audio and its encoding,
//! the context that segment splitting and word timing share.

use crate::decode::AudioFeatures;
use crate::mel;

/// Seconds per mel frame.
pub(crate) const TIME_PER_FRAME: f64 = mel::HOP_LENGTH as f64 / mel::SAMPLE_RATE as f64;
/// Seconds per timestamp token.
pub(crate) const TIME_PRECISION: f64 = 0.02;
/// Mel frames per encoder position (the second convolution has stride 2).
pub(crate) const INPUT_STRIDE: usize = 2;

/// A window of the seek loop (faster-whisper's `seek`, `segment_size`, `time_offset`,
/// `segment_duration` and `encoder_output`).
pub(crate) struct Window {
    /// First mel frame.
    pub seek: usize,
    /// Mel frames of content (at most 3000).
    pub num_frames: usize,
    /// The cross-attention keys and values of its features.
    pub audio: AudioFeatures,
}

impl Window {
    /// Start, seconds.
    pub fn time_offset(&self) -> f64 {
        self.seek as f64 * TIME_PER_FRAME
    }

    /// Length of its content, seconds.
    pub fn duration(&self) -> f64 {
        self.num_frames as f64 * TIME_PER_FRAME
    }

    /// The frame after it.
    pub fn end(&self) -> usize {
        self.seek + self.num_frames
    }
}
