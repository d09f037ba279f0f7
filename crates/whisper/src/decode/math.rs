//! The numerics of decoding: log-sum-exp (of which the rules' log-probabilities are read),
//! softmax at one index, argmax, length-normalised scores.

/// `log(sum(exp(x)))`, stable; `-inf` when every entry is.
pub(crate) fn log_sum_exp(x: &[f32]) -> f32 {
    let max = max_of(x);
    if max == f32::NEG_INFINITY {
        return max;
    }
    // Summed in order from `-0.0`, as `Iterator::sum` did when the exponentials were collected
    // first: the same bits without a vocabulary-sized buffer per call.
    let mut sum = -0.0f32;
    for &v in x {
        sum += exp(v - max);
    }
    max + sum.ln()
}

/// The largest of `x` (NaNs ignored, as `f32::max` does), `-inf` for none: eight running maxima
/// folded at the end, which the compiler vectorises where one running maximum is a chain. The
/// maximum of a set does not depend on the order it is taken in.
pub(crate) fn max_of(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    for &v in chunks.remainder() {
        lanes[0] = lanes[0].max(v);
    }
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v);
        }
    }
    lanes.into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// `e^x` in f32 as the C libraries compute `expf` (musl's and glibc's, from Arm's
/// optimized-routines: `2^(k/32)` from a table times a cubic in double precision), written out
/// so it inlines into [`log_sum_exp`]'s loop over a vocabulary of logits per beam and step,
/// where the component called the library once per value. The same arithmetic in the same
/// order natively and in wasm, so both paths get the same bits.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    /// `32 / ln 2` (`0x1.71547652b82fep+5`).
    const INV_LN2_N: f64 = f64::from_bits(0x40471547652b82fe);
    /// `0x1.8p+52`: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = f64::from_bits(0x4338000000000000);
    /// The cubic for `2^(r/32)`, scaled by powers of 32.
    const C: [f64; 3] = [
        f64::from_bits(0x3ebc6af84b912394),
        f64::from_bits(0x3f2ebfce50fac4f3),
        f64::from_bits(0x3f962e42ff0c52d6),
    ];
    /// `bits(2^(i/32)) - (i << 47)`.
    #[rustfmt::skip]
    const TABLE: [u64; 32] = [
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
    ];
    let abstop = (x.to_bits() >> 20) & 0x7ff;
    if abstop >= 0x42b {
        // |x| >= 88, an infinity or a NaN.
        if x == f32::NEG_INFINITY {
            return 0.0;
        }
        if abstop >= 0x7f8 {
            return x + x;
        }
        if x > f32::from_bits(0x42b17217) {
            return f32::INFINITY;
        }
        if x < f32::from_bits(0xc2cff1b4) {
            return 0.0;
        }
    }
    let z = INV_LN2_N * x as f64;
    let kd = z + SHIFT;
    let ki = kd.to_bits();
    let kd = kd - SHIFT;
    let r = z - kd;
    let s = f64::from_bits(TABLE[(ki % 32) as usize].wrapping_add(ki << 47));
    let z = C[0] * r + C[1];
    let r2 = r * r;
    let y = C[2] * r + 1.0;
    ((z * r2 + y) * s) as f32
}

/// `softmax(logits)[i]`: its log-softmax at `i` (`logits[i] - log_sum_exp`, the value the whole
/// row's would hold there), exponentiated.
pub(crate) fn softmax_at(logits: &[f32], i: usize) -> f32 {
    (logits[i] - log_sum_exp(logits)).exp()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_the_c_librarys() {
        // Every 97th f32 from -110 to 90 (about 11 million values), and the edges.
        let (lo, hi) = ((-110f32).to_bits(), 90f32.to_bits());
        let negatives = (0x8000_0000..=lo).step_by(97).map(f32::from_bits);
        let positives = (0..=hi).step_by(97).map(f32::from_bits);
        let edges = [
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::from_bits(0x42b17217),
            f32::from_bits(0x42b17218),
            f32::from_bits(0xc2cff1b4),
            f32::from_bits(0xc2cff1b5),
            -87.33655,
            88.0,
            -88.0,
            0.0,
            -0.0,
        ];
        let mut worst = 0f64;
        for x in negatives.chain(positives).chain(edges) {
            let got = exp(x);
            assert_eq!(got.to_bits(), x.exp().to_bits(), "exp({x:e})");
            if got.is_normal() {
                let exact = (x as f64).exp();
                worst = worst.max(((got as f64 - exact) / exact).abs());
            }
        }
        // Within an ulp of the exact value (2^-23 relative).
        assert!(worst < 1.2e-7, "relative error {worst:e}");
        assert!(exp(f32::NAN).is_nan());
    }

    /// Logit-like rows: uniform in [-20, 30), some filtered out (`-inf`), uneven lengths.
    fn rows() -> Vec<Vec<f32>> {
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            state
        };
        [1usize, 7, 8, 9, 1000, 51_864]
            .into_iter()
            .map(|len| {
                (0..len)
                    .map(|_| {
                        let r = next();
                        if r % 7 == 0 {
                            f32::NEG_INFINITY
                        } else {
                            (r >> 8) as f32 / (1u32 << 24) as f32 * 50.0 - 20.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_row_s_maximum_in_lanes_is_the_running_one() {
        let mut cases = rows();
        cases.push(vec![]);
        cases.push(vec![f32::NEG_INFINITY; 11]);
        cases.push(vec![
            f32::NAN,
            3.0,
            f32::NAN,
            -2.0,
            5.0,
            f32::NAN,
            1.0,
            0.5,
            4.0,
            4.5,
        ]);
        for x in cases {
            let running = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(
                max_of(&x).to_bits(),
                running.to_bits(),
                "{} values",
                x.len()
            );
        }
    }

    #[test]
    fn log_sum_exp_gives_the_collected_sum_s_bits() {
        // As it was computed before: the exponentials collected, then `Iterator::sum`.
        let collected = |x: &[f32]| {
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = x.iter().map(|&v| exp(v - max)).collect();
            max + exps.iter().sum::<f32>().ln()
        };
        for x in rows() {
            assert_eq!(
                log_sum_exp(&x).to_bits(),
                collected(&x).to_bits(),
                "{} values",
                x.len()
            );
        }
        assert_eq!(log_sum_exp(&[f32::NEG_INFINITY; 3]), f32::NEG_INFINITY);
    }
}
