//! Synthesis requests: the native `/api/tts` body, OpenAI's `/v1/audio/speech` body, and the
//! tts service's `POST /synthesize` JSON they both become.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::limits::{MAX_TEXT_CHARS, SAMPLE_RATE_RANGE, SPEED_RANGE};
use crate::query::{Query, non_empty, parse_number};

/// Audio the tts service streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// Raw signed 16-bit little-endian mono samples.
    #[default]
    Pcm,
    /// 16-bit PCM WAV.
    Wav,
    Mp3,
    /// Opus in Ogg.
    Opus,
    Flac,
}

impl AudioFormat {
    pub const NAMES: &'static str = "mp3, opus, flac, wav, pcm";

    pub fn parse(param: &str, value: Option<&str>, default: Self) -> Result<Self, ApiError> {
        match value.map(str::trim) {
            None | Some("") => Ok(default),
            Some("pcm") => Ok(Self::Pcm),
            Some("wav") => Ok(Self::Wav),
            Some("mp3") => Ok(Self::Mp3),
            Some("opus") => Ok(Self::Opus),
            Some("flac") => Ok(Self::Flac),
            Some("aac") => Err(ApiError::invalid_param(
                param,
                format!(
                    "{param} `aac` is not available: no AAC encoder that streams builds into this service; supported: {}",
                    Self::NAMES
                ),
            )),
            Some(other) => Err(ApiError::invalid_param(
                param,
                format!("unsupported {param} `{other}`; supported: {}", Self::NAMES),
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pcm => "audio/pcm",
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Opus => "audio/ogg; codecs=opus",
            Self::Flac => "audio/flac",
        }
    }
}

/// OpenAI's `pcm` is 24 kHz ("24kHz (16-bit signed, low-endian), without the header").
pub const OPENAI_PCM_RATE: u32 = 24_000;

/// A requested output sample rate must lie in [`SAMPLE_RATE_RANGE`].
pub fn check_sample_rate(rate: u32) -> Result<(), ApiError> {
    let (min, max) = SAMPLE_RATE_RANGE;
    if !(min..=max).contains(&rate) {
        return Err(ApiError::invalid_param(
            "sample_rate",
            format!("`sample_rate` must be between {min} and {max} Hz, got {rate}"),
        ));
    }
    Ok(())
}

/// A speaker of a multi-speaker voice: by index (`3`) or by name (`"alice"`), a JSON number or
/// string on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Speaker {
    Id(u32),
    Name(String),
}

impl Speaker {
    /// A speaker given in a query: a number is an index, anything else a name.
    pub fn from_query(value: &str) -> Self {
        value
            .parse()
            .map(Self::Id)
            .unwrap_or_else(|_| Self::Name(value.to_string()))
    }
}

/// The tts service's `POST /synthesize` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Synthesize {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<Speaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_scale: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_w: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_silence: Option<f32>,
    #[serde(default)]
    pub format: AudioFormat,
    /// Output rate in Hz; the voice's own rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
}

impl Synthesize {
    pub fn new(text: String, format: AudioFormat) -> Self {
        Self {
            text,
            voice: None,
            speaker: None,
            speed: None,
            noise_scale: None,
            noise_w: None,
            sentence_silence: None,
            format,
            sample_rate: None,
        }
    }

    /// A request whose voice, speaker and speed come from query parameters.
    pub fn from_query(text: String, format: AudioFormat, query: &Query) -> Result<Self, ApiError> {
        let mut s = Self::new(text, format);
        s.voice = non_empty(query.get("voice"));
        s.speaker = query.get("speaker").map(Speaker::from_query);
        s.speed = query
            .get("speed")
            .map(|v| parse_number("speed", v))
            .transpose()?;
        s.sample_rate = query.get("sample_rate").map(parse_rate).transpose()?;
        Ok(s)
    }

    pub fn validate(&self, text_param: &str) -> Result<(), ApiError> {
        check_text(text_param, &self.text)?;
        if let Some(speed) = self.speed {
            check_speed(speed)?;
        }
        if let Some(rate) = self.sample_rate {
            check_sample_rate(rate)?;
        }
        for (name, value, max) in [
            ("noise_scale", self.noise_scale, 2.0),
            ("noise_w", self.noise_w, 2.0),
            ("sentence_silence", self.sentence_silence, 10.0),
        ] {
            if let Some(v) = value
                && !(0.0..=max).contains(&v)
            {
                return Err(ApiError::invalid_param(
                    name,
                    format!("`{name}` must be between 0 and {max}"),
                ));
            }
        }
        Ok(())
    }
}

