//! The numerics of decoding: log-softmax, log-sum-exp, argmax, length-normalised scores.

/// `x - logsumexp(x)`.
pub(crate) fn log_softmax(x: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(x);
    x.iter().map(|&v| v - lse).collect()
}

/// `log(sum(exp(x)))`, stable; `-inf` when every entry is.
pub(crate) fn log_sum_exp(x: &[f32]) -> f32 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f32 = x.iter().map(|&v| (v - max).exp()).sum();
    max + sum.ln()
}

/// `softmax(logits)[i]`.
pub(crate) fn softmax_at(logits: &[f32], i: usize) -> f32 {
    log_softmax(logits)[i].exp()
}

/// Index and value of the first maximum.
pub(crate) fn argmax(x: &[f32]) -> (u32, f32) {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    (best as u32, x[best])
}

/// CTranslate2's hypothesis score: summed log-probability over `length^length_penalty`.
pub(crate) fn normalised_score(sum_logprob: f64, length: usize, length_penalty: f32) -> f64 {
    sum_logprob / (length as f64).powf(length_penalty as f64)
}
