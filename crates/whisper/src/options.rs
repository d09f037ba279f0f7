//! The options of a transcription, with faster-whisper's `transcribe()` defaults.

use crate::vad::VadOptions;

/// What the decoder produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Task {
    /// Text in the spoken language.
    #[default]
    Transcribe,
    /// English text (multilingual models).
    Translate,
}

/// Options of [`Model::transcribe`], with faster-whisper's `transcribe()` defaults.
#[derive(Clone, Debug)]
pub struct TranscribeOptions {
    /// Spoken language code; detected on the first 30 s when `None` (multilingual models).
    pub language: Option<String>,
    /// Transcribe or translate.
    pub task: Task,
    /// Beam width at temperature 0 (5).
    pub beam_size: usize,
    /// Samples per fallback temperature (5).
    pub best_of: usize,
    /// Beam search patience (1.0).
    pub patience: f32,
    /// Length penalty exponent (1.0).
    pub length_penalty: f32,
    /// Temperatures tried in order until a result passes the thresholds.
    pub temperatures: Vec<f32>,
    /// Fall back when the gzip compression ratio of the text is above this (2.4).
    pub compression_ratio_threshold: Option<f64>,
    /// Fall back when the average log-probability is below this (-1.0).
    pub log_prob_threshold: Option<f64>,
    /// Skip a window whose no-speech probability is above this and log-prob is low (0.6).
    pub no_speech_threshold: Option<f32>,
    /// Prompt each window with the text of the previous ones (true).
    pub condition_on_previous_text: bool,
    /// Drop the prompt after a window decoded above this temperature (0.5).
    pub prompt_reset_on_temperature: f32,
    /// Text prompting the first window.
    pub initial_prompt: Option<String>,
    /// Words prompting every window, ahead of the previous text (faster-whisper's `hotwords`).
    pub hotwords: Option<String>,
    /// Suppress blank and end-of-text as the first token (true).
    pub suppress_blank: bool,
    /// Token ids never generated; `-1` stands for the model's non-speech symbols (`[-1]`).
    pub suppress_tokens: Vec<i64>,
    /// Decode text only, one segment per window (false).
    pub without_timestamps: bool,
    /// Latest allowed first timestamp, in seconds (1.0).
    pub max_initial_timestamp: f64,
    /// Cap on generated tokens per window.
    pub max_new_tokens: Option<usize>,
    /// Language accepted when its probability exceeds this (0.5).
    pub language_detection_threshold: f32,
    /// Windows examined for language detection (1).
    pub language_detection_segments: usize,
    /// Add word-level timestamps from cross-attention alignment (false).
    pub word_timestamps: bool,
    /// Punctuation merged into the following word (word timestamps).
    pub prepend_punctuations: String,
    /// Punctuation merged into the preceding word (word timestamps).
    pub append_punctuations: String,
    /// Transcribe only the speech found by Silero VAD (needs [`Model::with_vad`]) (false).
    pub vad_filter: bool,
    /// Speech detection settings for `vad_filter`.
    pub vad_parameters: VadOptions,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            task: Task::Transcribe,
            beam_size: 5,
            best_of: 5,
            patience: 1.0,
            length_penalty: 1.0,
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            compression_ratio_threshold: Some(2.4),
            log_prob_threshold: Some(-1.0),
            no_speech_threshold: Some(0.6),
            condition_on_previous_text: true,
            prompt_reset_on_temperature: 0.5,
            initial_prompt: None,
            hotwords: None,
            suppress_blank: true,
            suppress_tokens: vec![-1],
            without_timestamps: false,
            max_initial_timestamp: 1.0,
            max_new_tokens: None,
            language_detection_threshold: 0.5,
            language_detection_segments: 1,
            word_timestamps: false,
            prepend_punctuations: "\"'“¿([{-".into(),
            append_punctuations: "\"'.。,，!！?？:：”)]}、".into(),
            vad_filter: false,
            vad_parameters: VadOptions::default(),
        }
    }
}
