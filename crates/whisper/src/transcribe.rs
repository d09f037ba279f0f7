//! Long-form transcription: faster-whisper's `transcribe()` and `generate_segments` — the 30 s
//! seek loop with previous-text conditioning, optionally over the speech found by VAD — run one
//! window at a time, so segments can leave as they are decoded ([`Transcription`]);
//! [`Model::transcribe`] is the same loop run to its end.

use crate::Error;
use crate::alignment::{Aligner, Piece, last_end};
use crate::decode::{AudioFeatures, DecodeOptions};
use crate::fallback::decode_with_fallback;
use crate::mel::{self, LogMel, N_FRAMES};
use crate::model::Model;
use crate::options::{Task, TranscribeOptions};
use crate::segments::split_by_timestamps;
use crate::transcript::{Segment, Transcript};
use crate::vad::TimestampMap;
use crate::window::{TIME_PER_FRAME, TIME_PRECISION, Window};

/// The segments one step of the seek loop produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// Segments of the window just decoded, in order (none for a window without speech).
    pub segments: Vec<Segment>,
    /// How far into the audio the transcription has got, seconds of the original audio.
    pub end: f64,
}

/// A transcription in progress: each [`Iterator::next`] decodes one window (the same windows,
/// prompts and seeds as [`Model::transcribe`], so the same tokens and timestamps) and returns
/// its segments. Dropping it stops the work at that window.
pub struct Transcription<'m> {
    model: &'m Model,
    opts: TranscribeOptions,
    features: LogMel,
    content_frames: usize,
    /// The first window's encoding when language detection already computed it.
    first_window: Option<AudioFeatures>,
    language: String,
    language_probability: f32,
    duration: f64,
    /// Back to times in the original audio when VAD removed silence.
    vad_map: Option<TimestampMap>,
    sot_sequence: Vec<u32>,
    suppress_tokens: Vec<u32>,
    suppress_begin: Vec<u32>,
    max_initial_timestamp_index: u32,
    all_tokens: Vec<u32>,
    /// `hotwords` tokenized, prompting every window.
    hotword_tokens: Vec<u32>,
    prompt_reset_since: usize,
    seek: usize,
    last_speech_timestamp: f64,
    segments_so_far: usize,
    failed: bool,
}

impl Model {
    /// Transcribe 16 kHz mono samples.
    pub fn transcribe(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
    ) -> Result<Transcript, Error> {
        let mut transcription = self.transcription(samples, opts)?;
        let mut segments = Vec::new();
        for decoded in &mut transcription {
            segments.extend(decoded?.segments);
        }
        Ok(transcription.into_transcript(segments))
    }

    /// Start transcribing 16 kHz mono samples: features, VAD and language detection happen
    /// here (so a bad option fails before any segment), the windows as it is iterated.
    pub fn transcription(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
    ) -> Result<Transcription<'_>, Error> {
        let duration = samples.len() as f64 / mel::SAMPLE_RATE as f64;
        if !opts.vad_filter {
            return Transcription::new(self, samples, opts, duration, None);
        }
        let vad = self.vad.as_ref().ok_or_else(|| {
            Error::InvalidOption("vad_filter needs a VAD model (Model::with_vad)".into())
        })?;
        let chunks = vad.speech_chunks(samples, &opts.vad_parameters)?;
        let speech: Vec<f32> = chunks
            .iter()
            .flat_map(|c| samples[c.start..c.end].iter().copied())
            .collect();
        let map = (!chunks.is_empty()).then(|| TimestampMap::new(&chunks));
        Transcription::new(self, &speech, opts, duration, map)
    }
}

