//! faster-whisper's per-step logit rules (CTranslate2's `SuppressTokens`, `SuppressTokensBegin`
//! and `ApplyTimestampRules` logits processors).

use super::math::{log_sum_exp, max_of};
use crate::tokenizer::SpecialTokens;

/// The per-step logit filters of faster-whisper's generate call.
pub(crate) struct LogitRules<'r> {
    pub special: SpecialTokens,
    pub n_vocab: usize,
    pub suppress: &'r [u32],
    pub suppress_begin: &'r [u32],
    pub timestamps: bool,
    pub max_initial_timestamp: u32,
}

impl LogitRules<'_> {
    /// Apply the rules to `logits` for a hypothesis that generated `seq`, return log-probs.
    pub(crate) fn log_probs(&self, logits: &mut [f32], seq: &[u32]) -> Vec<f32> {
        self.apply(logits, seq).to_vec()
    }

    /// Apply the rules to `logits` for a hypothesis that generated `seq`: their log-probs as
    /// the filtered logits and their log-sum-exp, read without writing the vocabulary out.
    pub(crate) fn apply<'a>(&self, logits: &'a mut [f32], seq: &[u32]) -> LogProbs<'a> {
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
                let lse = log_sum_exp(logits);
                // `max(v) - lse` is `max(v - lse)`: rounding a difference keeps its order.
                let text_max = max_of(&logits[..ts]) - lse;
                let stamps: Vec<f32> = logits[ts..].iter().map(|&v| v - lse).collect();
                if log_sum_exp(&stamps) > text_max {
                    logits[..ts].fill(off);
                } else {
                    // The logits are unchanged since: these are their log-probabilities, and a
                    // second pass over the vocabulary would compute the same bits.
                    return LogProbs { logits, lse };
                }
            }
        }
        let lse = log_sum_exp(logits);
        LogProbs { logits, lse }
    }
}

/// A row's log-probabilities (its log-softmax), `logits[t] - lse`, computed when read.
pub(crate) struct LogProbs<'a> {
    logits: &'a [f32],
    lse: f32,
}

impl LogProbs<'_> {
    /// Token `t`'s log-probability.
    #[inline]
    pub(crate) fn at(&self, t: usize) -> f32 {
        self.logits[t] - self.lse
    }

    /// Every token's.
    pub(crate) fn to_vec(&self) -> Vec<f32> {
        self.logits.iter().map(|&v| v - self.lse).collect()
    }

    /// Tokens in the vocabulary.
    pub(crate) fn len(&self) -> usize {
        self.logits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::math::argmax;

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
