//! Long-form transcription: faster-whisper's 30 s seek loop with temperature fallback,
//! previous-text conditioning, and segments split at timestamp tokens.

use std::io::Write;
use std::path::Path;

use tract_onnx::prelude::*;

use crate::Error;
use crate::alignment::{Aligner, Piece, Word, last_end};
use crate::checkpoint::{Checkpoint, Config, Dims};
use crate::decode::{AudioFeatures, DecodeOptions, DecodeResult, Decoder};
use crate::graph::{self, Graphs};
use crate::mel::{self, LogMel, N_FRAMES};
use crate::tokenizer::{LANGUAGES, Tokenizer};
use crate::vad::{TimestampMap, Vad, VadOptions};

/// Seconds per mel frame.
const TIME_PER_FRAME: f64 = mel::HOP_LENGTH as f64 / mel::SAMPLE_RATE as f64;
/// Seconds per timestamp token.
const TIME_PRECISION: f64 = 0.02;
/// Mel frames per encoder position (the second convolution has stride 2).
const INPUT_STRIDE: usize = 2;

/// What the decoder produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Task {
    /// Text in the spoken language.
    #[default]
    Transcribe,
    /// English text (multilingual models).
    Translate,
}

/// Options of [`Model::transcribe`], with faster-whisper's `transcribe()` defaults.
#[derive(Clone, Debug)]
pub struct TranscribeOptions {
    /// Spoken language code; detected on the first 30 s when `None` (multilingual models).
    pub language: Option<String>,
    /// Transcribe or translate.
    pub task: Task,
    /// Beam width at temperature 0 (5).
    pub beam_size: usize,
    /// Samples per fallback temperature (5).
    pub best_of: usize,
    /// Beam search patience (1.0).
    pub patience: f32,
    /// Length penalty exponent (1.0).
    pub length_penalty: f32,
    /// Temperatures tried in order until a result passes the thresholds.
    pub temperatures: Vec<f32>,
    /// Fall back when the gzip compression ratio of the text is above this (2.4).
    pub compression_ratio_threshold: Option<f64>,
    /// Fall back when the average log-probability is below this (-1.0).
    pub log_prob_threshold: Option<f64>,
    /// Skip a window whose no-speech probability is above this and log-prob is low (0.6).
    pub no_speech_threshold: Option<f32>,
    /// Prompt each window with the text of the previous ones (true).
    pub condition_on_previous_text: bool,
    /// Drop the prompt after a window decoded above this temperature (0.5).
    pub prompt_reset_on_temperature: f32,
    /// Text prompting the first window.
    pub initial_prompt: Option<String>,
    /// Suppress blank and end-of-text as the first token (true).
    pub suppress_blank: bool,
    /// Token ids never generated; `-1` stands for the model's non-speech symbols (`[-1]`).
    pub suppress_tokens: Vec<i64>,
    /// Decode text only, one segment per window (false).
    pub without_timestamps: bool,
    /// Latest allowed first timestamp, in seconds (1.0).
    pub max_initial_timestamp: f64,
    /// Cap on generated tokens per window.
    pub max_new_tokens: Option<usize>,
    /// Language accepted when its probability exceeds this (0.5).
    pub language_detection_threshold: f32,
    /// Windows examined for language detection (1).
    pub language_detection_segments: usize,
    /// Add word-level timestamps from cross-attention alignment (false).
    pub word_timestamps: bool,
    /// Punctuation merged into the following word (word timestamps).
    pub prepend_punctuations: String,
    /// Punctuation merged into the preceding word (word timestamps).
    pub append_punctuations: String,
    /// Transcribe only the speech found by Silero VAD (needs [`Model::with_vad`]) (false).
    pub vad_filter: bool,
    /// Speech detection settings for `vad_filter`.
    pub vad_parameters: VadOptions,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            task: Task::Transcribe,
            beam_size: 5,
            best_of: 5,
            patience: 1.0,
            length_penalty: 1.0,
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            compression_ratio_threshold: Some(2.4),
            log_prob_threshold: Some(-1.0),
            no_speech_threshold: Some(0.6),
            condition_on_previous_text: true,
            prompt_reset_on_temperature: 0.5,
            initial_prompt: None,
            suppress_blank: true,
            suppress_tokens: vec![-1],
            without_timestamps: false,
            max_initial_timestamp: 1.0,
            max_new_tokens: None,
            language_detection_threshold: 0.5,
            language_detection_segments: 1,
            word_timestamps: false,
            prepend_punctuations: "\"'“¿([{-".into(),
            append_punctuations: "\"'.。,，!！?？:：”)]}、".into(),
            vad_filter: false,
            vad_parameters: VadOptions::default(),
        }
    }
}

