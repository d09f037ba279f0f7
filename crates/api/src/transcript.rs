//! The asr service's transcript and its OpenAI renderings: json, text, srt, vtt, verbose_json.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;

/// The asr service's `POST /transcribe` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
    /// How sure language detection was; only when the language was detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_probability: Option<f64>,
    #[serde(default)]
    pub duration: f64,
    #[serde(default)]
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// From 1, as faster-whisper numbers them (OpenAI's renderings count from 0).
    #[serde(default)]
    pub id: u32,
    pub start: f64,
    pub end: f64,
    pub text: String,
    #[serde(default)]
    pub avg_logprob: f64,
    #[serde(default)]
    pub no_speech_prob: f64,
    /// Decoder details the asr service may add; zero or empty when it does not.
    #[serde(default)]
    pub seek: Option<u64>,
    #[serde(default)]
    pub tokens: Option<Vec<u32>>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub compression_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<Word>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    pub word: String,
    #[serde(default)]
    pub probability: f64,
}

/// OpenAI's `response_format` for transcriptions and translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

impl ResponseFormat {
    pub const NAMES: &'static str = "json, text, srt, vtt, verbose_json";

    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        Ok(match value.unwrap_or("json") {
            "json" => Self::Json,
            "text" => Self::Text,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            "verbose_json" => Self::VerboseJson,
            other => {
                return Err(ApiError::invalid_param(
                    "response_format",
                    format!(
                        "unsupported response_format `{other}`; supported: {}",
                        Self::NAMES
                    ),
                ));
            }
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json | Self::VerboseJson => "application/json",
            Self::Text => "text/plain; charset=utf-8",
            Self::Srt => "application/x-subrip; charset=utf-8",
            Self::Vtt => "text/vtt; charset=utf-8",
        }
    }
}

/// Which timestamps a verbose transcript carries (`timestamp_granularities[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granularities {
    pub segment: bool,
    pub word: bool,
}

impl Default for Granularities {
    fn default() -> Self {
        Self {
            segment: true,
            word: false,
        }
    }
}

impl Granularities {
    /// Parses the repeated field; none given means segments only, like OpenAI.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, ApiError> {
        let mut g = Self {
            segment: false,
            word: false,
        };
        let mut any = false;
        for v in values {
            any = true;
            match v {
                "segment" => g.segment = true,
                "word" => g.word = true,
                other => {
                    return Err(ApiError::invalid_param(
                        "timestamp_granularities[]",
                        format!(
                            "unsupported timestamp granularity `{other}`; supported: word, segment"
                        ),
                    ));
                }
            }
        }
        Ok(if any { g } else { Self::default() })
    }
}

/// Whether the recognizer transcribes or translates into English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Transcribe,
    Translate,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transcribe => "transcribe",
            Self::Translate => "translate",
        }
    }
}

/// Renders a transcript as OpenAI does for `format`.
pub fn render(
    t: &Transcript,
    format: ResponseFormat,
    task: Task,
    granularities: Granularities,
) -> String {
    match format {
        ResponseFormat::Json => {
            let mut out = json!({"text": t.text.trim()});
            if task == Task::Transcribe {
                out["usage"] = usage(t);
            }
            out.to_string()
        }
        ResponseFormat::Text => format!("{}\n", t.text.trim()),
        ResponseFormat::Srt => srt(t),
        ResponseFormat::Vtt => vtt(t),
        ResponseFormat::VerboseJson => verbose_json(t, task, granularities).to_string(),
    }
}

/// OpenAI's `usage` of a transcription billed by the second (whisper-1's):
/// `{"type":"duration","seconds":…}`, the seconds of audio uploaded.
pub fn usage(t: &Transcript) -> Value {
    json!({"type": "duration", "seconds": t.duration})
}

/// OpenAI's `verbose_json`, with `language_probability` (faster-whisper's, as speaches adds
/// it) when the language was detected. Segments are numbered from 0, as OpenAI numbers them.
pub fn verbose_json(t: &Transcript, task: Task, granularities: Granularities) -> Value {
    let mut out = json!({
        "task": task.as_str(),
        "language": language_name(t.language.as_deref().unwrap_or("")),
        "duration": t.duration,
        "text": t.text.trim(),
    });
    if let Some(p) = t.language_probability {
        out["language_probability"] = json!(p);
    }
    if task == Task::Transcribe {
        out["usage"] = usage(t);
    }
    if granularities.segment {
        out["segments"] = t
            .segments
            .iter()
            .enumerate()
            .map(|(id, s)| {
                json!({
                    "id": id,
                    // Whisper's seek is the window offset in 10 ms mel frames.
                    "seek": s.seek.unwrap_or((s.start * 100.0).max(0.0) as u64),
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "tokens": s.tokens.clone().unwrap_or_default(),
                    "temperature": s.temperature.unwrap_or(0.0),
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio.unwrap_or(0.0),
                    "no_speech_prob": s.no_speech_prob,
                })
            })
            .collect();
    }
    if granularities.word {
        out["words"] = t
            .segments
            .iter()
            .flat_map(|s| s.words.iter().flatten())
            .map(|w| json!({"word": w.word.trim(), "start": w.start, "end": w.end}))
            .collect();
    }
    out
}

