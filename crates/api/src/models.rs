//! Recognition models, OpenAI model names (lenient, as speaches takes them), the `/v1/models`
//! list and its `/v1/models/{model}` entries.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode};
use crate::voices::VoiceList;

/// The asr service's `GET /models` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    pub models: Vec<Model>,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    #[serde(default)]
    pub multilingual: bool,
}

/// OpenAI transcription model names served by the default recognition model (their dated
/// snapshots too, [`is_openai_transcription_name`]).
pub const TRANSCRIPTION_ALIASES: &[&str] =
    &["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];

/// OpenAI speech model names, all served by Piper (their dated snapshots too).
pub const SPEECH_MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper"];

/// The checkpoint names a Whisper model also answers to, for messages: what
/// [`installed_model_for`] takes besides the bare id.
pub const CHECKPOINT_NAMES: &str =
    "Systran/faster-whisper-<id>, openai/whisper-<id>, ggml-<id>.bin";

/// Whether `name` is `base` or a dated snapshot of it: OpenAI's `gpt-4o-mini-tts-2025-03-20`
/// (`-YYYY-MM-DD`) and `tts-1-1106` (`-MMDD`) styles.
fn is_snapshot_of(name: &str, base: &str) -> bool {
    let Some(rest) = name.strip_prefix(base) else {
        return false;
    };
    let Some(date) = rest.strip_prefix('-') else {
        return rest.is_empty();
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = date.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(mmdd), None, None, None) => digits(mmdd, 4),
        (Some(y), Some(m), Some(d), None) => digits(y, 4) && digits(m, 2) && digits(d, 2),
        _ => false,
    }
}

/// Whether `name` is one of OpenAI's transcription models (any case), dated or not.
pub fn is_openai_transcription_name(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    TRANSCRIPTION_ALIASES
        .iter()
        .any(|alias| is_snapshot_of(&lower, alias))
}

/// The installed model a checkpoint name stands for, as clients of speaches and whisper.cpp
/// name them: a bare id in any case (`Tiny.en`), a Hugging Face repository
/// (`Systran/faster-whisper-tiny.en`, `Systran/faster-distil-whisper-small.en`,
/// `openai/whisper-base`, a `-ct2` conversion) or a whisper.cpp file (`ggml-base.en.bin`).
pub fn installed_model_for(name: &str, installed: &[&str]) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    let file = file.strip_suffix(".bin").unwrap_or(file);
    let file = file.strip_suffix("-ct2").unwrap_or(file);
    // faster-whisper's distilled checkpoints keep `distil-` in the id.
    let stripped = [
        ("faster-distil-whisper-", "distil-"),
        ("distil-whisper-", "distil-"),
        ("faster-whisper-", ""),
        ("whisper-", ""),
        ("ggml-", ""),
    ]
    .iter()
    .find_map(|(prefix, keep)| {
        file.strip_prefix(prefix)
            .map(|rest| format!("{keep}{rest}"))
    });
    [Some(lower.clone()), Some(file.to_string()), stripped]
        .into_iter()
        .flatten()
        .find_map(|candidate| {
            installed
                .iter()
                .find(|id| id.eq_ignore_ascii_case(&candidate))
                .map(|id| id.to_string())
        })
}

/// The installed model an OpenAI `model` field names when it is not an installed id itself:
/// an OpenAI transcription name means `default`, a checkpoint name its installed model;
/// `None` for anything else (which the caller answers with 404 `model_not_found`).
pub fn transcription_alias(name: &str, installed: &[&str], default: &str) -> Option<String> {
    if is_openai_transcription_name(name) {
        return Some(default.to_string());
    }
    installed_model_for(name, installed)
}

/// The model a request would use: none named means the default; `None` when the name
/// matches nothing installed.
fn resolve(requested: Option<&str>, installed: &[&str], default: Option<&str>) -> Option<String> {
    match requested.map(str::trim).filter(|m| !m.is_empty()) {
        None => default.map(str::to_string),
        Some(name) if installed.contains(&name) => Some(name.to_string()),
        Some(name) => transcription_alias(name, installed, default?),
    }
}

