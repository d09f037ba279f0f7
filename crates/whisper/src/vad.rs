//! Silero VAD (v5, split encoder/decoder ONNX) and faster-whisper's speech-chunk rules, used to
//! drop silence before transcription and map timestamps back afterwards.

use std::path::Path;

use tract_onnx::prelude::*;

use crate::Error;
use crate::graph::plan;
use crate::runner::Plan;

/// Samples per VAD window at 16 kHz.
const WINDOW: usize = 512;
/// Samples of the previous window prepended to each window.
const CONTEXT: usize = 64;

/// faster-whisper's `VadOptions`, with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct VadOptions {
    /// Speech when the probability is at least this (0.5).
    pub threshold: f32,
    /// Silence when below this; `None` is `max(threshold - 0.15, 0.01)`.
    pub neg_threshold: Option<f32>,
    /// Shorter speech chunks are dropped (0 ms).
    pub min_speech_duration_ms: u32,
    /// Longer chunks are split (unbounded).
    pub max_speech_duration_s: f64,
    /// Silence needed to end a chunk (2000 ms).
    pub min_silence_duration_ms: u32,
    /// Padding added to each side of a chunk (400 ms).
    pub speech_pad_ms: u32,
}

impl Default for VadOptions {
    fn default() -> Self {
        VadOptions {
            threshold: 0.5,
            neg_threshold: None,
            min_speech_duration_ms: 0,
            max_speech_duration_s: f64::INFINITY,
            min_silence_duration_ms: 2000,
            speech_pad_ms: 400,
        }
    }
}

/// A span of speech, in samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpeechChunk {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

/// The Silero VAD model.
pub struct Vad {
    encoder: Plan,
    decoder: Plan,
}

impl Vad {
    /// Load `silero_encoder_v5.onnx` and `silero_decoder_v5.onnx` from `dir`.
    pub fn load(dir: &Path) -> Result<Vad, Error> {
        // Both graphs declare a symbolic batch: windows are batched through the encoder,
        // the decoder runs one window at a time.
        let load = |name: &str| plan(tract_onnx::onnx().model_for_path(dir.join(name)), name);
        Ok(Vad {
            encoder: load("silero_encoder_v5.onnx")?,
            decoder: load("silero_decoder_v5.onnx")?,
        })
    }

    /// Speech probability of each 512-sample window (the audio zero-padded to whole windows).
    pub fn speech_probabilities(&self, audio: &[f32]) -> Result<Vec<f32>, Error> {
        // faster-whisper always pads, adding a whole silent window to aligned input.
        let windows = audio.len() / WINDOW + 1;
        let mut padded = audio.to_vec();
        padded.resize(windows * WINDOW, 0.0);
        let mut batch = Vec::with_capacity(windows * (WINDOW + CONTEXT));
        for w in 0..windows {
            // Context: the last 64 samples of the previous window (zeros for the first).
            if w == 0 {
                batch.extend(std::iter::repeat_n(0.0, CONTEXT));
            } else {
                batch.extend_from_slice(&padded[w * WINDOW - CONTEXT..w * WINDOW]);
            }
            batch.extend_from_slice(&padded[w * WINDOW..(w + 1) * WINDOW]);
        }
        let input = Tensor::from_shape(&[windows, WINDOW + CONTEXT], &batch)?;
        let encoded = self.encoder.run(tvec![input.into_tvalue()])?;
        let encoded = encoded[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(|s| s.to_vec()));
        let encoded = encoded?;
        let mut state = Tensor::zero::<f32>(&[2, 1, 128])?.into_tvalue();
        let mut probs = Vec::with_capacity(windows);
        for w in 0..windows {
            let x = Tensor::from_shape(&[1, 128], &encoded[w * 128..(w + 1) * 128])?;
            let mut out = self.decoder.run(tvec![x.into_tvalue(), state])?;
            state = out
                .pop()
                .ok_or_else(|| Error::Inference("VAD decoder state".into()))?;
            let p = out[0]
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>().map(|s| s[0]));
            probs.push(p?);
        }
        Ok(probs)
    }

    /// faster-whisper's `get_speech_timestamps`.
    pub fn speech_chunks(
        &self,
        audio: &[f32],
        opts: &VadOptions,
    ) -> Result<Vec<SpeechChunk>, Error> {
        Ok(speech_chunks(
            &self.speech_probabilities(audio)?,
            audio.len(),
            opts,
        ))
    }
}

