//! The installed Piper voices (`/models/voices/<id>.onnx` + `.onnx.json`), each loaded with the
//! espeak-ng phonemizer its config names: a [`vox_catalog::Kind`], so this instance's catalogue
//! loads each voice once and also takes OpenAI's voice names.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use vox_api::voices::{self, Voice as VoiceInfo, VoiceList};
use vox_api::{ApiError, ErrorCode};
use vox_catalog::{Catalog, Kind};
use vox_phonemizer::Phonemizer;
use vox_piper::{Inference, Voice, VoiceConfig, VoiceOptions};

const VOICES_DIR: &str = "/models/voices";
/// espeak-ng's data, mounted read-only (espeak opens its files by path).
const ESPEAK_DATA: &str = "/espeak-ng-data";
const FALLBACK_DEFAULT: &str = "en_US-joe-medium";

/// Where this build runs its voices (the `wasi-nn` build: on the host, through `wasi:nn`).
#[cfg(not(feature = "wasi-nn"))]
pub const INFERENCE: Inference = Inference::InProcess;
#[cfg(feature = "wasi-nn")]
pub const INFERENCE: Inference = Inference::WasiNn;

/// A voice ready to speak: the VITS model and the phonemizer for its language.
pub struct LoadedVoice {
    pub voice: Voice,
    pub phonemizer: Phonemizer,
}

/// Piper voices as catalogue entries.
struct Voices;

impl Kind for Voices {
    type Info = VoiceInfo;
    type Entry = LoadedVoice;
    type Options = VoiceOptions;

    const NOUN: &'static str = "voice";
    const NOT_FOUND: ErrorCode = ErrorCode::VoiceNotFound;

    fn id_of(file_name: &str) -> Option<&str> {
        file_name.strip_suffix(".onnx")
    }

    fn path(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.onnx"))
    }

    fn is_complete(onnx: &Path) -> bool {
        onnx.is_file() && VoiceConfig::path_for(onnx).is_file()
    }

    fn id(info: &VoiceInfo) -> &str {
        &info.id
    }

    /// From the config alone (no model load).
    fn describe(&self, id: &str, onnx: &Path) -> Option<VoiceInfo> {
        let config_json = std::fs::read_to_string(VoiceConfig::path_for(onnx)).ok()?;
        let raw: serde_json::Value = serde_json::from_str(&config_json).unwrap_or_default();
        let config = VoiceConfig::from_json(&config_json).ok();
        let speakers = config
            .as_ref()
            .map(|c| {
                c.speaker_id_map
                    .iter()
                    .map(|(name, id)| serde_json::json!({"name": name, "id": id}))
                    .collect()
            })
            .unwrap_or_default();
        Some(VoiceInfo {
            id: id.to_string(),
            language: raw["language"]["code"].as_str().map(str::to_string),
            sample_rate: config.as_ref().map(|c| c.sample_rate),
            num_speakers: config.as_ref().map(|c| c.num_speakers),
            speakers,
        })
    }

    fn load(&self, onnx: &Path, options: VoiceOptions) -> Result<LoadedVoice, ApiError> {
        let options = VoiceOptions {
            inference: INFERENCE,
            ..options
        };
        let voice = Voice::load(onnx, options)?;
        let phonemizer = Phonemizer::new(ESPEAK_DATA, &voice.config().espeak_voice)?;
        Ok(LoadedVoice { voice, phonemizer })
    }

    fn alias(
        &self,
        name: &str,
        installed: Vec<VoiceInfo>,
        default: &str,
    ) -> Option<Result<String, ApiError>> {
        let list = VoiceList {
            voices: installed,
            default: Some(default.to_string()),
        };
        list.resolve_openai(name)
    }

    fn alias_names(&self) -> Vec<&'static str> {
        voices::openai_voice_names()
    }
}

thread_local! {
    // An instance serves many requests: each voice is loaded (and its plans built) once.
    static CATALOG: Catalog<Voices> = Catalog::new(VOICES_DIR, Voices);
}

/// The voice used when a request names none: the `default_voice` Spin variable.
pub async fn default_voice() -> String {
    spin_sdk::variables::get("default_voice")
        .await
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_DEFAULT.to_string())
}

/// Whether voice `id`'s model and config are both present.
pub fn is_installed(id: &str) -> bool {
    CATALOG.with(|c| c.is_installed(id))
}

pub async fn list() -> Result<serde_json::Value, ApiError> {
    let list = VoiceList {
        voices: CATALOG.with(Catalog::installed),
        default: Some(default_voice().await),
    };
    serde_json::to_value(list).map_err(|e| ApiError::internal(e.to_string()))
}

/// The voices this instance has in memory (a pre-initialised instance starts with one).
pub fn loaded() -> Vec<String> {
    CATALOG.with(Catalog::loaded)
}

/// The voice a request names (an installed id or an OpenAI voice name), or the default one,
/// loaded on first use; its plans are built as requests need them.
pub async fn for_request(requested: Option<&str>) -> Result<Rc<LoadedVoice>, ApiError> {
    let default = default_voice().await;
    CATALOG.with(|c| c.get(&c.resolve(requested, &default)?))
}

/// Loads voice `id` with the plans for every bucket built now (pre-initialisation).
pub fn preload(id: &str) -> Result<(), ApiError> {
    CATALOG.with(|c| match c.cached(id) {
        Some(loaded) => loaded
            .voice
            .warm_up()
            .map_err(|e| Catalog::<Voices>::loading_failed(id, e)),
        None => {
            let options = VoiceOptions {
                warm_up: true,
                ..VoiceOptions::default()
            };
            c.load(id, options).map(drop)
        }
    })
}
