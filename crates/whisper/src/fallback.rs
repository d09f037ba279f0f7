//! faster-whisper's `generate_with_fallback`: decode a window again at higher temperatures
//! while its text is too repetitive or too improbable (unless the window is silence).

use std::io::Write;

use crate::Error;
use crate::decode::{AudioFeatures, DecodeOptions, DecodeResult, Decoder};
use crate::options::TranscribeOptions;
use crate::tokenizer::Tokenizer;

/// The accepted decoding of a window.
pub(crate) struct Accepted {
    /// The decoding.
    pub result: DecodeResult,
    /// The temperature reported for it (the last one tried when every one failed).
    pub temperature: f32,
    /// gzip compression ratio of its text.
    pub compression_ratio: f64,
}

/// Decode `audio` from `prompt` with `base` at each of `opts.temperatures` in turn until a
/// result passes `opts`' thresholds; else the most probable result.
pub(crate) fn decode_with_fallback(
    decoder: &Decoder<'_>,
    tokenizer: &Tokenizer,
    audio: &AudioFeatures,
    prompt: &[u32],
    base: &DecodeOptions,
    opts: &TranscribeOptions,
) -> Result<Accepted, Error> {
    let mut all: Vec<Accepted> = Vec::new();
    let mut below_cr: Vec<usize> = Vec::new();
    let temperatures = if opts.temperatures.is_empty() {
        vec![0.0]
    } else {
        opts.temperatures.clone()
    };
    for &temperature in &temperatures {
        let options = DecodeOptions {
            temperature,
            ..base.clone()
        };
        let result = decoder.decode(audio, prompt, &options)?;
        let text = tokenizer.decode(&result.tokens);
        let compression_ratio = compression_ratio(text.trim());
        let mut needs_fallback = false;
        if let Some(t) = opts.compression_ratio_threshold {
            if compression_ratio > t {
                needs_fallback = true;
            } else {
                below_cr.push(all.len());
            }
        }
        if opts
            .log_prob_threshold
            .is_some_and(|t| result.avg_logprob < t)
        {
            needs_fallback = true;
        }
        if opts
            .no_speech_threshold
            .is_some_and(|t| result.no_speech_prob > t)
            && opts
                .log_prob_threshold
                .is_some_and(|t| result.avg_logprob < t)
        {
            needs_fallback = false;
        }
        all.push(Accepted {
            result,
            temperature,
            compression_ratio,
        });
        if !needs_fallback {
            return Ok(all.pop().expect("just pushed"));
        }
    }
    // Every temperature failed: keep the most probable result, reporting the last temperature.
    let last_temperature = *temperatures.last().expect("non-empty");
    let pool: Vec<usize> = if below_cr.is_empty() {
        (0..all.len()).collect()
    } else {
        below_cr
    };
    let mut best = pool[0];
    for &i in &pool[1..] {
        // Python's max keeps the first maximum; NaN never compares greater.
        if all[i].result.avg_logprob > all[best].result.avg_logprob {
            best = i;
        }
    }
    Ok(Accepted {
        temperature: last_temperature,
        ..all.swap_remove(best)
    })
}

/// Length of `text` over its zlib-compressed length, as faster-whisper's `get_compression_ratio`.
pub fn compression_ratio(text: &str) -> f64 {
    let bytes = text.as_bytes();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).expect("in-memory write");
    let compressed = encoder.finish().expect("in-memory write");
    bytes.len() as f64 / compressed.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_ratio_flags_repetition() {
        assert!(compression_ratio(&"la ".repeat(50)) > 2.4);
        assert!(
            compression_ratio(
                "And so my fellow Americans, ask not what your country can do for you."
            ) < 2.4
        );
    }
}