/// SubRip: numbered cues, `HH:MM:SS,mmm`.
pub fn srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in t.segments.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(s.start, ','),
            timestamp(s.end, ','),
            s.text.trim()
        ));
    }
    out
}

/// WebVTT: a header, then cues with `HH:MM:SS.mmm`.
pub fn vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in &t.segments {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(s.start, '.'),
            timestamp(s.end, '.'),
            s.text.trim()
        ));
    }
    out
}

/// `seconds` as `HH:MM:SS<sep>mmm`, rounded to the millisecond.
pub fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// OpenAI names the language in English words ("english"); codes it does not know pass through.
pub fn language_name(code: &str) -> String {
    let lower = code.to_ascii_lowercase();
    WHISPER_LANGUAGES
        .iter()
        .find(|(c, _)| *c == lower)
        .map(|(_, name)| name.to_string())
        .unwrap_or(lower)
}

/// Whisper's languages (ISO 639-1 code, lowercase English name).
pub const WHISPER_LANGUAGES: &[(&str, &str)] = &[
    ("en", "english"),
    ("zh", "chinese"),
    ("de", "german"),
    ("es", "spanish"),
    ("ru", "russian"),
    ("ko", "korean"),
    ("fr", "french"),
    ("ja", "japanese"),
    ("pt", "portuguese"),
    ("tr", "turkish"),
    ("pl", "polish"),
    ("ca", "catalan"),
    ("nl", "dutch"),
    ("ar", "arabic"),
    ("sv", "swedish"),
    ("it", "italian"),
    ("id", "indonesian"),
    ("hi", "hindi"),
    ("fi", "finnish"),
    ("vi", "vietnamese"),
    ("he", "hebrew"),
    ("uk", "ukrainian"),
    ("el", "greek"),
    ("ms", "malay"),
    ("cs", "czech"),
    ("ro", "romanian"),
    ("da", "danish"),
    ("hu", "hungarian"),
    ("ta", "tamil"),
    ("no", "norwegian"),
    ("th", "thai"),
    ("ur", "urdu"),
    ("hr", "croatian"),
    ("bg", "bulgarian"),
    ("lt", "lithuanian"),
    ("la", "latin"),
    ("mi", "maori"),
    ("ml", "malayalam"),
    ("cy", "welsh"),
    ("sk", "slovak"),
    ("te", "telugu"),
    ("fa", "persian"),
    ("lv", "latvian"),
    ("bn", "bengali"),
    ("sr", "serbian"),
    ("az", "azerbaijani"),
    ("sl", "slovenian"),
    ("kn", "kannada"),
    ("et", "estonian"),
    ("mk", "macedonian"),
    ("br", "breton"),
    ("eu", "basque"),
    ("is", "icelandic"),
    ("hy", "armenian"),
    ("ne", "nepali"),
    ("mn", "mongolian"),
    ("bs", "bosnian"),
    ("kk", "kazakh"),
    ("sq", "albanian"),
    ("sw", "swahili"),
    ("gl", "galician"),
    ("mr", "marathi"),
    ("pa", "punjabi"),
    ("si", "sinhala"),
    ("km", "khmer"),
    ("sn", "shona"),
    ("yo", "yoruba"),
    ("so", "somali"),
    ("af", "afrikaans"),
    ("oc", "occitan"),
    ("ka", "georgian"),
    ("be", "belarusian"),
    ("tg", "tajik"),
    ("sd", "sindhi"),
    ("gu", "gujarati"),
    ("am", "amharic"),
    ("yi", "yiddish"),
    ("lo", "lao"),
    ("uz", "uzbek"),
    ("fo", "faroese"),
    ("ht", "haitian creole"),
    ("ps", "pashto"),
    ("tk", "turkmen"),
    ("nn", "nynorsk"),
    ("mt", "maltese"),
    ("sa", "sanskrit"),
    ("lb", "luxembourgish"),
    ("my", "myanmar"),
    ("bo", "tibetan"),
    ("tl", "tagalog"),
    ("mg", "malagasy"),
    ("as", "assamese"),
    ("tt", "tatar"),
    ("haw", "hawaiian"),
    ("ln", "lingala"),
    ("ha", "hausa"),
    ("ba", "bashkir"),
    ("jw", "javanese"),
    ("su", "sundanese"),
    ("yue", "cantonese"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        serde_json::from_value(json!({
            "text": " Hello world. Bye.",
            "language": "en",
            "duration": 3.5,
            "segments": [
                {"id": 1, "start": 0.0, "end": 1.5, "text": " Hello world.", "avg_logprob": -0.2, "no_speech_prob": 0.01,
                 "words": [{"start": 0.0, "end": 0.6, "word": " Hello", "probability": 0.9},
                           {"start": 0.6, "end": 1.5, "word": " world.", "probability": 0.8}]},
                {"id": 2, "start": 3661.0005, "end": 3662.25, "text": " Bye.", "avg_logprob": -0.3, "no_speech_prob": 0.02}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn json_and_text() {
        let t = sample();
        let g = Granularities::default();
        assert_eq!(
            render(&t, ResponseFormat::Json, Task::Transcribe, g),
            r#"{"text":"Hello world. Bye.","usage":{"seconds":3.5,"type":"duration"}}"#
        );
        // OpenAI's translation object carries no usage.
        assert_eq!(
            render(&t, ResponseFormat::Json, Task::Translate, g),
            r#"{"text":"Hello world. Bye."}"#
        );
        assert_eq!(
            render(&t, ResponseFormat::Text, Task::Transcribe, g),
            "Hello world. Bye.\n"
        );
    }

    #[test]
    fn subtitles() {
        let t = sample();
        assert_eq!(
            srt(&t),
            "1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n2\n01:01:01,001 --> 01:01:02,250\nBye.\n\n"
        );
        assert_eq!(
            vtt(&t),
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n01:01:01.001 --> 01:01:02.250\nBye.\n\n"
        );
    }

    #[test]
    fn verbose() {
        let t = sample();
        let v = verbose_json(
            &t,
            Task::Translate,
            Granularities {
                segment: true,
                word: true,
            },
        );
        assert_eq!(v["task"], "translate");
        assert_eq!(v["language"], "english");
        assert_eq!(v["duration"], 3.5);
        assert!(v.get("usage").is_none());
        assert!(v.get("language_probability").is_none());
        // faster-whisper's ids count from 1, OpenAI's from 0.
        assert_eq!(
            (
                v["segments"][0]["id"].as_u64(),
                v["segments"][1]["id"].as_u64()
            ),
            (Some(0), Some(1))
        );
        assert_eq!(v["segments"][1]["seek"], 366100);
        assert_eq!(v["segments"][0]["tokens"], json!([]));
        assert_eq!(
            v["words"],
            json!([{"word": "Hello", "start": 0.0, "end": 0.6}, {"word": "world.", "start": 0.6, "end": 1.5}])
        );
        let v = verbose_json(
            &t,
            Task::Transcribe,
            Granularities {
                segment: false,
                word: true,
            },
        );
        assert!(v.get("segments").is_none());
        let v = verbose_json(&t, Task::Transcribe, Granularities::default());
        assert!(v.get("words").is_none());
        assert_eq!(v["usage"], json!({"type": "duration", "seconds": 3.5}));
        let detected = Transcript {
            language_probability: Some(0.75),
            ..t
        };
        let v = verbose_json(&detected, Task::Transcribe, Granularities::default());
        assert_eq!(v["language_probability"], 0.75);
    }

    #[test]
    fn parses_options() {
        assert_eq!(ResponseFormat::parse(None).unwrap(), ResponseFormat::Json);
        assert_eq!(
            ResponseFormat::parse(Some("verbose_json")).unwrap(),
            ResponseFormat::VerboseJson
        );
        let e = ResponseFormat::parse(Some("xml")).unwrap_err();
        assert!(e.message.contains("json, text, srt, vtt, verbose_json"));
        assert_eq!(
            Granularities::parse(["word"]).unwrap(),
            Granularities {
                segment: false,
                word: true
            }
        );
        assert_eq!(Granularities::parse([]).unwrap(), Granularities::default());
        assert!(Granularities::parse(["char"]).is_err());
    }

    #[test]
    fn minimal_upstream_transcript() {
        let t: Transcript = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
        assert!(t.segments.is_empty());
        assert_eq!(language_name("XX"), "xx");
    }
}
