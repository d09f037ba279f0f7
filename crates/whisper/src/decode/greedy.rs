//! Greedy search: the most probable token at every step (CTranslate2's `GreedySearch` at
//! temperature 0).

use super::math::argmax;
use super::options::Hypothesis;
use super::rules::LogitRules;
use super::session::Session;
use crate::Error;

/// Decode from the prompt's last `logits` for at most `max_steps` tokens.
pub(crate) fn search(
    session: &mut Session<'_>,
    mut logits: Vec<f32>,
    rules: &LogitRules,
    max_steps: usize,
) -> Result<Hypothesis, Error> {
    let eot = rules.special.eot;
    let mut tokens = Vec::new();
    let mut sum = 0f64;
    for step in 0..max_steps {
        let logprobs = rules.log_probs(&mut logits, &tokens);
        let (best, lp) = argmax(&logprobs);
        sum += lp as f64;
        if best == eot {
            break;
        }
        tokens.push(best);
        if step + 1 == max_steps {
            break;
        }
        logits = session.step(&[best], &[0])?;
    }
    let score_len = tokens.len();
    Ok(Hypothesis {
        tokens,
        sum_logprob: sum,
        score_len,
    })
}
