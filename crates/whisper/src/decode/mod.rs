//! Decoding one 30 s window as faster-whisper's `generate` call (CTranslate2's
//! `Whisper::generate`): the prompt, then greedy, sampling or beam search under the logit rules.
//!
//! Modules, each depending only on the ones before it: [`options`] → `math` → `rules` →
//! `session` → the searches `greedy`, `sampling`, `beam` → [`Decoder`] here.

mod beam;
mod greedy;
mod math;
pub mod options;
mod rules;
mod sampling;
mod session;

use tract_onnx::prelude::*;

use crate::Error;
use crate::checkpoint::Dims;
use crate::runner::Engine;
use crate::tokenizer::SpecialTokens;
use math::{normalised_score, softmax_at};
pub use options::{DecodeOptions, DecodeResult};
use rules::LogitRules;
pub use session::AudioFeatures;
pub(crate) use session::Cross;
use session::Session;

/// Runs the decoder-step graph with its self-attention cache.
pub struct Decoder<'a> {
    plan: &'a Engine,
    dims: Dims,
    special: SpecialTokens,
}

impl<'a> Decoder<'a> {
    /// A decoder over the step graph.
    pub fn new(plan: &'a Engine, dims: Dims, special: SpecialTokens) -> Decoder<'a> {
        Decoder {
            plan,
            dims,
            special,
        }
    }

    /// Run a whole token sequence at once (batch 1): logits at positions `select`
    /// (`[select.len()][n_vocab]`) and, per alignment layer, cross-attention scores
    /// `[heads, tokens, frames]` before the softmax.
    pub fn forward(
        &self,
        audio: &AudioFeatures,
        tokens: &[u32],
        select: &[usize],
    ) -> Result<(Vec<f32>, Vec<Tensor>), Error> {
        let mut s = Session::new(self.plan, self.dims, audio, 1)?;
        let (logits, scores) = s.step_with_scores(tokens, select)?;
        Ok((
            logits,
            scores.into_iter().map(|t| t.into_tensor()).collect(),
        ))
    }

    /// Decode one window from `prompt` (which contains `<|startoftranscript|>`).
    pub fn decode(
        &self,
        audio: &AudioFeatures,
        prompt: &[u32],
        opts: &DecodeOptions,
    ) -> Result<DecodeResult, Error> {
        let sot_index = prompt
            .iter()
            .position(|&t| t == self.special.sot)
            .ok_or_else(|| Error::Inference("prompt without <|startoftranscript|>".into()))?;
        let rules = LogitRules {
            special: self.special,
            n_vocab: self.dims.n_vocab,
            suppress: &opts.suppress_tokens,
            suppress_begin: &opts.suppress_begin,
            timestamps: prompt.last() != Some(&self.special.no_timestamps),
            max_initial_timestamp: self.special.timestamp_begin + opts.max_initial_timestamp_index,
        };
        // CTranslate2 feeds all but the last prompt token as the prompt, then decodes at most
        // min(max_length / 2, max_length - start_step) steps.
        let start_step = if prompt.len() > 1 {
            prompt.len() - 1
        } else {
            0
        };
        let max_steps = (opts.max_length / 2)
            .min(opts.max_length - start_step)
            .max(1);

        let mut s = Session::new(self.plan, self.dims, audio, 1)?;
        let first = s.step(prompt, &[sot_index, prompt.len() - 1])?;
        let v = self.dims.n_vocab;
        let no_speech_prob = softmax_at(&first[..v], self.special.no_speech as usize);
        let first_logits = first[v..2 * v].to_vec();

        let found = if opts.temperature > 0.0 {
            sampling::search(&mut s, first_logits, &rules, max_steps, opts)?
        } else if opts.beam_size > 1 {
            beam::search(&mut s, first_logits, &rules, max_steps, opts)?
        } else {
            greedy::search(&mut s, first_logits, &rules, max_steps)?
        };
        // faster-whisper recovers the sum from CTranslate2's length-normalised score:
        // (sum / len^lp) * len^lp / (len + 1), NaN for an empty result.
        let len = found.score_len as f64;
        let score = normalised_score(found.sum_logprob, found.score_len, opts.length_penalty);
        let avg_logprob = score * len.powf(opts.length_penalty as f64) / (len + 1.0);
        Ok(DecodeResult {
            tokens: found.tokens,
            sum_logprob: found.sum_logprob,
            avg_logprob,
            no_speech_prob,
        })
    }
}
