//! Text to IPA phonemes with espeak-ng, sentence by sentence, as Piper phonemizes.
//!
//! espeak-ng normalises numbers, dates, abbreviations and symbols itself; Piper's clause
//! punctuation and sentence splitting are replicated on top. espeak's data (phontab, phondata,
//! dictionaries, voices) is read from a directory at run time: see the crate README.

#![deny(missing_docs)]

mod data;
mod engine;
mod error;
mod ffi;
mod raw_blocks;
mod sentences;

use std::path::Path;

pub use data::compile_data;
use engine::Engine;
pub use error::Error;
pub use sentences::Sentence;

/// A phonemizer for one espeak voice. All phonemizers share espeak's single global instance,
/// taking turns on a mutex.
#[derive(Debug, Clone)]
pub struct Phonemizer {
    voice: String,
}

impl Phonemizer {
    /// Loads espeak-ng's data from `data_dir` (an `espeak-ng-data` directory) and checks `voice`,
    /// the `espeak.voice` of a Piper voice config such as "en-us".
    pub fn new(data_dir: impl AsRef<Path>, voice: &str) -> Result<Self, Error> {
        let mut engine = Engine::lock();
        engine.initialize(data_dir.as_ref())?;
        engine.set_voice(voice)?;
        Ok(Self {
            voice: voice.to_owned(),
        })
    }

    /// The espeak voice this phonemizer uses.
    pub fn voice(&self) -> &str {
        &self.voice
    }

    /// Phonemizes `text` into sentences, as Piper's `phonemize_espeak` does; like Piper, text with
    /// nothing to say gives one empty sentence.
    pub fn phonemize(&self, text: &str) -> Result<Vec<Sentence>, Error> {
        let mut engine = Engine::lock();
        engine.set_voice(&self.voice)?;
        let clauses = engine.clauses(text)?;
        Ok(sentences::assemble(clauses))
    }

    /// Phonemizes `text` as Piper does before synthesis (`PiperVoice.phonemize`): like
    /// [`Phonemizer::phonemize`], but `[[ … ]]` blocks are taken as phonemes as written, and a
    /// trailing empty sentence is dropped, so text with nothing to say gives no sentences.
    /// (Voices with `vowel_clusters` in their config are not handled.)
    pub fn phonemize_for_voice(&self, text: &str) -> Result<Vec<Sentence>, Error> {
        let sentences = raw_blocks::phonemize_with_blocks(text, |part| {
            Ok::<_, Error>(
                self.phonemize(part)?
                    .into_iter()
                    .map(|s| s.phonemes)
                    .collect(),
            )
        })?;
        Ok(sentences
            .into_iter()
            .map(|phonemes| Sentence { phonemes })
            .collect())
    }
}
