//! Recognition models, OpenAI model aliases and the `/v1/models` list.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
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

/// OpenAI transcription model names served by the default recognition model.
pub const TRANSCRIPTION_ALIASES: &[&str] =
    &["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];

/// OpenAI speech model names, all served by Piper.
pub const SPEECH_MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper"];

/// The asr model for an OpenAI `model` field: aliases mean the service default (`None`),
/// anything else names an installed model and passes through. The asr service's model
/// catalogue takes the aliases itself; this is for checks the gateway makes on its side.
pub fn transcription_model(requested: Option<&str>) -> Option<String> {
    let requested = requested.map(str::trim).filter(|m| !m.is_empty())?;
    (!TRANSCRIPTION_ALIASES.contains(&requested)).then(|| requested.to_string())
}

impl ModelList {
    /// The id of the model a request would use: an alias or no name means the default.
    fn effective_id(&self, requested: Option<&str>) -> Option<String> {
        transcription_model(requested).or_else(|| self.default.clone())
    }

    /// The model a request would use.
    pub fn effective<'a>(&'a self, requested: Option<&str>) -> Option<&'a Model> {
        let id = self.effective_id(requested)?;
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
            None => Err(ApiError::invalid_param(
                "model",
                format!(
                    "model `{}` is not installed",
                    self.effective_id(requested)
                        .as_deref()
                        .unwrap_or("(default)")
                ),
            )),
        }
    }
}

/// Validates an OpenAI speech `model`.
pub fn check_speech_model(model: &str) -> Result<(), ApiError> {
    if SPEECH_MODELS.contains(&model) {
        Ok(())
    } else {
        Err(ApiError::invalid_param(
            "model",
            format!(
                "unsupported speech model `{model}`; supported: {}",
                SPEECH_MODELS.join(", ")
            ),
        ))
    }
}

/// OpenAI's `GET /v1/models` list: aliases, installed recognition models and speech models.
pub fn openai_list(asr: &ModelList, tts: &VoiceList) -> Value {
    let entry = |id: &str, owned_by: &str| json!({"id": id, "object": "model", "created": 0, "owned_by": owned_by});
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

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> ModelList {
        serde_json::from_str(
            r#"{"models":[{"id":"tiny.en","multilingual":false},{"id":"base","multilingual":true}],"default":"tiny.en"}"#,
        )
        .unwrap()
    }

    #[test]
    fn aliases() {
        assert_eq!(transcription_model(Some("whisper-1")), None);
        assert_eq!(transcription_model(Some("base")), Some("base".into()));
        assert_eq!(transcription_model(None), None);
        assert!(check_speech_model("tts-1-hd").is_ok());
        assert!(
            check_speech_model("eleven")
                .unwrap_err()
                .message
                .contains("tts-1")
        );
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
        // An OpenAI alias means the default model, as the asr service resolves it.
        assert!(
            m.check_translatable(Some("whisper-1"))
                .unwrap_err()
                .message
                .contains("English-only")
        );
        assert!(
            m.check_translatable(Some("large"))
                .unwrap_err()
                .message
                .contains("not installed")
        );
    }

    #[test]
    fn list_shape() {
        let tts: VoiceList =
            serde_json::from_str(r#"{"voices":[{"id":"v"}],"default":"v"}"#).unwrap();
        let l = openai_list(&models(), &tts);
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
}
