//! Query-string parsing and the asr `/transcribe` options built from it.

use crate::error::ApiError;
use crate::percent;
use crate::transcript::{Task, WHISPER_LANGUAGES};

/// A decoded query string, pairs in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Decodes `application/x-www-form-urlencoded` pairs: `+` is a space, invalid escapes stay
    /// literal, invalid UTF-8 becomes U+FFFD.
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        Self(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `true|false|1|0`, absent → `None`.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        self.get(key).map(|v| parse_bool(key, v)).transpose()
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key).map(|v| parse_number(key, v)).transpose()
    }

    /// Re-encodes the pairs (`k=v&…`).
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{}={}", percent::encode(k), percent::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

pub fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::invalid_param(
            key,
            format!("`{key}` must be true or false, got `{value}`"),
        )),
    }
}

pub fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.trim().parse().map_err(|_| {
        ApiError::invalid_param(key, format!("`{key}` must be a number, got `{value}`"))
    })
}

/// The options of asr `POST /transcribe`, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AsrOptions {
    pub model: Option<String>,
    pub language: Option<String>,
    pub task: Option<Task>,
    pub beam_size: Option<u32>,
    pub temperature: Option<f32>,
    pub word_timestamps: Option<bool>,
    pub vad_filter: Option<bool>,
    pub initial_prompt: Option<String>,
    /// Words to prime every window with, as faster-whisper's `hotwords`.
    pub hotwords: Option<String>,
    pub condition_on_previous_text: Option<bool>,
}

impl AsrOptions {
    pub const KEYS: &'static [&'static str] = &[
        "model",
        "language",
        "task",
        "beam_size",
        "temperature",
        "word_timestamps",
        "vad_filter",
        "initial_prompt",
        "hotwords",
        "condition_on_previous_text",
    ];

    /// Reads the native query; keys other than [`Self::KEYS`] and `extra_keys` are rejected so
    /// typos are not silently ignored.
    pub fn from_query(q: &Query, extra_keys: &[&str]) -> Result<Self, ApiError> {
        let known = |k: &str| Self::KEYS.contains(&k) || extra_keys.contains(&k);
        if let Some((k, _)) = q.0.iter().find(|(k, _)| !known(k)) {
            let all: Vec<&str> = Self::KEYS.iter().chain(extra_keys).copied().collect();
            return Err(ApiError::invalid_param(
                k,
                format!("unknown query parameter `{k}`; known: {}", all.join(", ")),
            ));
        }
        let task = match q.get("task") {
            None => None,
            Some("transcribe") => Some(Task::Transcribe),
            Some("translate") => Some(Task::Translate),
            Some(other) => {
                return Err(ApiError::invalid_param(
                    "task",
                    format!("`task` must be transcribe or translate, got `{other}`"),
                ));
            }
        };
        let opts = Self {
            model: non_empty(q.get("model")),
            language: parse_language(q.get("language"))?,
            task,
            beam_size: q.number("beam_size")?,
            temperature: q.number("temperature")?,
            word_timestamps: q.bool("word_timestamps")?,
            vad_filter: q.bool("vad_filter")?,
            initial_prompt: non_empty(q.get("initial_prompt")),
            hotwords: non_empty(q.get("hotwords")),
            condition_on_previous_text: q.bool("condition_on_previous_text")?,
        };
        opts.validate()?;
        Ok(opts)
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(b) = self.beam_size
            && !(1..=16).contains(&b)
        {
            return Err(ApiError::invalid_param(
                "beam_size",
                "`beam_size` must be between 1 and 16",
            ));
        }
        if let Some(t) = self.temperature
            && !(0.0..=1.0).contains(&t)
        {
            return Err(ApiError::invalid_param(
                "temperature",
                "`temperature` must be between 0 and 1",
            ));
        }
        Ok(())
    }

    /// The query string for asr `/transcribe`.
    pub fn to_query(&self) -> String {
        let mut q = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v));
            }
        };
        push("model", self.model.clone());
        push("language", self.language.clone());
        push("task", self.task.map(|t| t.as_str().to_string()));
        push("beam_size", self.beam_size.map(|v| v.to_string()));
        push("temperature", self.temperature.map(|v| v.to_string()));
        push(
            "word_timestamps",
            self.word_timestamps.map(|v| v.to_string()),
        );
        push("vad_filter", self.vad_filter.map(|v| v.to_string()));
        push("initial_prompt", self.initial_prompt.clone());
        push("hotwords", self.hotwords.clone());
        push(
            "condition_on_previous_text",
            self.condition_on_previous_text.map(|v| v.to_string()),
        );
        Query(q).encode()
    }
}

/// A `language` value: a Whisper language code (ISO 639-1, any case), lowercased; empty means
/// none (detect it).
pub fn parse_language(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(code) = non_empty(value).map(|c| c.to_ascii_lowercase()) else {
        return Ok(None);
    };
    if WHISPER_LANGUAGES.iter().any(|(c, _)| *c == code) {
        return Ok(Some(code));
    }
    Err(ApiError::invalid_param(
        "language",
        format!(
            "`language` must be a language code Whisper knows (ISO 639-1, such as en, de, fr), got `{code}`"
        ),
    ))
}

pub fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reencodes() {
        let q = Query::parse(Some(
            "model=tiny.en&language=EN&word_timestamps=true&initial_prompt=Hello+w%C3%B6rld&beam_size=5&hotwords=Vox",
        ));
        let o = AsrOptions::from_query(&q, &[]).unwrap();
        assert_eq!(o.initial_prompt.as_deref(), Some("Hello wörld"));
        assert_eq!(o.word_timestamps, Some(true));
        assert_eq!(
            o.to_query(),
            "model=tiny.en&language=en&beam_size=5&word_timestamps=true&initial_prompt=Hello%20w%C3%B6rld&hotwords=Vox"
        );
        assert_eq!(AsrOptions::default().to_query(), "");
    }

    #[test]
    fn decoding() {
        let q = Query::parse(Some("a=a+b%20c%2&&b&c=%zz%41&d=%FF"));
        assert_eq!(
            q.0,
            [
                ("a".into(), "a b c%2".into()),
                ("b".into(), String::new()),
                ("c".into(), "%zzA".into()),
                ("d".into(), "\u{FFFD}".into()),
            ]
        );
    }

    #[test]
    fn extra_keys() {
        let q = Query::parse(Some("voice=v&language=de"));
        assert_eq!(
            AsrOptions::from_query(&q, &["voice"])
                .unwrap()
                .language
                .as_deref(),
            Some("de")
        );
    }

    #[test]
    fn rejects_bad_values() {
        for (query, param) in [
            ("beam_size=0", "beam_size"),
            ("beam_size=x", "beam_size"),
            ("temperature=2", "temperature"),
            ("vad_filter=yes", "vad_filter"),
            ("task=summarize", "task"),
            ("language=english", "language"),
            ("modle=tiny", "modle"),
            ("voice=x", "voice"),
        ] {
            let e = AsrOptions::from_query(&Query::parse(Some(query)), &[]).unwrap_err();
            assert_eq!(
                (e.status, e.param.as_deref()),
                (400, Some(param)),
                "{query}"
            );
        }
    }
}
