//! Installed Piper voices and OpenAI voice names mapped onto them.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// The tts service's `GET /voices` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceList {
    pub voices: Vec<Voice>,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    pub id: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub sample_rate: Option<u32>,
    #[serde(default)]
    pub num_speakers: Option<u32>,
    #[serde(default)]
    pub speakers: Vec<serde_json::Value>,
}

/// OpenAI's voices, each with the Piper voices that suit it best, in order of preference.
pub const OPENAI_VOICES: &[(&str, &[&str])] = &[
    ("alloy", &["en_US-lessac-medium", "en_US-amy-medium"]),
    ("ash", &["en_US-ryan-medium", "en_US-joe-medium"]),
    (
        "ballad",
        &["en_GB-alan-medium", "en_GB-northern_english_male-medium"],
    ),
    ("coral", &["en_US-amy-medium", "en_US-kristin-medium"]),
    ("echo", &["en_US-joe-medium", "en_US-john-medium"]),
    ("fable", &["en_GB-jenny_dioco-medium", "en_GB-alba-medium"]),
    ("onyx", &["en_US-ryan-high", "en_US-ryan-medium"]),
    ("nova", &["en_US-kristin-medium", "en_US-hfc_female-medium"]),
    (
        "sage",
        &["en_US-hfc_female-medium", "en_US-libritts_r-medium"],
    ),
    ("shimmer", &["en_US-libritts_r-medium", "en_US-lessac-high"]),
    ("verse", &["en_US-john-medium", "en_US-hfc_male-medium"]),
    // The gpt-realtime voices, also offered by gpt-4o-mini-tts.
    ("marin", &["en_US-hfc_female-medium", "en_US-amy-medium"]),
    ("cedar", &["en_US-hfc_male-medium", "en_US-ryan-medium"]),
];

impl VoiceList {
    pub fn contains(&self, id: &str) -> bool {
        self.voices.iter().any(|v| v.id == id)
    }

    pub fn get(&self, id: &str) -> Option<&Voice> {
        self.voices.iter().find(|v| v.id == id)
    }

    /// The voice used when none is named: the service's default, else the first installed.
    pub fn default_voice(&self) -> Option<&str> {
        self.default
            .as_deref()
            .filter(|d| self.contains(d))
            .or(self.voices.first().map(|v| v.id.as_str()))
    }

    /// Maps an OpenAI voice name (any case) onto an installed voice: its first installed
    /// preference, else an English voice chosen by the name's position (so different names
    /// sound different when several are installed), else the default. `None` if `requested`
    /// is not an OpenAI name. The tts service's voice catalogue resolves these itself.
    pub fn resolve_openai(&self, requested: &str) -> Option<Result<String, ApiError>> {
        let lower = requested.to_ascii_lowercase();
        let index = OPENAI_VOICES.iter().position(|(name, _)| *name == lower)?;
        if let Some(id) = OPENAI_VOICES[index].1.iter().find(|id| self.contains(id)) {
            return Some(Ok(id.to_string()));
        }
        let english: Vec<&str> = self
            .voices
            .iter()
            .filter(|v| v.language.as_deref().unwrap_or(&v.id).starts_with("en"))
            .map(|v| v.id.as_str())
            .collect();
        if !english.is_empty() {
            return Some(Ok(english[index % english.len()].to_string()));
        }
        Some(
            self.default_voice()
                .map(str::to_string)
                .ok_or_else(|| ApiError::new(ErrorCode::NoVoices, "no voices are installed")),
        )
    }
}

/// The names [`VoiceList::resolve_openai`] takes.
pub fn openai_voice_names() -> Vec<&'static str> {
    OPENAI_VOICES.iter().map(|(name, _)| *name).collect()
}

/// OpenAI's speech route answers a voice nobody knows with 400 `invalid_parameter`, where the
/// tts service (and the native route) says 404 `voice_not_found`; the message is kept.
pub fn openai_unknown_voice(e: ApiError) -> ApiError {
    if e.code == ErrorCode::VoiceNotFound {
        ApiError::invalid_param("voice", e.message)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[&str]) -> VoiceList {
        VoiceList {
            voices: ids
                .iter()
                .map(|id| Voice {
                    id: id.to_string(),
                    language: Some(id.split('-').next().unwrap().to_string()),
                    sample_rate: Some(22050),
                    num_speakers: Some(1),
                    speakers: vec![],
                })
                .collect(),
            default: ids.first().map(|s| s.to_string()),
        }
    }

    #[test]
    fn every_openai_voice_resolves() {
        let one = list(&["en_US-joe-medium"]);
        for (name, _) in OPENAI_VOICES {
            let resolve = |name: &str| one.resolve_openai(name).unwrap().unwrap();
            assert_eq!(resolve(name), "en_US-joe-medium", "{name}");
            assert_eq!(resolve(&name.to_uppercase()), "en_US-joe-medium");
        }
    }

    #[test]
    fn preferences_and_unknown_names() {
        let many = list(&[
            "de_DE-thorsten-medium",
            "en_US-amy-medium",
            "en_US-joe-medium",
        ]);
        let resolve = |name: &str| many.resolve_openai(name).unwrap().unwrap();
        assert_eq!(resolve("coral"), "en_US-amy-medium");
        assert_eq!(resolve("echo"), "en_US-joe-medium");
        assert_eq!(resolve("marin"), "en_US-amy-medium");
        let cedar = resolve("Cedar");
        assert!(cedar.starts_with("en_"), "{cedar}");
        // Installed ids are not aliases: the tts catalogue passes them through before asking.
        assert!(many.resolve_openai("de_DE-thorsten-medium").is_none());
        // No preference installed: English voices by position, never the German one.
        let fable = resolve("fable");
        assert!(fable.starts_with("en_"), "{fable}");
        // Neither an id nor an alias: the tts catalogue's 404, a 400 on OpenAI's route.
        assert!(many.resolve_openai("nobody").is_none());
        let not_found = ApiError::new(
            ErrorCode::VoiceNotFound,
            "no voice `nobody` is installed; installed: de_DE-thorsten-medium, en_US-amy-medium",
        );
        let e = openai_unknown_voice(not_found);
        assert_eq!((e.status, e.param.as_deref()), (400, Some("voice")));
        assert_eq!(e.code, ErrorCode::InvalidParameter);
        assert!(e.message.contains("en_US-amy-medium"));
        let other = openai_unknown_voice(ApiError::internal("x"));
        assert_eq!(other.code, ErrorCode::InternalError);
    }

    #[test]
    fn non_english_only() {
        let de = list(&["de_DE-thorsten-medium"]);
        assert_eq!(
            de.resolve_openai("alloy").unwrap().unwrap(),
            "de_DE-thorsten-medium"
        );
        let none = list(&[]).resolve_openai("alloy").unwrap().unwrap_err();
        assert_eq!(none.status, 503);
    }

    #[test]
    fn parses_service_answer() {
        let v: VoiceList = serde_json::from_str(
            r#"{"voices":[{"id":"en_US-joe-medium","language":"en_US","sample_rate":22050,"num_speakers":1,"speakers":[]}],"default":"en_US-joe-medium"}"#,
        )
        .unwrap();
        assert_eq!(v.default_voice(), Some("en_US-joe-medium"));
        assert_eq!(v.get("en_US-joe-medium").unwrap().sample_rate, Some(22050));
    }
}
