//! Decoding one 30 s window: greedy, sampling and beam search with faster-whisper's
//! (CTranslate2's) logit rules — suppressed tokens, blank suppression, timestamp rules.

use tract_onnx::prelude::*;

use crate::Error;
use crate::checkpoint::Dims;
use crate::graph::Plan;
use crate::tokenizer::SpecialTokens;

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

/// Cross-attention keys and values of one audio window, per decoder layer, batch 1.
#[derive(Clone)]
pub struct AudioFeatures {
    pub(crate) cross: Vec<(TValue, TValue)>,
}

/// Runs the decoder-step graph with its self-attention cache.
pub struct Decoder<'a> {
    plan: &'a Plan,
    dims: Dims,
    special: SpecialTokens,
}

/// Self-attention cache and cross-attention inputs for a batch of sequences.
struct Session {
    batch: usize,
    /// Positions already in the cache.
    past: usize,
    cache: Vec<(TValue, TValue)>,
    cross: Vec<(TValue, TValue)>,
}

fn err(e: TractError) -> Error {
    Error::Inference(format!("{e:#}"))
}

/// The f32 contents of a tensor.
fn f32_data(t: &Tensor) -> Result<&[f32], Error> {
    t.try_as_plain_ram()
        .map_err(err)?
        .as_slice::<f32>()
        .map_err(err)
}

/// Rows `rows` (in this order, repeats allowed) of the leading axis of `t`.
fn gather_rows(t: &Tensor, rows: &[usize]) -> Result<Tensor, Error> {
    let shape = t.shape().to_vec();
    let row_len: usize = shape[1..].iter().product();
    let data = f32_data(t)?;
    let mut out = Vec::with_capacity(rows.len() * row_len);
    for &r in rows {
        out.extend_from_slice(&data[r * row_len..(r + 1) * row_len]);
    }
    let mut new_shape = shape;
    new_shape[0] = rows.len();
    Tensor::from_shape(&new_shape, &out).map_err(err)
}