/// Speech chunks from per-window probabilities: hysteresis between `threshold` and
/// `neg_threshold`, minimum silence, maximum length, then padding.
pub fn speech_chunks(probs: &[f32], audio_len: usize, opts: &VadOptions) -> Vec<SpeechChunk> {
    let sr = 16_000f64;
    let threshold = opts.threshold;
    let neg_threshold = opts.neg_threshold.unwrap_or((threshold - 0.15).max(0.01));
    let min_speech_samples = sr * opts.min_speech_duration_ms as f64 / 1000.0;
    let speech_pad_samples = sr * opts.speech_pad_ms as f64 / 1000.0;
    let max_speech_samples =
        sr * opts.max_speech_duration_s - WINDOW as f64 - 2.0 * speech_pad_samples;
    let min_silence_samples = sr * opts.min_silence_duration_ms as f64 / 1000.0;
    let min_silence_samples_at_max_speech = sr * 98.0 / 1000.0;

    let mut triggered = false;
    let mut speeches: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<usize> = None; // start of the current speech
    let (mut temp_end, mut prev_end, mut next_start) = (0usize, 0usize, 0usize);

    for (i, &p) in probs.iter().enumerate() {
        let pos = WINDOW * i;
        if p >= threshold && temp_end != 0 {
            temp_end = 0;
            if next_start < prev_end {
                next_start = pos;
            }
        }
        if p >= threshold && !triggered {
            triggered = true;
            current = Some(pos);
            continue;
        }
        if triggered && (pos - current.unwrap_or(0)) as f64 > max_speech_samples {
            if prev_end != 0 {
                speeches.push((current.unwrap_or(0), prev_end));
                current = None;
                if next_start < prev_end {
                    triggered = false;
                } else {
                    current = Some(next_start);
                }
                prev_end = 0;
                next_start = 0;
                temp_end = 0;
            } else {
                speeches.push((current.unwrap_or(0), pos));
                current = None;
                prev_end = 0;
                next_start = 0;
                temp_end = 0;
                triggered = false;
                continue;
            }
        }
        if p < neg_threshold && triggered {
            if temp_end == 0 {
                temp_end = pos;
            }
            if (pos - temp_end) as f64 > min_silence_samples_at_max_speech {
                prev_end = temp_end;
            }
            if ((pos - temp_end) as f64) < min_silence_samples {
                continue;
            }
            let start = current.unwrap_or(0);
            if (temp_end - start) as f64 > min_speech_samples {
                speeches.push((start, temp_end));
            }
            current = None;
            prev_end = 0;
            next_start = 0;
            temp_end = 0;
            triggered = false;
        }
    }
    if let Some(start) = current
        && (audio_len - start) as f64 > min_speech_samples
    {
        speeches.push((start, audio_len));
    }

    let pad = speech_pad_samples;
    let n = speeches.len();
    for i in 0..n {
        if i == 0 {
            speeches[0].0 = (speeches[0].0 as f64 - pad).max(0.0) as usize;
        }
        if i + 1 < n {
            let silence = speeches[i + 1].0 as f64 - speeches[i].1 as f64;
            if silence < 2.0 * pad {
                let half = (silence / 2.0).floor();
                speeches[i].1 = (speeches[i].1 as f64 + half) as usize;
                speeches[i + 1].0 = (speeches[i + 1].0 as f64 - half).max(0.0) as usize;
            } else {
                speeches[i].1 = (audio_len as f64).min(speeches[i].1 as f64 + pad) as usize;
                speeches[i + 1].0 = (speeches[i + 1].0 as f64 - pad).max(0.0) as usize;
            }
        } else {
            speeches[i].1 = (audio_len as f64).min(speeches[i].1 as f64 + pad) as usize;
        }
    }
    speeches
        .into_iter()
        .map(|(start, end)| SpeechChunk { start, end })
        .collect()
}

/// Maps times in the speech-only audio back to the original audio
/// (faster-whisper's `SpeechTimestampsMap`).
pub struct TimestampMap {
    chunk_end_sample: Vec<usize>,
    silence_before: Vec<f64>,
}

impl TimestampMap {
    /// The map for `chunks` that were concatenated.
    pub fn new(chunks: &[SpeechChunk]) -> TimestampMap {
        let (mut previous_end, mut silent) = (0usize, 0usize);
        let mut chunk_end_sample = Vec::new();
        let mut silence_before = Vec::new();
        for c in chunks {
            silent += c.start - previous_end;
            previous_end = c.end;
            chunk_end_sample.push(c.end - silent);
            silence_before.push(silent as f64 / 16_000.0);
        }
        TimestampMap {
            chunk_end_sample,
            silence_before,
        }
    }

    /// Index of the chunk that holds `time` (seconds of speech-only audio).
    pub fn chunk_index(&self, time: f64, is_end: bool) -> usize {
        let sample = (time * 16_000.0) as usize;
        if is_end && let Some(i) = self.chunk_end_sample.iter().position(|&e| e == sample) {
            return i;
        }
        let after = self.chunk_end_sample.partition_point(|&e| e <= sample);
        after.min(self.chunk_end_sample.len().saturating_sub(1))
    }

    /// Original time of `time`, in chunk `chunk`, rounded to 10 ms.
    pub fn original_time(&self, time: f64, chunk: usize) -> f64 {
        ((self.silence_before.get(chunk).copied().unwrap_or(0.0) + time) * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_need_two_seconds_of_silence_and_get_padded() {
        // 1 s silence, 2 s speech, 1 s silence (too short to split), 1 s speech, 3 s silence.
        let windows_per_s = 16_000.0 / 512.0;
        let mut probs = Vec::new();
        for (seconds, p) in [(1.0, 0.0), (2.0, 0.9), (1.0, 0.1), (1.0, 0.9), (3.0, 0.0)] {
            probs.extend(std::iter::repeat_n(p, (seconds * windows_per_s) as usize));
        }
        let chunks = speech_chunks(&probs, probs.len() * 512, &VadOptions::default());
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].start, 31 * 512 - 6400);
        assert_eq!(chunks[0].end, (31 + 62 + 31 + 31) * 512 + 6400);
    }

    #[test]
    fn timestamps_map_back_across_removed_silence() {
        let map = TimestampMap::new(&[
            SpeechChunk {
                start: 16_000,
                end: 32_000,
            },
            SpeechChunk {
                start: 64_000,
                end: 80_000,
            },
        ]);
        assert_eq!(map.chunk_index(0.5, false), 0);
        assert_eq!(map.original_time(0.5, 0), 1.5);
        assert_eq!(map.chunk_index(1.0, true), 0);
        assert_eq!(map.chunk_index(1.5, false), 1);
        assert_eq!(map.original_time(1.5, 1), 4.5);
    }
}
