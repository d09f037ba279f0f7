//! A Piper voice's `.onnx.json`: sample rate, inference defaults, speakers, phoneme ids.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{PiperError, Result};
use crate::ids::PhonemeIdMap;

/// Which speaker of a voice to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    Id(i64),
    Name(String),
}

/// The parts of a voice config that synthesis needs.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    pub sample_rate: u32,
    /// espeak-ng voice that produces this voice's phonemes (e.g. `en-us`).
    pub espeak_voice: String,
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
    pub num_speakers: u32,
    pub speaker_id_map: BTreeMap<String, i64>,
    pub default_speaker_id: i64,
    pub phoneme_ids: PhonemeIdMap,
}

#[derive(Deserialize)]
struct Raw {
    audio: RawAudio,
    #[serde(default)]
    espeak: Option<RawEspeak>,
    #[serde(default)]
    inference: RawInference,
    #[serde(default = "one")]
    num_speakers: u32,
    #[serde(default)]
    speaker_id_map: BTreeMap<String, i64>,
    #[serde(default)]
    default_speaker_id: i64,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    vowel_clusters: Vec<Vec<String>>,
}

#[derive(Deserialize)]
struct RawAudio {
    sample_rate: u32,
}

#[derive(Deserialize)]
struct RawEspeak {
    voice: String,
}

// Defaults are Piper's own for configs that leave them out.
#[derive(Deserialize)]
struct RawInference {
    #[serde(default = "noise_scale")]
    noise_scale: f32,
    #[serde(default = "one_f")]
    length_scale: f32,
    #[serde(default = "noise_w")]
    noise_w: f32,
}

impl Default for RawInference {
    fn default() -> Self {
        Self {
            noise_scale: noise_scale(),
            length_scale: 1.0,
            noise_w: noise_w(),
        }
    }
}

fn one() -> u32 {
    1
}
fn one_f() -> f32 {
    1.0
}
fn noise_scale() -> f32 {
    0.667
}
fn noise_w() -> f32 {
    0.8
}

impl VoiceConfig {
    /// Where the config of the voice model at `onnx_path` is: next to it, `.json` appended.
    pub fn path_for(onnx_path: &Path) -> PathBuf {
        let mut path = onnx_path.as_os_str().to_owned();
        path.push(".json");
        PathBuf::from(path)
    }

    /// Reads a voice's `.onnx.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| PiperError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// Parses a voice's `.onnx.json`.
    pub fn from_json(json: &str) -> Result<Self> {
        let raw: Raw = serde_json::from_str(json).map_err(|e| PiperError::Config(e.to_string()))?;
        if raw.audio.sample_rate == 0 {
            return Err(PiperError::Config("audio.sample_rate is 0".into()));
        }
        let phoneme_ids = PhonemeIdMap::new(raw.phoneme_id_map, &raw.vowel_clusters)?;
        Ok(Self {
            sample_rate: raw.audio.sample_rate,
            espeak_voice: raw.espeak.map(|e| e.voice).unwrap_or_default(),
            noise_scale: raw.inference.noise_scale,
            length_scale: raw.inference.length_scale,
            noise_w: raw.inference.noise_w,
            num_speakers: raw.num_speakers,
            speaker_id_map: raw.speaker_id_map,
            default_speaker_id: raw.default_speaker_id,
            phoneme_ids,
        })
    }

    pub fn is_multi_speaker(&self) -> bool {
        self.num_speakers > 1
    }

    /// The `sid` input for a speaker choice: `None` for single-speaker voices,
    /// which take no `sid` (only `Id(0)` is accepted for them, as a no-op).
    pub fn speaker_id(&self, speaker: Option<&Speaker>) -> Result<Option<i64>> {
        let unknown = || PiperError::UnknownSpeaker(format!("{speaker:?}"));
        if !self.is_multi_speaker() {
            return match speaker {
                None | Some(Speaker::Id(0)) => Ok(None),
                Some(_) => Err(unknown()),
            };
        }
        let id = match speaker {
            None => self.default_speaker_id,
            Some(Speaker::Id(id)) => *id,
            Some(Speaker::Name(name)) => *self
                .speaker_id_map
                .get(name)
                .ok_or_else(|| PiperError::UnknownSpeaker(name.clone()))?,
        };
        if (0..i64::from(self.num_speakers)).contains(&id) {
            Ok(Some(id))
        } else {
            Err(unknown())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTI: &str = r#"{
        "audio": {"sample_rate": 16000},
        "num_speakers": 3,
        "speaker_id_map": {"alice": 0, "bob": 2},
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], "a": [5]}
    }"#;

    const SINGLE: &str = r#"{
        "audio": {"sample_rate": 22050},
        "espeak": {"voice": "en-us"},
        "inference": {"noise_scale": 0.5, "length_scale": 1.2, "noise_w": 0.7},
        "num_speakers": 1,
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], "a": [14], "ɪ": [74], "aɪ": [161]},
        "vowel_clusters": [["a", "ɪ"]]
    }"#;

    #[test]
    fn config_fields_are_read() {
        // Written to disk and read back, as a voice's .onnx.json is.
        let name = format!("vox-piper-config-{}.onnx.json", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, SINGLE).unwrap();
        let c = VoiceConfig::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(c.sample_rate, 22050);
        assert_eq!(c.espeak_voice, "en-us");
        assert_eq!((c.noise_scale, c.length_scale, c.noise_w), (0.5, 1.2, 0.7));
        assert!(!c.is_multi_speaker());
        // The config's vowel clusters reach the id map.
        assert_eq!(c.phoneme_ids.encode("aɪ"), [1, 0, 161, 0, 2]);
    }

    #[test]
    fn multi_speaker_ids_resolve_by_name_and_id() {
        let config = VoiceConfig::from_json(MULTI).unwrap();
        assert_eq!(config.speaker_id(None).unwrap(), Some(0));
        assert_eq!(
            config
                .speaker_id(Some(&Speaker::Name("bob".into())))
                .unwrap(),
            Some(2)
        );
        assert_eq!(config.speaker_id(Some(&Speaker::Id(1))).unwrap(), Some(1));
        // Piper's defaults fill a config without `inference`.
        assert_eq!(
            (config.noise_scale, config.length_scale, config.noise_w),
            (0.667, 1.0, 0.8)
        );
    }

    #[test]
    fn unknown_speakers_are_typed_errors() {
        let config = VoiceConfig::from_json(MULTI).unwrap();
        for bad in [
            Speaker::Name("carol".into()),
            Speaker::Id(3),
            Speaker::Id(-1),
        ] {
            let err = config.speaker_id(Some(&bad)).unwrap_err();
            assert!(
                matches!(err, PiperError::UnknownSpeaker(_)),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn single_speaker_voices_take_no_sid() {
        let json = MULTI.replace(r#""num_speakers": 3"#, r#""num_speakers": 1"#);
        let config = VoiceConfig::from_json(&json).unwrap();
        assert_eq!(config.speaker_id(None).unwrap(), None);
        assert_eq!(config.speaker_id(Some(&Speaker::Id(0))).unwrap(), None);
        let err = config
            .speaker_id(Some(&Speaker::Name("alice".into())))
            .unwrap_err();
        assert!(matches!(err, PiperError::UnknownSpeaker(_)));
    }

    #[test]
    fn missing_framing_phonemes_are_rejected() {
        let json = MULTI.replace(r#""$": [2], "#, "");
        assert!(matches!(
            VoiceConfig::from_json(&json),
            Err(PiperError::Config(_))
        ));
    }
}