impl<'a> Decoder<'a> {
    /// A decoder over the step graph.
    pub fn new(plan: &'a Plan, dims: Dims, special: SpecialTokens) -> Decoder<'a> {
        Decoder {
            plan,
            dims,
            special,
        }
    }

    fn session(&self, audio: &AudioFeatures, batch: usize) -> Result<Session, Error> {
        let h = self.dims.n_text_head;
        let empty = || -> Result<TValue, Error> {
            Ok(Tensor::zero::<f32>(&[batch, h, 0, 64])
                .map_err(err)?
                .into_tvalue())
        };
        let cache = (0..self.dims.n_text_layer)
            .map(|_| Ok((empty()?, empty()?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let cross = audio.cross.clone();
        Ok(Session {
            batch,
            past: 0,
            cache,
            cross,
        })
    }

    /// Feed `tokens` (`batch` rows of equal length) and return logits at positions `select`
    /// of the new tokens, `[batch][select.len()][n_vocab]` flattened, and the cross-attention
    /// scores `[batch, heads, new tokens, frames]` of the alignment layers.
    fn step_with_scores(
        &self,
        s: &mut Session,
        tokens: &[u32],
        select: &[usize],
    ) -> Result<(Vec<f32>, Vec<TValue>), Error> {
        let n_new = tokens.len() / s.batch;
        let toks: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let positions: Vec<i64> = (s.past..s.past + n_new).map(|p| p as i64).collect();
        if s.past + n_new > self.dims.n_text_ctx {
            return Err(Error::Inference("decoder context exceeded".into()));
        }
        let mut mask = vec![0f32; n_new * n_new];
        for i in 0..n_new {
            for j in i + 1..n_new {
                mask[i * n_new + j] = f32::NEG_INFINITY;
            }
        }
        let select: Vec<i64> = select.iter().map(|&i| i as i64).collect();
        let mut inputs: TVec<TValue> = tvec![
            Tensor::from_shape(&[s.batch, n_new], &toks)
                .map_err(err)?
                .into_tvalue(),
            Tensor::from_shape(&[n_new], &positions)
                .map_err(err)?
                .into_tvalue(),
            Tensor::from_shape(&[n_new, n_new], &mask)
                .map_err(err)?
                .into_tvalue(),
            Tensor::from_shape(&[select.len()], &select)
                .map_err(err)?
                .into_tvalue(),
        ];
        for ((k, v), (ck, cv)) in s.cache.iter().zip(&s.cross) {
            inputs.push(k.clone());
            inputs.push(v.clone());
            inputs.push(ck.clone());
            inputs.push(cv.clone());
        }
        let outputs = self.plan.run(inputs).map_err(err)?;
        let layers = s.cache.len();
        if outputs.len() < 2 * layers + 1 {
            return Err(Error::Inference("decoder graph outputs missing".into()));
        }
        let mut outputs = outputs.into_iter();
        for layer in s.cache.iter_mut() {
            let k = outputs.next().expect("checked length");
            let v = outputs.next().expect("checked length");
            *layer = (k, v);
        }
        s.past += n_new;
        let logits = outputs.next().expect("checked length");
        Ok((f32_data(&logits)?.to_vec(), outputs.collect()))
    }

    fn step(&self, s: &mut Session, tokens: &[u32], select: &[usize]) -> Result<Vec<f32>, Error> {
        Ok(self.step_with_scores(s, tokens, select)?.0)
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
        let mut s = self.session(audio, 1)?;
        let (logits, scores) = self.step_with_scores(&mut s, tokens, select)?;
        Ok((
            logits,
            scores.into_iter().map(|t| t.into_tensor()).collect(),
        ))
    }

    /// Keep batch rows `rows` (beam reordering, dropping finished samples).
    fn reorder(&self, s: &mut Session, rows: &[usize]) -> Result<(), Error> {
        if rows.len() == s.batch && rows.iter().enumerate().all(|(i, &r)| i == r) {
            return Ok(());
        }
        for (k, v) in s.cache.iter_mut() {
            *k = gather_rows(k, rows)?.into_tvalue();
            *v = gather_rows(v, rows)?.into_tvalue();
        }
        s.batch = rows.len();
        Ok(())
    }

    /// Probabilities of each language token after `<|startoftranscript|>`, best first.
    pub fn detect_language(
        &self,
        audio: &AudioFeatures,
        lang_ids: &[u32],
    ) -> Result<Vec<(u32, f32)>, Error> {
        let mut s = self.session(audio, 1)?;
        let logits = self.step(&mut s, &[self.special.sot], &[0])?;
        let scores: Vec<f32> = lang_ids.iter().map(|&id| logits[id as usize]).collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|&s| (s - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let mut probs: Vec<(u32, f32)> = lang_ids
            .iter()
            .copied()
            .zip(exp.iter().map(|e| e / sum))
            .collect();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(probs)
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

        let mut s = self.session(audio, 1)?;
        let first = self.step(&mut s, prompt, &[sot_index, prompt.len() - 1])?;
        let v = self.dims.n_vocab;
        let no_speech_prob = softmax_at(&first[..v], self.special.no_speech as usize);
        let first_logits = first[v..2 * v].to_vec();

        let (tokens, sum_logprob, score_len) = if opts.temperature > 0.0 {
            self.sample(&mut s, first_logits, &rules, max_steps, opts)?
        } else if opts.beam_size > 1 {
            self.beam(&mut s, first_logits, &rules, max_steps, opts)?
        } else {
            let (t, l) = self.greedy(&mut s, first_logits, &rules, max_steps)?;
            let n = t.len();
            (t, l, n)
        };
        // faster-whisper recovers the sum from CTranslate2's length-normalised score:
        // (sum / len^lp) * len^lp / (len + 1), NaN for an empty result.
        let len = score_len as f64;
        let lp = opts.length_penalty as f64;
        let score = sum_logprob / len.powf(lp);
        let avg_logprob = score * len.powf(lp) / (len + 1.0);
        Ok(DecodeResult {
            tokens,
            sum_logprob,
            avg_logprob,
            no_speech_prob,
        })
    }

    fn greedy(
        &self,
        s: &mut Session,
        mut logits: Vec<f32>,
        rules: &LogitRules,
        max_steps: usize,
    ) -> Result<(Vec<u32>, f64), Error> {
        let mut tokens = Vec::new();
        let mut sum = 0f64;
        for step in 0..max_steps {
            let logprobs = rules.log_probs(&mut logits, &tokens);
            let (best, lp) = argmax(&logprobs);
            sum += lp as f64;
            if best == self.special.eot {
                break;
            }
            tokens.push(best);
            if step + 1 == max_steps {
                break;
            }
            logits = self.step(s, &[best], &[0])?;
        }
        Ok((tokens, sum))
    }

    fn sample(
        &self,
        s: &mut Session,
        first_logits: Vec<f32>,
        rules: &LogitRules,
        max_steps: usize,
        opts: &DecodeOptions,
    ) -> Result<(Vec<u32>, f64, usize), Error> {
        let n = opts.best_of.max(1);
        let v = self.dims.n_vocab;
        let mut rng = SplitMix64(opts.seed);
        // Replicate the prompt cache for every sample.
        self.reorder(s, &vec![0; n])?;
        let mut seqs: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut sums = vec![0f64; n];
        let mut alive: Vec<usize> = (0..n).collect();
        let mut logits: Vec<f32> = first_logits.iter().copied().cycle().take(n * v).collect();
        for step in 0..max_steps {
            let mut next_alive = Vec::new();
            let mut keep_rows = Vec::new();
            let mut feed = Vec::new();
            for (row, &i) in alive.iter().enumerate() {
                let mut l = logits[row * v..(row + 1) * v].to_vec();
                let logprobs = rules.log_probs(&mut l, &seqs[i]);
                let token = sample_token(&logprobs, opts.temperature, &mut rng);
                sums[i] += logprobs[token as usize] as f64;
                if token == self.special.eot {
                    continue;
                }
                seqs[i].push(token);
                if step + 1 < max_steps {
                    next_alive.push(i);
                    keep_rows.push(row);
                    feed.push(token);
                }
            }
            if next_alive.is_empty() {
                break;
            }
            self.reorder(s, &keep_rows)?;
            alive = next_alive;
            logits = self.step(s, &feed, &[0])?;
        }
        let lp = opts.length_penalty as f64;
        let best = (0..n)
            .max_by(|&a, &b| {
                let sa = sums[a] / (seqs[a].len() as f64).powf(lp);
                let sb = sums[b] / (seqs[b].len() as f64).powf(lp);
                sa.total_cmp(&sb)
            })
            .unwrap_or(0);
        let len = seqs[best].len();
        Ok((std::mem::take(&mut seqs[best]), sums[best], len))
    }

    /// CTranslate2's beam search: 2×beam candidates per step, finished hypotheses replaced
    /// by the next unfinished candidates, stop after `round(beam × patience)` hypotheses.
    fn beam(
        &self,
        s: &mut Session,
        first_logits: Vec<f32>,
        rules: &LogitRules,
        max_steps: usize,
        opts: &DecodeOptions,
    ) -> Result<(Vec<u32>, f64, usize), Error> {
        let beam = opts.beam_size;
        let v = self.dims.n_vocab;
        let max_candidates = ((beam as f32) * opts.patience).round().max(1.0) as usize;
        let early_exit = opts.length_penalty == 0.0;
        let eot = self.special.eot;
        let n_candidates = 2 * beam;

        // (tokens, cumulative log-prob) of the live beams.
        let mut beams: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0)];
        let mut logits = first_logits;
        let mut finished: Vec<(Vec<u32>, f64)> = Vec::new();
        let mut top_finished = false;

        for step in 0..max_steps {
            let last_step = step + 1 == max_steps;
            // Top candidates over all beams: (score, beam, token).
            let mut top: Vec<(f64, usize, u32)> = Vec::with_capacity(n_candidates + 1);
            for (b, (seq, cum)) in beams.iter().enumerate() {
                let mut l = logits[b * v..(b + 1) * v].to_vec();
                let logprobs = rules.log_probs(&mut l, seq);
                for (t, &lp) in logprobs.iter().enumerate() {
                    if lp == f32::NEG_INFINITY {
                        continue;
                    }
                    let score = cum + lp as f64;
                    if top.len() < n_candidates || score > top[top.len() - 1].0 {
                        let at = top.partition_point(|c| c.0 >= score);
                        top.insert(at, (score, b, t as u32));
                        top.truncate(n_candidates);
                    }
                }
            }
            let mut next: Vec<(Vec<u32>, f64)> = Vec::with_capacity(beam);
            let mut origins = Vec::with_capacity(beam);
            let mut feed = Vec::with_capacity(beam);
            let mut secondary = beam;
            for k in 0..beam.min(top.len()) {
                let mut pick = k;
                let (score, b, token) = top[k];
                if token == eot || last_step {
                    if k == 0 {
                        top_finished = true;
                    }
                    let mut seq = beams[b].0.clone();
                    if token != eot {
                        seq.push(token);
                    }
                    finished.push((seq, score));
                    if let Some(j) = (secondary..top.len()).find(|&j| top[j].2 != eot) {
                        pick = j;
                        secondary = j + 1;
                    }
                }
                let (score, b, token) = top[pick];
                let mut seq = beams[b].0.clone();
                seq.push(token);
                next.push((seq, score));
                origins.push(b);
                feed.push(token);
            }
            let done = last_step
                || if early_exit {
                    top_finished && !finished.is_empty()
                } else {
                    finished.len() >= max_candidates
                };
            if done {
                break;
            }
            self.reorder(s, &origins)?;
            beams = next;
            logits = self.step(s, &feed, &[0])?;
        }
        let lp = opts.length_penalty as f64;
        let best = finished
            .into_iter()
            .max_by(|a, b| {
                let sa = a.1 / (a.0.len() as f64).powf(lp);
                let sb = b.1 / (b.0.len() as f64).powf(lp);
                sa.total_cmp(&sb)
            })
            .unwrap_or_default();
        let len = best.0.len();
        Ok((best.0, best.1, len))
    }
}

/// The per-step logit filters of faster-whisper's generate call.
struct LogitRules<'r> {
    special: SpecialTokens,
    n_vocab: usize,
    suppress: &'r [u32],
    suppress_begin: &'r [u32],
    timestamps: bool,
    max_initial_timestamp: u32,
}

impl LogitRules<'_> {
    /// Apply the rules to `logits` for a hypothesis that generated `seq`, return log-probs.
    fn log_probs(&self, logits: &mut [f32], seq: &[u32]) -> Vec<f32> {
        let off = f32::NEG_INFINITY;
        let step = seq.len();
        for &t in self.suppress {
            logits[t as usize] = off;
        }
        if step == 0 {
            for &t in self.suppress_begin {
                logits[t as usize] = off;
            }
        }
        if self.timestamps {
            let ts = self.special.timestamp_begin as usize;
            let eot = self.special.eot as usize;
            logits[self.special.no_timestamps as usize] = off;
            let mut check = false;
            if step == 0 {
                logits[..ts].fill(off);
                let last_allowed = (self.max_initial_timestamp as usize + 1).min(self.n_vocab);
                logits[last_allowed..].fill(off);
            } else {
                let last = seq[step - 1] as usize;
                if last >= ts {
                    let penultimate = if step > 1 {
                        seq[step - 2] as usize
                    } else {
                        last
                    };
                    if penultimate >= ts {
                        // Two timestamps in a row: text must follow.
                        logits[ts..].fill(off);
                    } else {
                        // A closing timestamp: another timestamp or the end.
                        logits[..eot].fill(off);
                        check = true;
                    }
                } else {
                    check = true;
                }
                // Timestamps never decrease.
                if let Some(&t) = seq.iter().rev().find(|&&t| t as usize >= ts) {
                    logits[ts..t as usize].fill(off);
                }
            }
            if check {
                let lp = log_softmax(logits);
                let text_max = lp[..ts].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                if log_sum_exp(&lp[ts..]) > text_max {
                    logits[..ts].fill(off);
                }
            }
        }
        log_softmax(logits)
    }
}

fn log_softmax(x: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(x);
    x.iter().map(|&v| v - lse).collect()
}

fn log_sum_exp(x: &[f32]) -> f32 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f32 = x.iter().map(|&v| (v - max).exp()).sum();
    max + sum.ln()
}