fn parse_rate(v: &str) -> Result<u32, ApiError> {
    v.trim().parse().map_err(|_| {
        ApiError::invalid_param(
            "sample_rate",
            format!("`sample_rate` must be a whole number of Hz, got `{v}`"),
        )
    })
}

/// Text to speak must be non-blank and at most [`MAX_TEXT_CHARS`] characters.
pub fn check_text(param: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(
            ApiError::new(ErrorCode::EmptyText, format!("`{param}` is empty")).with_param(param),
        );
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::new(
            ErrorCode::TextTooLong,
            format!("`{param}` has {chars} characters; the limit is {MAX_TEXT_CHARS}"),
        )
        .with_param(param));
    }
    Ok(())
}

pub fn check_speed(speed: f32) -> Result<(), ApiError> {
    let (min, max) = SPEED_RANGE;
    if !(min..=max).contains(&speed) {
        return Err(ApiError::invalid_param(
            "speed",
            format!("`speed` must be between {min} and {max}, got {speed}"),
        ));
    }
    Ok(())
}

/// The native `/api/tts` request: a JSON [`Synthesize`]-like body (format defaults to wav), or
/// plain text with `voice`, `speaker`, `speed` and `format` in the query.
pub fn parse_native(
    content_type: Option<&str>,
    body: &[u8],
    query: &Query,
) -> Result<Synthesize, ApiError> {
    let mime = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // `curl -d` labels any body form-urlencoded: sniff JSON from text.
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let kind = match mime.as_str() {
        "application/x-www-form-urlencoded" if looks_json => "application/json",
        "application/x-www-form-urlencoded" => "text/plain",
        other => other,
    };
    let synth = match kind {
        "application/json" => {
            let mut v: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("the body is not valid JSON: {e}"),
                )
            })?;
            let obj = v.as_object_mut().ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidJson, "the body must be a JSON object")
            })?;
            let format = AudioFormat::parse(
                "format",
                obj.get("format").and_then(Value::as_str),
                AudioFormat::Wav,
            )?;
            obj.insert(
                "format".into(),
                serde_json::to_value(format).unwrap_or_default(),
            );
            if !obj.contains_key("text") {
                return Err(ApiError::missing_param("text"));
            }
            serde_json::from_value(v).map_err(|e| {
                ApiError::new(ErrorCode::InvalidJson, format!("invalid request body: {e}"))
            })?
        }
        "" | "text/plain" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| {
                    ApiError::new(ErrorCode::InvalidText, "the text body is not valid UTF-8")
                })?
                .to_string();
            let format = AudioFormat::parse("format", query.get("format"), AudioFormat::Wav)?;
            Synthesize::from_query(text, format, query)?
        }
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "content-type `{other}` is not supported; send application/json or text/plain"
            )));
        }
    };
    synth.validate("text")?;
    Ok(synth)
}

/// OpenAI's `POST /v1/audio/speech` body.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenAiSpeech {
    pub model: Option<String>,
    pub input: Option<String>,
    pub voice: Option<OpenAiVoice>,
    pub response_format: Option<String>,
    pub speed: Option<f32>,
    pub stream_format: Option<String>,
    /// Extension: output rate in Hz (OpenAI's pcm is 24 kHz; other formats default to the voice's).
    pub sample_rate: Option<u32>,
    /// Extensions, as on the native route: Piper's generator and duration noise (0 makes the
    /// speech a pure function of the text).
    pub noise_scale: Option<f32>,
    pub noise_w: Option<f32>,
    /// Accepted for compatibility; Piper voices have no style prompt.
    #[allow(dead_code)]
    pub instructions: Option<String>,
}

/// OpenAI's `voice`: a name, or `{"id": …}` for a custom voice.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OpenAiVoice {
    Name(String),
    Custom {
        id: String,
    },
    /// Any other JSON, answered as a missing voice rather than as invalid JSON.
    Other(serde::de::IgnoredAny),
}

/// A validated OpenAI speech request.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechPlan {
    /// The requested voice: an installed id or an OpenAI name, which the tts service resolves.
    pub voice: String,
    pub synth: Synthesize,
    /// `stream_format: "sse"`: base64 `speech.audio.delta` events instead of raw audio.
    pub sse: bool,
}

