//! What one decoding pass is asked for and what it returns.

/// Options of one decoding pass (one temperature).
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Beam width; 1 is greedy (or sampling when `temperature > 0`).
    pub beam_size: usize,
    /// Beam search stops after `round(beam_size * patience)` finished hypotheses.
    pub patience: f32,
    /// Hypothesis scores are divided by `length^length_penalty`.
    pub length_penalty: f32,
    /// 0 for argmax/beam search, otherwise sampling temperature.
    pub temperature: f32,
    /// Samples drawn when `temperature > 0`; the best-scoring one is kept.
    pub best_of: usize,
    /// Tokens never generated.
    pub suppress_tokens: Vec<u32>,
    /// Tokens not generated first (blank, end of text).
    pub suppress_begin: Vec<u32>,
    /// Last timestamp index allowed as the first token (`max_initial_timestamp / 0.02`).
    pub max_initial_timestamp_index: u32,
    /// Total length budget of prompt + generated tokens (the decoder's context, 448).
    pub max_length: usize,
    /// Seed of the sampler.
    pub seed: u64,
}

/// Result of one decoding pass.
#[derive(Clone, Debug)]
pub struct DecodeResult {
    /// Generated tokens, without the final `<|endoftext|>`.
    pub tokens: Vec<u32>,
    /// Sum of token log-probabilities, including the end-of-text token when produced.
    pub sum_logprob: f64,
    /// Average log-probability as faster-whisper computes it: `sum / (len + 1)`.
    pub avg_logprob: f64,
    /// Probability of `<|nospeech|>` at the start-of-transcript position.
    pub no_speech_prob: f32,
}

/// What a search found: tokens, their summed log-probability (with end of text), and the
/// length CTranslate2 normalises the score by.
pub(crate) struct Hypothesis {
    pub tokens: Vec<u32>,
    pub sum_logprob: f64,
    pub score_len: usize,
}
