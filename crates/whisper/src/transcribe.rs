//! Long-form transcription: faster-whisper's `transcribe()` and `generate_segments` — the 30 s
//! seek loop with previous-text conditioning, optionally over the speech found by VAD.

use crate::Error;
use crate::alignment::{Aligner, Piece, last_end};
use crate::decode::DecodeOptions;
use crate::fallback::decode_with_fallback;
use crate::mel::{self, N_FRAMES};
use crate::model::Model;
use crate::options::{Task, TranscribeOptions};
use crate::segments::split_by_timestamps;
use crate::transcript::{Segment, Transcript};
use crate::vad::TimestampMap;
use crate::window::{TIME_PRECISION, Window};

impl Model {
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

    /// faster-whisper's `generate_segments` over all of `samples`.
    fn transcribe_speech(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
        duration: f64,
    ) -> Result<Transcript, Error> {
        let features = mel::log_mel_spectrogram(samples, self.dims.n_mels);
        let content_frames = features.n_frames - 1;

        let mut first_window = None;
        let (language, language_probability) = match (&opts.language, self.is_multilingual()) {
            (_, false) => ("en".to_owned(), 1.0),
            (Some(code), true) => (code.clone(), 1.0),
            (None, true) => {
                let detection = self
                    .language_detector()?
                    .detect(&features, opts, |window| self.encode(window))?;
                first_window = detection.first_window;
                (detection.language, detection.probability)
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
            sot_sequence: &sot_sequence,
            prepend_punctuations: &opts.prepend_punctuations,
            append_punctuations: &opts.append_punctuations,
        };

        while seek < content_frames {
            let num_frames = N_FRAMES.min(content_frames - seek);
            let audio = match (seek, first_window.take()) {
                (0, Some(audio)) => audio,
                _ => self.encode(&features.window(seek, num_frames))?,
            };
            let window = Window {
                seek,
                num_frames,
                audio,
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
            let accepted = decode_with_fallback(
                &decoder,
                &self.tokenizer,
                &window.audio,
                &prompt,
                &base,
                opts,
            )?;
            let result = &accepted.result;

            if let Some(threshold) = opts.no_speech_threshold {
                let mut skip = result.no_speech_prob > threshold;
                if opts
                    .log_prob_threshold
                    .is_some_and(|t| result.avg_logprob > t)
                {
                    skip = false;
                }
                if skip {
                    seek = window.end();
                    continue;
                }
            }

            let split = split_by_timestamps(&result.tokens, &window, sp.timestamp_begin);
            let mut pieces = split.pieces;
            seek = split.next_seek;
            if opts.word_timestamps {
                aligner.add_word_timestamps(&mut pieces, &window, last_speech_timestamp)?;
                if !split.single_timestamp_ending
                    && let Some(end) = last_end(&pieces)
                    && end > window.time_offset()
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
                    seek: window.seek,
                    start,
                    end,
                    text,
                    tokens,
                    temperature: accepted.temperature,
                    avg_logprob: result.avg_logprob,
                    compression_ratio: accepted.compression_ratio,
                    no_speech_prob: result.no_speech_prob,
                    words,
                });
            }
            if !opts.condition_on_previous_text
                || accepted.temperature > opts.prompt_reset_on_temperature
            {
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

    /// Tokens suppressed as the first one: config.json's `suppress_ids_begin`, else Whisper's
    /// blank (" ", 220) and end of text.
    fn suppress_begin(&self) -> Vec<u32> {
        if self.config.suppress_ids_begin.is_empty() {
            vec![220, self.tokenizer.special.eot]
        } else {
            self.config.suppress_ids_begin.clone()
        }
    }
}