/// One transcribed segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// 1-based index.
    pub id: usize,
    /// Mel frame where its window started.
    pub seek: usize,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Text, with its leading space.
    pub text: String,
    /// Token ids including timestamp tokens.
    pub tokens: Vec<u32>,
    /// Temperature of the accepted decoding.
    pub temperature: f32,
    /// Average token log-probability of the window.
    pub avg_logprob: f64,
    /// gzip compression ratio of the window's text.
    pub compression_ratio: f64,
    /// Probability of no speech in the window.
    pub no_speech_prob: f32,
    /// Words with timestamps (empty unless `word_timestamps`).
    pub words: Vec<Word>,
}

/// A transcription.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    /// All segment texts joined, trimmed.
    pub text: String,
    /// Language code.
    pub language: String,
    /// Probability of that language (1 when given or English-only).
    pub language_probability: f32,
    /// Audio duration, seconds.
    pub duration: f64,
    /// Segments in time order.
    pub segments: Vec<Segment>,
}

/// A loaded Whisper model, reusable across calls and threads.
pub struct Model {
    dims: Dims,
    config: Config,
    alignment_heads: Vec<(usize, usize)>,
    tokenizer: Tokenizer,
    graphs: Graphs,
    vad: Option<Vad>,
}

impl Model {
    /// Load a faster-whisper model directory and optimise its graphs.
    pub fn load(dir: &Path) -> Result<Model, Error> {
        let ckpt = Checkpoint::load(dir)?;
        let merges = read_merges(dir)?;
        let tokenizer = Tokenizer::new(ckpt.vocabulary.clone(), &merges, ckpt.dims.n_vocab)?;
        let graphs = Graphs::build(&ckpt)?;
        let alignment_heads = graph::alignment_heads(&ckpt);
        Ok(Model {
            dims: ckpt.dims,
            config: ckpt.config,
            alignment_heads,
            tokenizer,
            graphs,
            vad: None,
        })
    }

    /// Use `vad` for `vad_filter`.
    pub fn with_vad(mut self, vad: Vad) -> Model {
        self.vad = Some(vad);
        self
    }

    /// Architecture sizes.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The vocabulary.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// True for multilingual models.
    pub fn is_multilingual(&self) -> bool {
        self.tokenizer.multilingual
    }

    /// Run the encoder on one `[n_mels, 3000]` window.
    pub fn encode(&self, window: &[f32]) -> Result<AudioFeatures, Error> {
        let input = Tensor::from_shape(&[1, self.dims.n_mels, N_FRAMES], window)
            .map_err(|e| Error::Inference(format!("{e:#}")))?;
        let outputs = self
            .graphs
            .audio
            .run(tvec![input.into_tvalue()])
            .map_err(|e| Error::Inference(format!("{e:#}")))?;
        let cross = outputs
            .chunks(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect();
        Ok(AudioFeatures { cross })
    }

    fn decoder(&self) -> Decoder<'_> {
        Decoder::new(&self.graphs.decoder, self.dims, self.tokenizer.special)
    }