fn softmax_at(logits: &[f32], i: usize) -> f32 {
    log_softmax(logits)[i].exp()
}

fn argmax(x: &[f32]) -> (u32, f32) {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    (best as u32, x[best])
}

/// Small deterministic generator for temperature sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn sample_token(logprobs: &[f32], temperature: f32, rng: &mut SplitMix64) -> u32 {
    let scaled: Vec<f32> = logprobs.iter().map(|&l| l / temperature).collect();
    let lse = log_sum_exp(&scaled);
    let mut u = rng.next_f64();
    for (i, &l) in scaled.iter().enumerate() {
        let p = ((l - lse) as f64).exp();
        if u < p {
            return i as u32;
        }
        u -= p;
    }
    argmax(logprobs).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special() -> SpecialTokens {
        // A toy vocabulary: 10 text tokens, eot 10, specials 11..17, timestamps 18..30.
        SpecialTokens {
            eot: 10,
            sot: 11,
            translate: 12,
            transcribe: 13,
            sot_lm: 14,
            sot_prev: 15,
            no_speech: 16,
            no_timestamps: 17,
            timestamp_begin: 18,
        }
    }

    fn rules() -> LogitRules<'static> {
        LogitRules {
            special: special(),
            n_vocab: 30,
            suppress: &[3],
            suppress_begin: &[10],
            timestamps: true,
            max_initial_timestamp: 18 + 2,
        }
    }

    #[test]
    fn first_token_is_an_early_timestamp() {
        let mut logits = vec![0f32; 30];
        logits[5] = 10.0;
        logits[25] = 10.0;
        let lp = rules().log_probs(&mut logits, &[]);
        assert_eq!(argmax(&lp).0, 18);
        assert!(lp[..18].iter().all(|&v| v == f32::NEG_INFINITY));
        assert!(lp[21..].iter().all(|&v| v == f32::NEG_INFINITY));
    }

    #[test]
    fn timestamps_pair_and_never_decrease() {
        // After <|t20|> text: timestamps below 20 are banned, 20 itself is allowed.
        let mut logits = vec![0f32; 30];
        let lp = rules().log_probs(&mut logits, &[20, 5]);
        assert!(lp[18..20].iter().all(|&v| v == f32::NEG_INFINITY));
        assert!(lp[20].is_finite());
        // Two timestamps in a row: text must follow.
        let mut logits = vec![0f32; 30];
        let lp = rules().log_probs(&mut logits, &[20, 5, 22, 22]);
        assert!(lp[18..].iter().all(|&v| v == f32::NEG_INFINITY));
        // A closing timestamp: only timestamps or end of text (here likelier than all timestamps).
        let mut logits = vec![0f32; 30];
        logits[10] = 5.0;
        let lp = rules().log_probs(&mut logits, &[20, 5, 22]);
        assert!(lp[..10].iter().all(|&v| v == f32::NEG_INFINITY));
        assert!(lp[10].is_finite());
        // Suppressed tokens stay suppressed.
        let mut logits = vec![0f32; 30];
        assert_eq!(
            rules().log_probs(&mut logits, &[20, 5])[3],
            f32::NEG_INFINITY
        );
    }

    #[test]
    fn timestamp_mass_beats_text() {
        let mut logits = vec![0f32; 30];
        logits[4] = 2.0; // one text token at p ∝ e², twelve timestamps at p ∝ 1 each
        let lp = rules().log_probs(&mut logits, &[18, 4]);
        assert!(lp[..18].iter().all(|&v| v == f32::NEG_INFINITY));
    }
}
