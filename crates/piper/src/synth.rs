//! Synthesis on a loaded voice: whole sentences (cut to fit the buckets and joined) or streamed
//! sentence by sentence.

use std::collections::VecDeque;
use std::ops::Range;

use crate::error::{PiperError, Result};
use crate::ids::Token;
use crate::params::SynthesisParams;
use crate::split;
use crate::voice::Voice;

impl Voice {
    /// Audio for one sentence's phoneme string (no trailing silence). A sentence
    /// longer than the largest bucket is cut at clause breaks and joined.
    pub fn synthesize_phonemes(
        &self,
        phonemes: &str,
        params: &SynthesisParams,
    ) -> Result<Vec<f32>> {
        let (tokens, _missing) = self.config().phoneme_ids.tokens(phonemes);
        self.synthesize_tokens(&tokens, params)
    }

    /// Audio for framed ids (`^ _ (p _)* $`), as Piper's `phoneme_ids_to_audio`.
    /// Ids longer than the largest bucket are cut like a phoneme string when
    /// they are framed with single-id phonemes; otherwise that is an error.
    pub fn synthesize_ids(&self, ids: &[i64], params: &SynthesisParams) -> Result<Vec<f32>> {
        if ids.len() <= self.buckets().largest() {
            return self.run(ids, params);
        }
        let tokens =
            self.config()
                .phoneme_ids
                .tokens_from_framed(ids)
                .ok_or(PiperError::TooLong {
                    len: ids.len(),
                    max: self.buckets().largest(),
                })?;
        self.synthesize_tokens(&tokens, params)
    }

    /// Streams audio sentence by sentence; see [`Synthesizer`].
    pub fn synthesizer<I>(
        &self,
        sentences: I,
        params: SynthesisParams,
    ) -> Synthesizer<'_, I::IntoIter>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Synthesizer::new(self, sentences.into_iter(), params)
    }

    fn synthesize_tokens(&self, tokens: &[Token], params: &SynthesisParams) -> Result<Vec<f32>> {
        let mut audio = Vec::new();
        for chunk in self.chunks(tokens) {
            audio.extend(self.run(&self.config().phoneme_ids.frame(&tokens[chunk]), params)?);
        }
        if audio.is_empty() && tokens.is_empty() {
            return Err(PiperError::Empty);
        }
        Ok(audio)
    }

    /// Ranges of `tokens` that each fit the largest bucket.
    fn chunks(&self, tokens: &[Token]) -> Vec<Range<usize>> {
        split::split(&self.config().phoneme_ids, tokens, self.buckets().largest())
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
    fn new(voice: &'v Voice, sentences: I, params: SynthesisParams) -> Self {
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
