//! The fuzz targets: each takes arbitrary bytes the way a request handler would and must
//! answer with a value or a typed error.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use vox_whisper::tokenizer::{Tokenizer, Vocabulary};

/// What a target does with one input; `Err` is a broken property (not a typed error, which is
/// a fine answer).
pub trait Target {
    fn name(&self) -> &'static str;
    fn run(&mut self, data: &[u8]) -> Result<(), String>;
}

/// Every target's name, in the order `make test` runs them.
pub const NAMES: [&str; 4] = ["audio", "multipart", "tokenizer", "phonemizer"];

/// The target called `name`; `Err` says why it cannot run here (an unknown name, or models
/// that `make models` has not fetched).
pub fn by_name(name: &str, root: &Path) -> Result<Box<dyn Target>, String> {
    match name {
        "audio" => Ok(Box::new(Audio)),
        "multipart" => Ok(Box::new(Multipart)),
        "tokenizer" => Tokenize::load(&root.join("models/whisper/tiny.en"))
            .map(|t| Box::new(t) as Box<dyn Target>),
        "phonemizer" => Phonemize::load(&root.join("models/espeak-ng-data"))
            .map(|t| Box::new(t) as Box<dyn Target>),
        other => Err(format!("no fuzz target {other:?}; targets: {NAMES:?}")),
    }
}

/// Uploads of any format through `vox_audio::decode`, sniffed and with a WAV hint (the WAV
/// parser is ours, every other format symphonia's).
struct Audio;

impl Target for Audio {
    fn name(&self) -> &'static str {
        "audio"
    }

    fn run(&mut self, data: &[u8]) -> Result<(), String> {
        for opts in [
            vox_audio::DecodeOptions::default(),
            vox_audio::DecodeOptions::default().with_hint("audio/wav"),
        ] {
            if let Ok(audio) = vox_audio::decode(data, &opts)
                && audio.samples.iter().any(|s| !s.is_finite())
            {
                return Err("decoded samples that are not finite".into());
            }
        }
        Ok(())
    }
}

/// `multipart/form-data` bodies as the gateway reads uploads.
struct Multipart;

/// The boundary the multipart seeds use.
pub const MULTIPART_BOUNDARY: &str = "vox-fuzz-boundary";

impl Target for Multipart {
    fn name(&self) -> &'static str {
        "multipart"
    }

    fn run(&mut self, data: &[u8]) -> Result<(), String> {
        let limits = vox_api::multipart::Limits::default();
        let _ =
            vox_api::multipart::parse(&Bytes::copy_from_slice(data), MULTIPART_BOUNDARY, &limits);
        Ok(())
    }
}

/// Prompts (`prompt`, `hotwords`) through the BPE tokenizer: any text encodes, and decodes
/// back to itself.
struct Tokenize(Tokenizer);

impl Tokenize {
    fn load(dir: &Path) -> Result<Self, String> {
        let vocabulary = Vocabulary::read(dir).map_err(|e| format!("{e} (run `make models`)"))?;
        Tokenizer::new(vocabulary.tokens, &vocabulary.merges)
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

impl Target for Tokenize {
    fn name(&self) -> &'static str {
        "tokenizer"
    }

    fn run(&mut self, data: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(data);
        let Ok(ids) = self.0.encode(&text) else {
            return Ok(());
        };
        let back = self.0.decode(&ids);
        if back != text {
            return Err(format!("{text:?} decoded back as {back:?}"));
        }
        Ok(())
    }
}

/// Text to speak through espeak-ng and Piper's sentence and phoneme rules.
struct Phonemize(vox_phonemizer::Phonemizer);

impl Phonemize {
    fn load(data: &Path) -> Result<Self, String> {
        if !data.join("phontab").exists() {
            return Err(format!("{} is missing (run `make models`)", data.display()));
        }
        vox_phonemizer::Phonemizer::new(data, "en-us")
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

impl Target for Phonemize {
    fn name(&self) -> &'static str {
        "phonemizer"
    }

    fn run(&mut self, data: &[u8]) -> Result<(), String> {
        let _ = self.0.phonemize(&String::from_utf8_lossy(data));
        Ok(())
    }
}

/// A target's seeds: every file of `corpus/<name>/`, plus the audio fixtures the decoder's own
/// tests use for `audio`.
pub fn seeds(name: &str, root: &Path) -> Vec<Vec<u8>> {
    let mut dirs = vec![root.join("fuzz/corpus").join(name)];
    if name == "audio" {
        dirs.push(root.join("crates/audio/tests/fixtures"));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}
