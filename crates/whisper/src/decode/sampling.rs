//! Sampling at a temperature: `best_of` independent samples, the best-scoring one kept
//! (CTranslate2's `GreedySearch` with `sampling_temperature`, `num_hypotheses = best_of`).
//! The generator is our own, so draws cannot match faster-whisper's.

use super::math::{argmax, log_sum_exp, normalised_score};
use super::options::{DecodeOptions, Hypothesis};
use super::rules::LogitRules;
use super::session::Session;
use crate::Error;

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

/// Draw `opts.best_of` samples from the prompt's last logits `first_logits`.
pub(crate) fn search(
    session: &mut Session<'_>,
    first_logits: Vec<f32>,
    rules: &LogitRules,
    max_steps: usize,
    opts: &DecodeOptions,
) -> Result<Hypothesis, Error> {
    let n = opts.best_of.max(1);
    let v = rules.n_vocab;
    let eot = rules.special.eot;
    let mut rng = SplitMix64(opts.seed);
    // Replicate the prompt cache for every sample.
    session.reorder(&vec![0; n])?;
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
            if token == eot {
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
        session.reorder(&keep_rows)?;
        alive = next_alive;
        logits = session.step(&feed, &[0])?;
    }
    let score = |i: usize| normalised_score(sums[i], seqs[i].len(), opts.length_penalty);
    let best = (0..n)
        .max_by(|&a, &b| score(a).total_cmp(&score(b)))
        .unwrap_or(0);
    let score_len = seqs[best].len();
    Ok(Hypothesis {
        tokens: std::mem::take(&mut seqs[best]),
        sum_logprob: sums[best],
        score_len,
    })
}
