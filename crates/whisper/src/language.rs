//! Spoken-language detection, as faster-whisper's `detect_language` (CTranslate2's
//! `Whisper::detect_language`): the language tokens' probabilities after
//! `<|startoftranscript|>` on the first windows, and a vote when none is sure enough.

use crate::Error;
use crate::decode::{AudioFeatures, Decoder};
use crate::mel::{LogMel, N_FRAMES};
use crate::options::TranscribeOptions;
use crate::tokenizer::{LANGUAGES, Tokenizer};

/// The language of some audio.
pub(crate) struct Detection {
    /// Language code.
    pub language: String,
    /// Its probability.
    pub probability: f32,
    /// The encoding of the first window, when detection saw the same one transcription starts with.
    pub first_window: Option<AudioFeatures>,
}

/// Language probabilities of encoded windows.
pub(crate) struct LanguageDetector<'a> {
    decoder: Decoder<'a>,
    tokenizer: &'a Tokenizer,
    lang_ids: Vec<u32>,
}

impl<'a> LanguageDetector<'a> {
    /// A detector over config.json's `lang_ids`, else every language token of the vocabulary.
    pub fn new(decoder: Decoder<'a>, tokenizer: &'a Tokenizer, lang_ids: &[u32]) -> Self {
        let lang_ids = if lang_ids.is_empty() {
            LANGUAGES
                .iter()
                .filter_map(|c| tokenizer.language_token(c))
                .collect()
        } else {
            lang_ids.to_vec()
        };
        LanguageDetector {
            decoder,
            tokenizer,
            lang_ids,
        }
    }

    /// Language probabilities (code, probability), best first, of an encoded window: the
    /// softmax of the language tokens' logits after `<|startoftranscript|>`.
    pub fn probabilities(&self, audio: &AudioFeatures) -> Result<Vec<(String, f32)>, Error> {
        let sot = self.tokenizer.special.sot;
        let (logits, _) = self.decoder.forward(audio, &[sot], &[0])?;
        let scores: Vec<f32> = self
            .lang_ids
            .iter()
            .map(|&id| logits[id as usize])
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|&s| (s - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let mut probs: Vec<(u32, f32)> = self
            .lang_ids
            .iter()
            .copied()
            .zip(exp.iter().map(|e| e / sum))
            .collect();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(probs
            .into_iter()
            .map(|(id, p)| {
                let token = self.tokenizer.token(id).unwrap_or("");
                (
                    token
                        .trim_start_matches("<|")
                        .trim_end_matches("|>")
                        .to_owned(),
                    p,
                )
            })
            .collect())
    }

    /// faster-whisper's `detect_language` on the first `language_detection_segments` windows
    /// of `features`, each encoded by `encode`: the first language above the threshold, else
    /// the most frequent best language (with its highest probability).
    pub fn detect(
        &self,
        features: &LogMel,
        opts: &TranscribeOptions,
        encode: impl Fn(&[f32]) -> Result<AudioFeatures, Error>,
    ) -> Result<Detection, Error> {
        let frames = features
            .n_frames
            .min(opts.language_detection_segments.max(1) * N_FRAMES);
        let mut votes: Vec<(String, f32)> = Vec::new();
        let mut first_window = None;
        let mut start = 0;
        while start < frames {
            let len = N_FRAMES.min(frames - start);
            let audio = encode(&features.window(start, len))?;
            let probs = self.probabilities(&audio)?;
            if start == 0 && len == N_FRAMES.min(features.n_frames - 1) {
                // Same window the transcription starts with: reuse its encoding.
                first_window = Some(audio);
            }
            let (language, probability) = probs[0].clone();
            if probability > opts.language_detection_threshold {
                return Ok(Detection {
                    language,
                    probability,
                    first_window,
                });
            }
            votes.push((language, probability));
            start += N_FRAMES;
        }
        let mut best: Option<(String, usize, f32)> = None;
        for (lang, _) in &votes {
            let count = votes.iter().filter(|(l, _)| l == lang).count();
            let max_p = votes
                .iter()
                .filter(|(l, _)| l == lang)
                .map(|v| v.1)
                .fold(0.0, f32::max);
            if best.as_ref().is_none_or(|b| count > b.1) {
                best = Some((lang.clone(), count, max_p));
            }
        }
        let (language, _, probability) =
            best.ok_or_else(|| Error::Inference("no audio for language detection".into()))?;
        Ok(Detection {
            language,
            probability,
            first_window,
        })
    }
}