    /// Language probabilities (code, probability), best first, of an encoded window.
    pub fn detect_language_features(
        &self,
        audio: &AudioFeatures,
    ) -> Result<Vec<(String, f32)>, Error> {
        if !self.is_multilingual() {
            return Err(Error::InvalidOption(
                "language detection needs a multilingual model".into(),
            ));
        }
        let lang_ids: Vec<u32> = if self.config.lang_ids.is_empty() {
            LANGUAGES
                .iter()
                .filter_map(|c| self.tokenizer.language_token(c))
                .collect()
        } else {
            self.config.lang_ids.clone()
        };
        let probs = self.decoder().detect_language(audio, &lang_ids)?;
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

    /// Token ids suppressed at every step, as faster-whisper's `get_suppressed_tokens`.
    fn suppressed_tokens(&self, requested: &[i64]) -> Vec<u32> {
        if requested.is_empty() {
            return Vec::new();
        }
        let sp = self.tokenizer.special;
        let mut ids: Vec<u32> = requested
            .iter()
            .filter(|&&t| t >= 0)
            .map(|&t| t as u32)
            .collect();
        if requested.contains(&-1) {
            // config.json's suppress_ids is the tokenizer's non-speech set (plus specials).
            ids.extend(&self.config.suppress_ids);
        }
        ids.extend([
            sp.transcribe,
            sp.translate,
            sp.sot,
            sp.sot_prev,
            sp.sot_lm,
            sp.no_speech,
        ]);
        ids.retain(|&t| (t as usize) < self.dims.n_vocab);
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Transcribe 16 kHz mono samples.
    pub fn transcribe(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
    ) -> Result<Transcript, Error> {
        let duration = samples.len() as f64 / mel::SAMPLE_RATE as f64;
        if !opts.vad_filter {
            return self.transcribe_speech(samples, opts, duration);
        }
        let vad = self.vad.as_ref().ok_or_else(|| {
            Error::InvalidOption("vad_filter needs a VAD model (Model::with_vad)".into())
        })?;
        let chunks = vad.speech_chunks(samples, &opts.vad_parameters)?;
        let speech: Vec<f32> = chunks
            .iter()
            .flat_map(|c| samples[c.start..c.end].iter().copied())
            .collect();
        let mut transcript = self.transcribe_speech(&speech, opts, duration)?;
        if chunks.is_empty() {
            return Ok(transcript);
        }
        // Back to times in the original audio, as faster-whisper's restore_speech_timestamps.
        let map = TimestampMap::new(&chunks);
        for segment in &mut transcript.segments {
            if segment.words.is_empty() {
                segment.start =
                    map.original_time(segment.start, map.chunk_index(segment.start, false));
                segment.end = map.original_time(segment.end, map.chunk_index(segment.end, true));
                continue;
            }
            for word in &mut segment.words {
                // Both ends of a word resolve to the chunk of its middle.
                let chunk = map.chunk_index((word.start + word.end) / 2.0, false);
                word.start = map.original_time(word.start, chunk);
                word.end = map.original_time(word.end, chunk);
            }
            segment.start = segment.words[0].start;
            segment.end = segment.words[segment.words.len() - 1].end;
        }
        Ok(transcript)
    }

    fn transcribe_speech(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
        duration: f64,
    ) -> Result<Transcript, Error> {
        let features = mel::log_mel_spectrogram(samples, self.dims.n_mels);
        let content_frames = features.n_frames - 1;

        let mut first_window: Option<AudioFeatures> = None;
        let (language, language_probability) = match (&opts.language, self.is_multilingual()) {
            (_, false) => ("en".to_owned(), 1.0),
            (Some(code), true) => (code.clone(), 1.0),
            (None, true) => {
                let (lang, p, audio) = self.detect_language_mel(&features, opts)?;
                first_window = audio;
                (lang, p)
            }
        };
        let sp = self.tokenizer.special;
        let mut sot_sequence = vec![sp.sot];
        if self.is_multilingual() {
            let lang = self
                .tokenizer
                .language_token(&language)
                .ok_or_else(|| Error::InvalidOption(format!("unknown language {language}")))?;
            sot_sequence.push(lang);
            sot_sequence.push(match opts.task {
                Task::Transcribe => sp.transcribe,
                Task::Translate => sp.translate,
            });
        }

        let max_length = self.dims.n_text_ctx;
        let suppress_tokens = self.suppressed_tokens(&opts.suppress_tokens);
        let suppress_begin = if opts.suppress_blank {
            self.suppress_begin()
        } else {
            Vec::new()
        };
        let max_initial_timestamp_index =
            (opts.max_initial_timestamp / TIME_PRECISION).round() as u32;

        let mut all_tokens: Vec<u32> = Vec::new();
        if let Some(prompt) = &opts.initial_prompt {
            all_tokens.extend(self.tokenizer.encode(&format!(" {}", prompt.trim()))?);
        }
        let mut prompt_reset_since = 0;
        let mut segments = Vec::new();
        let mut seek = 0usize;
        let mut last_speech_timestamp = 0.0;
        let decoder = self.decoder();
        let aligner = Aligner {
            decoder: self.decoder(),
            tokenizer: &self.tokenizer,
            heads: &self.alignment_heads,
            layers: &self.graphs.alignment_layers,
            language: &language,
        };

        while seek < content_frames {
            let time_offset = seek as f64 * TIME_PER_FRAME;
            let segment_size = N_FRAMES.min(content_frames - seek);
            let segment_duration = segment_size as f64 * TIME_PER_FRAME;
            let audio = match (seek, first_window.take()) {
                (0, Some(audio)) => audio,
                _ => self.encode(&features.window(seek, segment_size))?,
            };

            let previous = &all_tokens[prompt_reset_since..];
            let mut prompt = Vec::new();
            if !previous.is_empty() {
                prompt.push(sp.sot_prev);
                let keep = max_length / 2 - 1;
                prompt.extend(&previous[previous.len().saturating_sub(keep)..]);
            }
            prompt.extend(&sot_sequence);
            if opts.without_timestamps {
                prompt.push(sp.no_timestamps);
            }
            let decode_max_length = match opts.max_new_tokens {
                Some(n) => prompt.len() + n,
                None => max_length,
            };
            if decode_max_length > max_length {
                return Err(Error::InvalidOption(format!(
                    "prompt of {} tokens plus max_new_tokens exceeds the context of {max_length}",
                    prompt.len()
                )));
            }

            let base = DecodeOptions {
                beam_size: opts.beam_size.max(1),
                patience: opts.patience,
                length_penalty: opts.length_penalty,
                temperature: 0.0,
                best_of: opts.best_of,
                suppress_tokens: suppress_tokens.clone(),
                suppress_begin: suppress_begin.clone(),
                max_initial_timestamp_index,
                max_length: decode_max_length,
                seed: seek as u64,
            };
            let (result, temperature, compression_ratio) =
                self.decode_with_fallback(&decoder, &audio, &prompt, &base, opts)?;

            if let Some(threshold) = opts.no_speech_threshold {
                let mut skip = result.no_speech_prob > threshold;
                if opts
                    .log_prob_threshold
                    .is_some_and(|t| result.avg_logprob > t)
                {
                    skip = false;
                }
                if skip {
                    seek += segment_size;
                    continue;
                }
            }

            let previous_seek = seek;
            let (mut pieces, next_seek, single_timestamp_ending) = self.split_by_timestamps(
                &result.tokens,
                time_offset,
                segment_size,
                segment_duration,
                seek,
            );
            seek = next_seek;
            if opts.word_timestamps {
                aligner.add_word_timestamps(
                    &mut pieces,
                    &audio,
                    &sot_sequence,
                    previous_seek,
                    segment_size,
                    &opts.prepend_punctuations,
                    &opts.append_punctuations,
                    last_speech_timestamp,
                )?;
                if !single_timestamp_ending
                    && let Some(end) = last_end(&pieces)
                    && end > time_offset
                {
                    seek = (end * 100.0).round() as usize;
                }
                if let Some(end) = last_end(&pieces) {
                    last_speech_timestamp = end;
                }
            }
            for Piece {
                start,
                end,
                tokens,
                words,
            } in pieces
            {
                let text = self.tokenizer.decode(&tokens);
                if start == end || text.trim().is_empty() {
                    continue;
                }
                all_tokens.extend(&tokens);
                segments.push(Segment {
                    id: segments.len() + 1,
                    seek: previous_seek,
                    start,
                    end,
                    text,
                    tokens,
                    temperature,
                    avg_logprob: result.avg_logprob,
                    compression_ratio,
                    no_speech_prob: result.no_speech_prob,
                    words,
                });
            }
            if !opts.condition_on_previous_text || temperature > opts.prompt_reset_on_temperature {
                prompt_reset_since = all_tokens.len();
            }
        }

        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<String>()
            .trim()
            .to_owned();
        Ok(Transcript {
            text,
            language,
            language_probability,
            duration,
            segments,
        })
    }

    fn suppress_begin(&self) -> Vec<u32> {
        if self.config.suppress_ids_begin.is_empty() {
            // Whisper's blank: " " (220) and end of text.
            vec![220, self.tokenizer.special.eot]
        } else {
            self.config.suppress_ids_begin.clone()
        }
    }

    /// faster-whisper's `detect_language` on the first windows of `features`.
    fn detect_language_mel(
        &self,
        features: &LogMel,
        opts: &TranscribeOptions,
    ) -> Result<(String, f32, Option<AudioFeatures>), Error> {
        let frames = features
            .n_frames
            .min(opts.language_detection_segments.max(1) * N_FRAMES);
        let mut votes: Vec<(String, f32)> = Vec::new();
        let mut first = None;
        let mut start = 0;
        while start < frames {
            let len = N_FRAMES.min(frames - start);
            let audio = self.encode(&features.window(start, len))?;
            let probs = self.detect_language_features(&audio)?;
            if start == 0 && len == N_FRAMES.min(features.n_frames - 1) {
                // Same window the transcription starts with: reuse its encoding.
                first = Some(audio);
            }
            let (lang, p) = probs[0].clone();
            if p > opts.language_detection_threshold {
                return Ok((lang, p, first));
            }
            votes.push((lang, p));
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
        let (lang, _, p) =
            best.ok_or_else(|| Error::Inference("no audio for language detection".into()))?;
        Ok((lang, p, first))
    }

    /// faster-whisper's `generate_with_fallback`: retry at higher temperatures while the
    /// text is too repetitive or too improbable (unless the window is silence).
    fn decode_with_fallback(
        &self,
        decoder: &Decoder<'_>,
        audio: &AudioFeatures,
        prompt: &[u32],
        base: &DecodeOptions,
        opts: &TranscribeOptions,
    ) -> Result<(DecodeResult, f32, f64), Error> {
        let mut all: Vec<(DecodeResult, f32, f64)> = Vec::new();
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
            let text = self.tokenizer.decode(&result.tokens);
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
            all.push((result, temperature, compression_ratio));
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
            if all[i].0.avg_logprob > all[best].0.avg_logprob {
                best = i;
            }
        }
        let (result, _, cr) = all.swap_remove(best);
        Ok((result, last_temperature, cr))
    }

    /// faster-whisper's `_split_segments_by_timestamps`: the segments, the next seek position,
    /// and whether the tokens end with a single timestamp.
    fn split_by_timestamps(
        &self,
        tokens: &[u32],
        time_offset: f64,
        segment_size: usize,
        segment_duration: f64,
        seek: usize,
    ) -> (Vec<Piece>, usize, bool) {
        let ts = self.tokenizer.special.timestamp_begin;
        let n = tokens.len();
        let single_timestamp_ending = n >= 2 && tokens[n - 2] < ts && ts <= tokens[n - 1];
        let consecutive: Vec<usize> = (1..n)
            .filter(|&i| tokens[i] >= ts && tokens[i - 1] >= ts)
            .collect();
        let mut out = Vec::new();
        if !consecutive.is_empty() {
            let mut slices = consecutive;
            if single_timestamp_ending {
                slices.push(n);
            }
            let mut last = 0;
            for &current in &slices {
                let sliced = &tokens[last..current];
                let start = time_offset + (sliced[0] - ts) as f64 * TIME_PRECISION;
                let end = time_offset + (sliced[sliced.len() - 1] - ts) as f64 * TIME_PRECISION;
                out.push(Piece {
                    start,
                    end,
                    tokens: sliced.to_vec(),
                    words: Vec::new(),
                });
                last = current;
            }
            let next = if single_timestamp_ending {
                seek + segment_size
            } else {
                seek + (tokens[last - 1] - ts) as usize * INPUT_STRIDE
            };
            (out, next, single_timestamp_ending)
        } else {
            let mut duration = segment_duration;
            if let Some(&last_ts) = tokens.iter().rfind(|&&t| t >= ts)
                && last_ts != ts
            {
                duration = (last_ts - ts) as f64 * TIME_PRECISION;
            }
            out.push(Piece {
                start: time_offset,
                end: time_offset + duration,
                tokens: tokens.to_vec(),
                words: Vec::new(),
            });
            (out, seek + segment_size, single_timestamp_ending)
        }
    }
}

/// Length of `text` over its zlib-compressed length, as faster-whisper's `get_compression_ratio`.
pub fn compression_ratio(text: &str) -> f64 {
    let bytes = text.as_bytes();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).expect("in-memory write");
    let compressed = encoder.finish().expect("in-memory write");
    bytes.len() as f64 / compressed.len() as f64
}

/// BPE merges from `tokenizer.json`, if present (needed only to encode prompts).
fn read_merges(dir: &Path) -> Result<Vec<String>, Error> {
    let path = dir.join("tokenizer.json");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Checkpoint(format!("tokenizer.json: {e}")))?;
    let merges = json["model"]["merges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(merges
        .iter()
        .filter_map(|m| match m {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(pair) => Some(format!(
                "{} {}",
                pair.first()?.as_str()?,
                pair.get(1)?.as_str()?
            )),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_shareable_across_threads() {
        fn check<T: Send + Sync>() {}
        check::<Model>();
    }

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
