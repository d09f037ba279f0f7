//! What a transcription returns: segments with their timing, tokens and scores.

use crate::alignment::Word;

/// One transcribed segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// 1-based index.
    pub id: usize,
    /// Mel frame where its window started.
    pub seek: usize,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Text, with its leading space.
    pub text: String,
    /// Token ids including timestamp tokens.
    pub tokens: Vec<u32>,
    /// Temperature of the accepted decoding.
    pub temperature: f32,
    /// Average token log-probability of the window.
    pub avg_logprob: f64,
    /// gzip compression ratio of the window's text.
    pub compression_ratio: f64,
    /// Probability of no speech in the window.
    pub no_speech_prob: f32,
    /// Words with timestamps (empty unless `word_timestamps`).
    pub words: Vec<Word>,
}

/// A transcription.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    /// All segment texts joined, trimmed.
    pub text: String,
    /// Language code.
    pub language: String,
    /// Probability of that language (1 when given or English-only).
    pub language_probability: f32,
    /// Audio duration, seconds.
    pub duration: f64,
    /// Segments in time order.
    pub segments: Vec<Segment>,
}