impl ModelList {
    fn ids(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.id.as_str()).collect()
    }

    /// The model a request would use, resolved as the asr service resolves it.
    pub fn effective<'a>(&'a self, requested: Option<&str>) -> Option<&'a Model> {
        let id = resolve(requested, &self.ids(), self.default.as_deref())?;
        self.models.iter().find(|m| m.id == id)
    }

    /// Translation needs a multilingual model: a clear 400 otherwise.
    pub fn check_translatable(&self, requested: Option<&str>) -> Result<(), ApiError> {
        match self.effective(requested) {
            Some(m) if m.multilingual => Ok(()),
            Some(m) => {
                let multilingual: Vec<&str> = self
                    .models
                    .iter()
                    .filter(|m| m.multilingual)
                    .map(|m| m.id.as_str())
                    .collect();
                let hint = if multilingual.is_empty() {
                    "no multilingual model is installed".to_string()
                } else {
                    format!("installed multilingual models: {}", multilingual.join(", "))
                };
                Err(ApiError::invalid_param(
                    "model",
                    format!(
                        "model `{}` is English-only and cannot translate; {hint}",
                        m.id
                    ),
                ))
            }
            None => Err(self.not_found(requested.unwrap_or("(default)"))),
        }
    }

    /// 404 `model_not_found` for `name`, listing what is installed and what else is accepted.
    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::new(
            ErrorCode::ModelNotFound,
            format!(
                "no model `{name}` is installed; installed: {}; also accepted: {}, {CHECKPOINT_NAMES}",
                self.ids().join(", "),
                TRANSCRIPTION_ALIASES.join(", ")
            ),
        )
        .with_param("model")
    }
}

/// Whether `model` names an OpenAI speech model (any case), dated or not.
pub fn is_speech_model(model: &str) -> bool {
    let lower = model.trim().to_ascii_lowercase();
    SPEECH_MODELS.iter().any(|m| is_snapshot_of(&lower, m))
}

/// Validates an OpenAI speech `model`: an unknown one is 404 `model_not_found`, as OpenAI
/// answers it, listing the names accepted.
pub fn check_speech_model(model: &str) -> Result<(), ApiError> {
    if is_speech_model(model) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::ModelNotFound,
            format!(
                "no speech model `{model}`; accepted: {} (and their dated snapshots)",
                SPEECH_MODELS.join(", ")
            ),
        )
        .with_param("model"))
    }
}

/// An OpenAI model object.
fn entry(id: &str, owned_by: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owned_by})
}

/// OpenAI's `GET /v1/models` list: aliases, installed recognition models and speech models.
pub fn openai_list(asr: &ModelList, tts: &VoiceList) -> Value {
    let mut data: Vec<Value> = TRANSCRIPTION_ALIASES
        .iter()
        .map(|id| entry(id, "vox"))
        .collect();
    data.extend(asr.models.iter().map(|m| entry(&m.id, "vox-whisper")));
    if !tts.voices.is_empty() {
        data.extend(SPEECH_MODELS.iter().map(|id| entry(id, "vox-piper")));
    }
    json!({"object": "list", "data": data})
}