impl<'m> Transcription<'m> {
    /// faster-whisper's `generate_segments` up to its loop, over all of `samples`.
    fn new(
        model: &'m Model,
        samples: &[f32],
        opts: &TranscribeOptions,
        duration: f64,
        vad_map: Option<TimestampMap>,
    ) -> Result<Self, Error> {
        let features = mel::log_mel_spectrogram(samples, model.dims.n_mels);
        let content_frames = features.n_frames - 1;

        let mut first_window = None;
        let (language, language_probability) = match (&opts.language, model.is_multilingual()) {
            (_, false) => ("en".to_owned(), 1.0),
            (Some(code), true) => (code.clone(), 1.0),
            (None, true) => {
                let detection = model
                    .language_detector()?
                    .detect(&features, opts, |window| model.encode(window))?;
                first_window = detection.first_window;
                (detection.language, detection.probability)
            }
        };
        let sp = model.tokenizer.special;
        let mut sot_sequence = vec![sp.sot];
        if model.is_multilingual() {
            let lang = model
                .tokenizer
                .language_token(&language)
                .ok_or_else(|| Error::InvalidOption(format!("unknown language {language}")))?;
            sot_sequence.push(lang);
            sot_sequence.push(match opts.task {
                Task::Transcribe => sp.transcribe,
                Task::Translate => sp.translate,
            });
        }

        let suppress_tokens = model.suppressed_tokens(&opts.suppress_tokens);
        let suppress_begin = if opts.suppress_blank {
            model.suppress_begin()
        } else {
            Vec::new()
        };
        let max_initial_timestamp_index =
            (opts.max_initial_timestamp / TIME_PRECISION).round() as u32;

        let mut all_tokens: Vec<u32> = Vec::new();
        if let Some(prompt) = &opts.initial_prompt {
            all_tokens.extend(model.tokenizer.encode(&format!(" {}", prompt.trim()))?);
        }
        let hotword_tokens = match opts.hotwords.as_deref().map(str::trim) {
            Some(words) if !words.is_empty() => model.tokenizer.encode(&format!(" {words}"))?,
            _ => Vec::new(),
        };
        Ok(Transcription {
            model,
            opts: opts.clone(),
            features,
            content_frames,
            first_window,
            language,
            language_probability,
            duration,
            vad_map,
            sot_sequence,
            suppress_tokens,
            suppress_begin,
            max_initial_timestamp_index,
            all_tokens,
            hotword_tokens,
            prompt_reset_since: 0,
            seek: 0,
            last_speech_timestamp: 0.0,
            segments_so_far: 0,
            failed: false,
        })
    }

    /// Language code of the transcription (given, detected, or "en" for English-only models).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Probability of that language (1 when given or English-only).
    pub fn language_probability(&self) -> f32 {
        self.language_probability
    }

    /// Duration of the whole audio, seconds.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// The transcript of `segments` (all this transcription produced, in order).
    pub fn into_transcript(self, segments: Vec<Segment>) -> Transcript {
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<String>()
            .trim()
            .to_owned();
        Transcript {
            text,
            language: self.language,
            language_probability: self.language_probability,
            duration: self.duration,
            segments,
        }
    }

    /// One turn of faster-whisper's seek loop: decode the window at `seek`, split it into
    /// segments, move `seek` on.
    fn step(&mut self) -> Result<Vec<Segment>, Error> {
        let model = self.model;
        let opts = &self.opts;
        let sp = model.tokenizer.special;
        let max_length = model.dims.n_text_ctx;
        let seek = self.seek;
        let num_frames = N_FRAMES.min(self.content_frames - seek);
        let audio = match (seek, self.first_window.take()) {
            (0, Some(audio)) => audio,
            _ => model.encode(&self.features.window(seek, num_frames))?,
        };
        let window = Window {
            seek,
            num_frames,
            audio,
        };

        let prompt = window_prompt(
            sp.sot_prev,
            &self.hotword_tokens,
            &self.all_tokens[self.prompt_reset_since..],
            max_length,
            &self.sot_sequence,
            opts.without_timestamps.then_some(sp.no_timestamps),
        );
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
            suppress_tokens: self.suppress_tokens.clone(),
            suppress_begin: self.suppress_begin.clone(),
            max_initial_timestamp_index: self.max_initial_timestamp_index,
            max_length: decode_max_length,
            seed: seek as u64,
        };
        let decoder = model.decoder();
        let accepted = decode_with_fallback(
            &decoder,
            &model.tokenizer,
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
                self.seek = window.end();
                return Ok(Vec::new());
            }
        }

        let split = split_by_timestamps(&result.tokens, &window, sp.timestamp_begin);
        let mut pieces = split.pieces;
        self.seek = split.next_seek;
        if opts.word_timestamps {
            let aligner = Aligner {
                decoder: model.decoder(),
                tokenizer: &model.tokenizer,
                heads: &model.alignment_heads,
                layers: &model.graphs.alignment_layers,
                language: &self.language,
                sot_sequence: &self.sot_sequence,
                prepend_punctuations: &opts.prepend_punctuations,
                append_punctuations: &opts.append_punctuations,
            };
            aligner.add_word_timestamps(&mut pieces, &window, self.last_speech_timestamp)?;
            if !split.single_timestamp_ending
                && let Some(end) = last_end(&pieces)
                && end > window.time_offset()
            {
                self.seek = (end * 100.0).round() as usize;
            }
            if let Some(end) = last_end(&pieces) {
                self.last_speech_timestamp = end;
            }
        }
        let mut segments = Vec::new();
        for Piece {
            start,
            end,
            tokens,
            words,
        } in pieces
        {
            let text = model.tokenizer.decode(&tokens);
            if start == end || text.trim().is_empty() {
                continue;
            }
            self.all_tokens.extend(&tokens);
            self.segments_so_far += 1;
            let mut segment = Segment {
                id: self.segments_so_far,
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
            };
            if let Some(map) = &self.vad_map {
                restore_speech_timestamps(&mut segment, map);
            }
            segments.push(segment);
        }
        if !opts.condition_on_previous_text
            || accepted.temperature > opts.prompt_reset_on_temperature
        {
            self.prompt_reset_since = self.all_tokens.len();
        }
        Ok(segments)
    }

    /// Where the loop has got to, in seconds of the original audio.
    fn decoded_until(&self) -> f64 {
        let t = self.seek.min(self.content_frames) as f64 * TIME_PER_FRAME;
        let t = match &self.vad_map {
            Some(map) => map.original_time(t, map.chunk_index(t, true)),
            None => t,
        };
        t.min(self.duration)
    }
}

