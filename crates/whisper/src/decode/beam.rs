//! CTranslate2's `BeamSearch`: 2×beam candidates per step, finished hypotheses replaced by the
//! next unfinished candidates, stop after `round(beam × patience)` hypotheses.

use super::math::normalised_score;
use super::options::{DecodeOptions, Hypothesis};
use super::rules::LogitRules;
use super::session::Session;
use crate::Error;

/// Beam search from the prompt's last logits `first_logits`.
pub(crate) fn search(
    session: &mut Session<'_>,
    first_logits: Vec<f32>,
    rules: &LogitRules,
    max_steps: usize,
    opts: &DecodeOptions,
) -> Result<Hypothesis, Error> {
    let beam = opts.beam_size;
    let v = rules.n_vocab;
    let max_candidates = ((beam as f32) * opts.patience).round().max(1.0) as usize;
    let early_exit = opts.length_penalty == 0.0;
    let eot = rules.special.eot;
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
        // The lowest score kept once `top` is full (the rows' logits are filtered in place:
        // this step's are read once).
        let mut last = f64::NEG_INFINITY;
        for (b, (seq, cum)) in beams.iter().enumerate() {
            let logprobs = rules.apply(&mut logits[b * v..(b + 1) * v], seq);
            for t in 0..logprobs.len() {
                let lp = logprobs.at(t);
                if lp == f32::NEG_INFINITY {
                    continue;
                }
                let score = cum + lp as f64;
                if top.len() < n_candidates || score > last {
                    let at = top.partition_point(|c| c.0 >= score);
                    top.insert(at, (score, b, t as u32));
                    top.truncate(n_candidates);
                    last = top[top.len() - 1].0;
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
        session.reorder(&origins)?;
        beams = next;
        logits = session.step(&feed, &[0])?;
    }
    let score = |h: &(Vec<u32>, f64)| normalised_score(h.1, h.0.len(), opts.length_penalty);
    let (tokens, sum_logprob) = finished
        .into_iter()
        .max_by(|a, b| score(a).total_cmp(&score(b)))
        .unwrap_or_default();
    let score_len = tokens.len();
    Ok(Hypothesis {
        tokens,
        sum_logprob,
        score_len,
    })
}