/// OpenAI's `GET /v1/models/{model}`: the model object for any name a request may use (a listed
/// id, a dated OpenAI name, a checkpoint name of an installed model), under the name asked
/// for; else 404 `model_not_found` listing what is installed.
pub fn openai_model(asr: &ModelList, tts: &VoiceList, id: &str) -> Result<Value, ApiError> {
    let listed = openai_list(asr, tts);
    if let Some(found) = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == id)
    {
        return Ok(found.clone());
    }
    if is_openai_transcription_name(id) && asr.effective(None).is_some() {
        return Ok(entry(id, "vox"));
    }
    if installed_model_for(id, &asr.ids()).is_some() {
        return Ok(entry(id, "vox-whisper"));
    }
    if is_speech_model(id) && !tts.voices.is_empty() {
        return Ok(entry(id, "vox-piper"));
    }
    let mut e = asr.not_found(id);
    if !tts.voices.is_empty() {
        e.message
            .push_str(&format!("; speech models: {}", SPEECH_MODELS.join(", ")));
    }
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> ModelList {
        serde_json::from_str(
            r#"{"models":[{"id":"tiny.en","multilingual":false},{"id":"base","multilingual":true}],"default":"tiny.en"}"#,
        )
        .unwrap()
    }

    fn voices() -> VoiceList {
        serde_json::from_str(r#"{"voices":[{"id":"v"}],"default":"v"}"#).unwrap()
    }

    #[test]
    fn openai_names_and_snapshots_mean_the_default() {
        let installed = ["tiny.en", "base"];
        for name in [
            "whisper-1",
            "Whisper-1",
            "gpt-4o-transcribe",
            "gpt-4o-mini-transcribe-2025-12-15",
            "gpt-4o-transcribe-2025-03-20",
        ] {
            assert_eq!(
                transcription_alias(name, &installed, "tiny.en").as_deref(),
                Some("tiny.en"),
                "{name}"
            );
        }
        for name in [
            "gpt-4o-transcribe-2025-03",
            "gpt-4o-transcribe-latest",
            "whisper-2",
        ] {
            assert_eq!(
                transcription_alias(name, &installed, "tiny.en"),
                None,
                "{name}"
            );
        }
    }

    #[test]
    fn checkpoint_names_map_to_installed_models() {
        let installed = ["tiny.en", "base", "distil-small.en"];
        for (name, id) in [
            ("Systran/faster-whisper-tiny.en", "tiny.en"),
            ("systran/faster-whisper-base", "base"),
            ("faster-whisper-base", "base"),
            ("openai/whisper-tiny.en", "tiny.en"),
            ("TINY.EN", "tiny.en"),
            ("ggml-base.bin", "base"),
            ("deepdml/faster-whisper-base-ct2", "base"),
            ("Systran/faster-distil-whisper-small.en", "distil-small.en"),
        ] {
            assert_eq!(
                installed_model_for(name, &installed).as_deref(),
                Some(id),
                "{name}"
            );
        }
        for name in [
            "Systran/faster-whisper-large-v3",
            "base.en",
            "tiny",
            "whisper",
        ] {
            assert_eq!(installed_model_for(name, &installed), None, "{name}");
        }
    }

    #[test]
    fn speech_models() {
        for ok in [
            "tts-1",
            "tts-1-hd",
            "TTS-1-HD-1106",
            "gpt-4o-mini-tts-2025-03-20",
        ] {
            assert!(check_speech_model(ok).is_ok(), "{ok}");
        }
        let e = check_speech_model("eleven").unwrap_err();
        assert_eq!((e.status, e.code), (404, ErrorCode::ModelNotFound));
        assert!(e.message.contains("tts-1"), "{}", e.message);
        assert!(check_speech_model("tts-2").is_err());
    }

    #[test]
    fn translation_needs_multilingual() {
        let m = models();
        let e = m.check_translatable(None).unwrap_err();
        assert!(
            e.message.contains("English-only") && e.message.contains("base"),
            "{}",
            e.message
        );
        assert!(m.check_translatable(Some("base")).is_ok());
        assert!(
            m.check_translatable(Some("Systran/faster-whisper-base"))
                .is_ok()
        );
        // An OpenAI alias means the default model, as the asr service resolves it.
        assert!(
            m.check_translatable(Some("whisper-1"))
                .unwrap_err()
                .message
                .contains("English-only")
        );
        let e = m.check_translatable(Some("large")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ModelNotFound);
        assert!(
            e.message.contains("installed: tiny.en, base"),
            "{}",
            e.message
        );
    }

    #[test]
    fn list_shape() {
        let l = openai_list(&models(), &voices());
        assert_eq!(l["object"], "list");
        let ids: Vec<&str> = l["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        for id in [
            "whisper-1",
            "tiny.en",
            "base",
            "tts-1",
            "tts-1-hd",
            "gpt-4o-mini-tts",
        ] {
            assert!(ids.contains(&id), "{id}");
        }
    }

    #[test]
    fn one_model() {
        let (asr, tts) = (models(), voices());
        for (id, owner) in [
            ("base", "vox-whisper"),
            ("whisper-1", "vox"),
            ("gpt-4o-transcribe-2025-03-20", "vox"),
            ("Systran/faster-whisper-tiny.en", "vox-whisper"),
            ("tts-1-hd", "vox-piper"),
        ] {
            let m = openai_model(&asr, &tts, id).unwrap();
            assert_eq!(
                (
                    m["id"].as_str(),
                    m["object"].as_str(),
                    m["owned_by"].as_str()
                ),
                (Some(id), Some("model"), Some(owner))
            );
        }
        let e = openai_model(&asr, &tts, "large-v3").unwrap_err();
        assert_eq!((e.status, e.code), (404, ErrorCode::ModelNotFound));
        assert!(
            e.message.contains("tiny.en, base") && e.message.contains("tts-1"),
            "{}",
            e.message
        );
        let no_voices = VoiceList {
            voices: Vec::new(),
            default: None,
        };
        assert!(openai_model(&asr, &no_voices, "tts-1").is_err());
    }
}