impl Iterator for Transcription<'_> {
    type Item = Result<Decoded, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.seek >= self.content_frames {
            return None;
        }
        Some(match self.step() {
            Ok(segments) => Ok(Decoded {
                segments,
                end: if self.seek >= self.content_frames {
                    self.duration
                } else {
                    self.decoded_until()
                },
            }),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        })
    }
}

/// Back to times in the original audio, as faster-whisper's `restore_speech_timestamps`.
fn restore_speech_timestamps(segment: &mut Segment, map: &TimestampMap) {
    if segment.words.is_empty() {
        segment.start = map.original_time(segment.start, map.chunk_index(segment.start, false));
        segment.end = map.original_time(segment.end, map.chunk_index(segment.end, true));
        return;
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

/// faster-whisper's `get_prompt` without a prefix: `<|startofprev|>`, the hotwords and the
/// previous text (each cut to under half the context), the start-of-transcript sequence, and
/// `<|notimestamps|>` when decoding without timestamps.
fn window_prompt(
    sot_prev: u32,
    hotwords: &[u32],
    previous: &[u32],
    max_length: usize,
    sot_sequence: &[u32],
    no_timestamps: Option<u32>,
) -> Vec<u32> {
    let keep = max_length / 2 - 1;
    let mut prompt = Vec::new();
    if !previous.is_empty() || !hotwords.is_empty() {
        prompt.push(sot_prev);
        let hotwords = if hotwords.len() >= max_length / 2 {
            &hotwords[..keep]
        } else {
            hotwords
        };
        prompt.extend(hotwords);
        prompt.extend(&previous[previous.len().saturating_sub(keep)..]);
    }
    prompt.extend(sot_sequence);
    prompt.extend(no_timestamps);
    prompt
}

impl Model {
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

#[cfg(test)]
mod tests {
    use super::window_prompt;

    #[test]
    fn hotwords_lead_the_prompt_of_every_window() {
        let sot = [50258, 50259, 50359];
        assert_eq!(window_prompt(1, &[], &[], 448, &sot, None), sot);
        assert_eq!(
            window_prompt(1, &[7, 8], &[], 448, &sot, Some(50363)),
            [1, 7, 8, 50258, 50259, 50359, 50363]
        );
        assert_eq!(
            window_prompt(1, &[7], &[4, 5], 448, &sot, None),
            [1, 7, 4, 5, 50258, 50259, 50359]
        );
        // Each is cut to max_length / 2 - 1 tokens; the previous text keeps its end.
        let long: Vec<u32> = (0..10).collect();
        assert_eq!(
            window_prompt(1, &long, &long, 8, &[], None),
            [1, 0, 1, 2, 7, 8, 9]
        );
    }
}
