//! Synthesis parameters, sentence-by-sentence streaming, and PCM conversion.

use std::collections::VecDeque;
use std::ops::Range;

use crate::config::Speaker;
use crate::error::Result;
use crate::ids::Token;
use crate::split;
use crate::voice::Voice;

/// Per-request synthesis settings; [`Voice::default_params`] gives the voice's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesisParams {
    /// Generator noise (0 = deterministic timbre).
    pub noise_scale: f32,
    /// Phoneme duration factor: larger is slower.
    pub length_scale: f32,
    /// Duration noise (0 = deterministic timing).
    pub noise_w: f32,
    pub speaker: Option<Speaker>,
    /// Seconds of silence appended after each sentence.
    pub sentence_silence: f32,
}

impl SynthesisParams {
    /// Speaking rate relative to the voice's natural pace (1 / `length_scale`).
    pub fn speed(&self) -> f32 {
        1.0 / self.length_scale
    }

    pub fn with_speed(mut self, speed: f32) -> Self {
        self.length_scale = 1.0 / speed;
        self
    }

    /// Turns both noises off, making the output a pure function of the ids.
    pub fn without_noise(mut self) -> Self {
        self.noise_scale = 0.0;
        self.noise_w = 0.0;
        self
    }

    fn silence_samples(&self, sample_rate: u32) -> usize {
        (self.sentence_silence.max(0.0) * sample_rate as f32).round() as usize
    }
}

/// Audio for one piece of a sentence, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// Index of the sentence (among those given) this audio belongs to.
    pub sentence: usize,
    pub samples: Vec<f32>,
    /// True on a sentence's last chunk, which carries the sentence silence.
    pub sentence_end: bool,
}

/// Iterator over audio chunks for a list of sentences (phoneme strings), one
/// model call per step, so the caller can send each chunk before the next is
/// synthesized. Sentences longer than the largest bucket come in several chunks.
pub struct Synthesizer<'v, I> {
    voice: &'v Voice,
    sentences: I,
    params: SynthesisParams,
    first_clause_early: bool,
    next_sentence: usize,
    current: Option<(usize, Vec<Token>, VecDeque<Range<usize>>)>,
}

impl<'v, I> Synthesizer<'v, I>
where
    I: Iterator,
    I::Item: AsRef<str>,
{
    pub(crate) fn new(voice: &'v Voice, sentences: I, params: SynthesisParams) -> Self {
        Self {
            voice,
            sentences,
            params,
            first_clause_early: false,
            next_sentence: 0,
            current: None,
        }
    }

    /// Synthesizes the first sentence's first clause on its own, so the
    /// listener hears something after one short model call.
    pub fn first_clause_early(mut self, early: bool) -> Self {
        self.first_clause_early = early;
        self
    }

    /// Loads the next non-empty sentence and its chunk ranges.
    fn advance(&mut self) -> bool {
        for sentence in self.sentences.by_ref() {
            let index = self.next_sentence;
            self.next_sentence += 1;
            let (tokens, _missing) = self.voice.config().phoneme_ids.tokens(sentence.as_ref());
            if tokens.is_empty() {
                continue;
            }
            let chunks = match split::first_clause_end(&tokens) {
                Some(end) if index == 0 && self.first_clause_early => {
                    let mut chunks: VecDeque<_> = self.split_to_fit(&tokens, 0..end).into();
                    chunks.extend(self.split_to_fit(&tokens, end..tokens.len()));
                    chunks
                }
                _ => self.voice.chunks(&tokens).into(),
            };
            self.current = Some((index, tokens, chunks));
            return true;
        }
        false
    }

    /// Pieces of `range` that each fit the largest bucket, word gaps at their edges dropped.
    fn split_to_fit(&self, tokens: &[Token], range: Range<usize>) -> Vec<Range<usize>> {
        let start = range.start;
        self.voice
            .chunks(&tokens[range])
            .into_iter()
            .map(|r| r.start + start..r.end + start)
            .collect()
    }
}

impl<I> Iterator for Synthesizer<'_, I>
where
    I: Iterator,
    I::Item: AsRef<str>,
{
    type Item = Result<AudioChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self
            .current
            .as_ref()
            .is_none_or(|(_, _, chunks)| chunks.is_empty())
            && !self.advance()
        {
            return None;
        }
        let (sentence, tokens, chunks) = self.current.as_mut()?;
        let range = chunks.pop_front()?;
        let ids = self.voice.config().phoneme_ids.frame(&tokens[range]);
        let sentence_end = chunks.is_empty();
        let sentence = *sentence;
        Some(self.voice.run(&ids, &self.params).map(|mut samples| {
            if sentence_end {
                let silence = self.params.silence_samples(self.voice.sample_rate());
                samples.resize(samples.len() + silence, 0.0);
            }
            AudioChunk {
                sentence,
                samples,
                sentence_end,
            }
        }))
    }
}

/// f32 samples in [-1, 1] to 16-bit, clipped and scaled as Piper does (× 32767).
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| (s * 32767.0).clamp(-32767.0, 32767.0) as i16)
        .collect()
}

/// f32 samples to little-endian signed 16-bit PCM bytes.
pub fn to_s16le(samples: &[f32]) -> Vec<u8> {
    to_i16(samples)
        .into_iter()
        .flat_map(i16::to_le_bytes)
        .collect()
}