/// Parses and validates OpenAI's speech body. Without `response_format` the audio is mp3, as
/// OpenAI's; `pcm` (and SSE, which carries pcm) is 24 kHz unless `sample_rate` says otherwise.
pub fn parse_openai(body: &[u8]) -> Result<SpeechPlan, ApiError> {
    let req: OpenAiSpeech = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body is not a valid speech request: {e}"),
        )
    })?;
    let model = req.model.ok_or_else(|| ApiError::missing_param("model"))?;
    crate::models::check_speech_model(&model)?;
    let input = req.input.ok_or_else(|| ApiError::missing_param("input"))?;
    let voice = match req.voice {
        Some(OpenAiVoice::Name(name)) => name,
        Some(OpenAiVoice::Custom { id }) => id,
        Some(OpenAiVoice::Other(_)) | None => return Err(ApiError::missing_param("voice")),
    };
    let sse = match req.stream_format.as_deref() {
        None | Some("audio") => false,
        Some("sse") => true,
        Some(other) => {
            return Err(ApiError::invalid_param(
                "stream_format",
                format!("unsupported stream_format `{other}`; supported: audio, sse"),
            ));
        }
    };
    let format = if sse {
        // Events carry raw samples, as OpenAI's do for pcm.
        match req.response_format.as_deref() {
            None | Some("pcm") => AudioFormat::Pcm,
            Some(other) => {
                return Err(ApiError::invalid_param(
                    "response_format",
                    format!(
                        "stream_format sse carries pcm audio; response_format `{other}` is not supported with it"
                    ),
                ));
            }
        }
    } else {
        AudioFormat::parse(
            "response_format",
            req.response_format.as_deref(),
            AudioFormat::Mp3,
        )?
    };
    let mut synth = Synthesize::new(input, format);
    synth.speed = req.speed;
    synth.noise_scale = req.noise_scale;
    synth.noise_w = req.noise_w;
    synth.sample_rate = req
        .sample_rate
        .or((format == AudioFormat::Pcm).then_some(OPENAI_PCM_RATE));
    synth.validate("input")?;
    Ok(SpeechPlan { voice, synth, sse })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn native_json_and_text() {
        let q = Query::default();
        let s = parse_native(
            Some("application/json"),
            br#"{"text":"Hi","voice":"v","speed":1.5}"#,
            &q,
        )
        .unwrap();
        assert_eq!(
            (s.voice.as_deref(), s.speed, s.format),
            (Some("v"), Some(1.5), AudioFormat::Wav)
        );
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"text": "Hi", "voice": "v", "speed": 1.5, "format": "wav"})
        );
        let q = Query::parse(Some("format=pcm&voice=v&speaker=3"));
        let s = parse_native(Some("text/plain; charset=utf-8"), "Grüße".as_bytes(), &q).unwrap();
        assert_eq!(
            (s.text.as_str(), s.format, s.speaker),
            ("Grüße", AudioFormat::Pcm, Some(Speaker::Id(3)))
        );
    }

    #[test]
    fn speaker_on_the_wire() {
        for (wire, speaker) in [
            (json!(3), Speaker::Id(3)),
            (json!("alice"), Speaker::Name("alice".into())),
        ] {
            let body = json!({"text": "Hi", "speaker": wire, "format": "pcm"});
            let s: Synthesize = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(s.speaker.as_ref(), Some(&speaker));
            assert_eq!(serde_json::to_value(&s).unwrap(), body);
        }
        assert_eq!(Speaker::from_query("12"), Speaker::Id(12));
        assert_eq!(Speaker::from_query("-1"), Speaker::Name("-1".into()));
        let bad = json!({"text": "Hi", "speaker": true});
        assert!(serde_json::from_value::<Synthesize>(bad).is_err());
    }

    #[test]
    fn native_errors() {
        let q = Query::default();
        let cases: &[(&str, &[u8], u16, &str)] = &[
            ("application/json", b"{", 400, "invalid_json"),
            ("application/json", b"[]", 400, "invalid_json"),
            (
                "application/json",
                br#"{"voice":"v"}"#,
                400,
                "missing_parameter",
            ),
            ("application/json", br#"{"text":"  "}"#, 400, "empty_text"),
            (
                "application/json",
                br#"{"text":"a","format":"ogg"}"#,
                400,
                "invalid_parameter",
            ),
            (
                "application/json",
                br#"{"text":"a","sample_rate":4000}"#,
                400,
                "invalid_parameter",
            ),
            (
                "application/json",
                br#"{"text":"a","speed":9}"#,
                400,
                "invalid_parameter",
            ),
            (
                "application/json",
                br#"{"text":"a","noise_w":-1}"#,
                400,
                "invalid_parameter",
            ),
            ("application/xml", b"<a/>", 415, "unsupported_media_type"),
            ("text/plain", b"\xff", 400, "invalid_text"),
        ];
        for (ct, body, status, code) in cases {
            let e = parse_native(Some(ct), body, &q).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (*status, *code),
                "{ct} {}",
                String::from_utf8_lossy(body)
            );
        }
        let curl = Some("application/x-www-form-urlencoded");
        assert_eq!(
            parse_native(curl, br#" {"text":"Hi"}"#, &q).unwrap().text,
            "Hi"
        );
        assert_eq!(
            parse_native(curl, b"Hi there", &q).unwrap().text,
            "Hi there"
        );
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            parse_native(None, long.as_bytes(), &q)
                .unwrap_err()
                .code
                .as_str(),
            "text_too_long"
        );
        assert!(parse_native(None, "é".repeat(MAX_TEXT_CHARS).as_bytes(), &q).is_ok());
    }

    #[test]
    fn openai_speech() {
        let p = parse_openai(br#"{"model":"tts-1","input":"Hello","voice":"alloy"}"#).unwrap();
        assert_eq!(
            (p.voice.as_str(), p.synth.format, p.sse, p.synth.sample_rate),
            ("alloy", AudioFormat::Mp3, false, None)
        );
        let p = parse_openai(
            br#"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"pcm"}"#,
        )
        .unwrap();
        assert_eq!(
            (p.synth.format, p.synth.sample_rate),
            (AudioFormat::Pcm, Some(24_000))
        );
        let p = parse_openai(br#"{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"opus","sample_rate":16000}"#).unwrap();
        assert_eq!(
            (p.synth.format, p.synth.sample_rate),
            (AudioFormat::Opus, Some(16_000))
        );
        let p = parse_openai(br#"{"model":"gpt-4o-mini-tts","input":"Hi","voice":{"id":"en_US-joe-medium"},"stream_format":"sse","speed":0.25}"#).unwrap();
        assert_eq!(
            (p.voice.as_str(), p.synth.format, p.sse, p.synth.speed),
            ("en_US-joe-medium", AudioFormat::Pcm, true, Some(0.25))
        );
        let p = parse_openai(
            br#"{"model":"tts-1","input":"Hi","voice":"alloy","noise_scale":0,"noise_w":0.5}"#,
        )
        .unwrap();
        assert_eq!(
            (p.synth.noise_scale, p.synth.noise_w),
            (Some(0.0), Some(0.5))
        );
    }

    #[test]
    fn openai_speech_errors() {
        for (body, param, needle) in [
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","response_format":"aiff"}"#,
                "response_format",
                "mp3, opus, flac, wav, pcm",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","response_format":"aac"}"#,
                "response_format",
                "not available",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","sample_rate":96000}"#,
                "sample_rate",
                "8000",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","speed":4.5}"#,
                "speed",
                "0.25",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","noise_w":2.5}"#,
                "noise_w",
                "between 0 and 2",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","stream_format":"ws"}"#,
                "stream_format",
                "audio, sse",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":"alloy","stream_format":"sse","response_format":"wav"}"#,
                "response_format",
                "pcm",
            ),
            (
                r#"{"model":"tts-2","input":"a","voice":"alloy"}"#,
                "model",
                "tts-1",
            ),
            (r#"{"input":"a","voice":"alloy"}"#, "model", "required"),
            (r#"{"model":"tts-1","voice":"alloy"}"#, "input", "required"),
            (r#"{"model":"tts-1","input":"a"}"#, "voice", "required"),
            (
                r#"{"model":"tts-1","input":"a","voice":{"name":"x"}}"#,
                "voice",
                "required",
            ),
            (
                r#"{"model":"tts-1","input":"a","voice":7}"#,
                "voice",
                "required",
            ),
            (
                r#"{"model":"tts-1","input":"","voice":"alloy"}"#,
                "input",
                "empty",
            ),
        ] {
            let e = parse_openai(body.as_bytes()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{body}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }
}
