//! The installed Piper voices (`/models/voices/<id>.onnx` + `.onnx.json`) and the ones loaded
//! in this instance, each with the espeak-ng phonemizer its config names.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use vox_api::voices::{Voice as VoiceInfo, VoiceList};
use vox_api::{ApiError, ErrorCode};
use vox_phonemizer::Phonemizer;
use vox_piper::{Voice, VoiceConfig, VoiceOptions};

const VOICES_DIR: &str = "/models/voices";
/// espeak-ng's data, mounted read-only (espeak opens its files by path).
const ESPEAK_DATA: &str = "/espeak-ng-data";
const FALLBACK_DEFAULT: &str = "en_US-joe-medium";

/// A voice ready to speak: the VITS model and the phonemizer for its language.
pub struct LoadedVoice {
    pub voice: Voice,
    pub phonemizer: Phonemizer,
}

thread_local! {
    // An instance serves many requests: each voice is loaded (and its plans built) once.
    static LOADED: RefCell<HashMap<String, Rc<LoadedVoice>>> = RefCell::new(HashMap::new());
}

/// The voice used when a request names none: the `default_voice` Spin variable.
pub async fn default_voice() -> String {
    spin_sdk::variables::get("default_voice")
        .await
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_DEFAULT.to_string())
}

/// Voices whose model and config are both present.
pub fn installed() -> Vec<VoiceInfo> {
    let Ok(entries) = std::fs::read_dir(VOICES_DIR) else {
        return Vec::new();
    };
    let mut voices: Vec<VoiceInfo> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_suffix(".onnx")?.to_string();
            let config = std::fs::read_to_string(config_path(&e.path())).ok()?;
            Some(describe(id, &config))
        })
        .collect();
    voices.sort_by(|a, b| a.id.cmp(&b.id));
    voices
}

pub async fn list() -> Result<serde_json::Value, ApiError> {
    let list = VoiceList {
        voices: installed(),
        default: Some(default_voice().await),
    };
    serde_json::to_value(list).map_err(|e| ApiError::internal(e.to_string()))
}

/// The voices this instance has in memory (a pre-initialised instance starts with one).
pub fn loaded() -> Vec<String> {
    let mut ids: Vec<String> = LOADED.with(|v| v.borrow().keys().cloned().collect());
    ids.sort();
    ids
}

/// The loaded voice `id`, loading it on first use; its plans are built as requests need them.
pub fn get(id: &str) -> Result<Rc<LoadedVoice>, ApiError> {
    match LOADED.with(|v| v.borrow().get(id).cloned()) {
        Some(voice) => Ok(voice),
        None => load(id, VoiceOptions::default()),
    }
}

/// Loads voice `id` with the plans for every bucket built now (pre-initialisation).
pub fn preload(id: &str) -> Result<(), ApiError> {
    match LOADED.with(|v| v.borrow().get(id).cloned()) {
        Some(voice) => voice
            .voice
            .warm_up()
            .map_err(|e| ApiError::internal(format!("voice `{id}`: {e}"))),
        None => load(
            id,
            VoiceOptions {
                warm_up: true,
                ..VoiceOptions::default()
            },
        )
        .map(drop),
    }
}

fn load(id: &str, options: VoiceOptions) -> Result<Rc<LoadedVoice>, ApiError> {
    let onnx = voice_path(id)?;
    let voice = Voice::load(&onnx, options)
        .map_err(|e| ApiError::internal(format!("loading voice `{id}`: {e}")))?;
    let phonemizer = Phonemizer::new(ESPEAK_DATA, &voice.config().espeak_voice)
        .map_err(|e| ApiError::internal(format!("phonemizer for voice `{id}`: {e}")))?;
    let loaded = Rc::new(LoadedVoice { voice, phonemizer });
    LOADED.with(|v| v.borrow_mut().insert(id.to_string(), loaded.clone()));
    Ok(loaded)
}

fn voice_path(id: &str) -> Result<PathBuf, ApiError> {
    let valid = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']);
    let onnx = Path::new(VOICES_DIR).join(format!("{id}.onnx"));
    if !valid || !onnx.is_file() || !config_path(&onnx).is_file() {
        let names: Vec<String> = installed().into_iter().map(|v| v.id).collect();
        return Err(ApiError::new(
            ErrorCode::VoiceNotFound,
            format!(
                "no voice `{id}` is installed; installed: {}",
                names.join(", ")
            ),
        )
        .with_param("voice"));
    }
    Ok(onnx)
}

fn config_path(onnx: &Path) -> PathBuf {
    let mut path = onnx.as_os_str().to_owned();
    path.push(".json");
    PathBuf::from(path)
}

/// What `/voices` says of a voice, from its config alone (no model load).
fn describe(id: String, config_json: &str) -> VoiceInfo {
    let raw: serde_json::Value = serde_json::from_str(config_json).unwrap_or_default();
    let config = VoiceConfig::from_json(config_json).ok();
    let speakers = config
        .as_ref()
        .map(|c| {
            c.speaker_id_map
                .iter()
                .map(|(name, id)| serde_json::json!({"name": name, "id": id}))
                .collect()
        })
        .unwrap_or_default();
    VoiceInfo {
        id,
        language: raw["language"]["code"].as_str().map(str::to_string),
        sample_rate: config.as_ref().map(|c| c.sample_rate),
        num_speakers: config.as_ref().map(|c| c.num_speakers),
        speakers,
    }
}
