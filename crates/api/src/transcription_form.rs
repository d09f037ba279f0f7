//! The form fields of OpenAI's `/v1/audio/transcriptions` and `/v1/audio/translations`, with
//! the extensions speaches and whisper.cpp clients send, validated into asr options. Every
//! field is honoured or refused with a 400: none is silently ignored.

use crate::error::ApiError;
use crate::multipart::Form;
use crate::query::{AsrOptions, non_empty, parse_bool, parse_language, parse_number};
use crate::transcript::{Granularities, ResponseFormat, Task};

/// The fields taken. `file` is the upload; a text field of that name is answered as a missing
/// file rather than as an unknown field.
pub const FIELDS: &[&str] = &[
    "file",
    "model",
    "language",
    "prompt",
    "response_format",
    "temperature",
    "timestamp_granularities[]",
    "timestamp_granularities",
    "stream",
    "chunking_strategy",
    // Extensions, as speaches (faster-whisper's `transcribe()` arguments) takes them.
    "vad_filter",
    "beam_size",
    "hotwords",
];

/// A transcription request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptionRequest {
    pub options: AsrOptions,
    pub format: ResponseFormat,
    pub granularities: Granularities,
    pub stream: bool,
}

impl TranscriptionRequest {
    pub fn from_form(form: &Form, task: Task) -> Result<Self, ApiError> {
        if let Some((name, _)) = form
            .fields
            .iter()
            .find(|(n, _)| !FIELDS.contains(&n.as_str()))
        {
            return Err(ApiError::invalid_param(
                name,
                format!("unknown form field `{name}`; known: {}", FIELDS.join(", ")),
            ));
        }
        let format = ResponseFormat::parse(form.field("response_format"))?;
        let granularities = Granularities::parse(
            form.all("timestamp_granularities[]")
                .chain(form.all("timestamp_granularities")),
        )?;
        let flag = |name: &str| form.field(name).map(|v| parse_bool(name, v)).transpose();
        // OpenAI's `auto` chunks at the pauses VAD finds, which is what Vox does by default;
        // its `server_vad` object tunes a VAD Vox does not expose.
        if let Some(strategy) = form.field("chunking_strategy")
            && strategy.trim() != "auto"
        {
            return Err(ApiError::invalid_param(
                "chunking_strategy",
                format!("unsupported chunking_strategy `{strategy}`; supported: auto"),
            ));
        }
        let options = AsrOptions {
            model: non_empty(form.field("model")),
            // For a translation the language names the spoken one, as Whisper takes it.
            language: parse_language(form.field("language"))?,
            task: Some(task),
            beam_size: number(form, "beam_size")?,
            temperature: number(form, "temperature")?,
            initial_prompt: non_empty(form.field("prompt")),
            hotwords: non_empty(form.field("hotwords")),
            word_timestamps: (granularities.word && format == ResponseFormat::VerboseJson)
                .then_some(true),
            // Silero VAD is on by default under `/v1`, as speaches has it: silence transcribes
            // to nothing rather than to a hallucinated word.
            vad_filter: Some(flag("vad_filter")?.unwrap_or(true)),
            ..AsrOptions::default()
        };
        options.validate()?;
        Ok(Self {
            options,
            format,
            granularities,
            stream: flag("stream")?.unwrap_or(false),
        })
    }
}

fn number<T: std::str::FromStr>(form: &Form, name: &str) -> Result<Option<T>, ApiError> {
    form.field(name).map(|v| parse_number(name, v)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Form {
        Form {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            file: None,
        }
    }

    fn parse(fields: &[(&str, &str)]) -> Result<TranscriptionRequest, ApiError> {
        TranscriptionRequest::from_form(&form(fields), Task::Transcribe)
    }

    #[test]
    fn defaults_turn_vad_on() {
        let r = parse(&[("model", "whisper-1")]).unwrap();
        assert_eq!(r.options.vad_filter, Some(true));
        assert_eq!(r.format, ResponseFormat::Json);
        assert!(!r.stream);
        assert_eq!(r.options.task, Some(Task::Transcribe));
    }

    #[test]
    fn extensions_are_honoured() {
        let r = parse(&[
            ("vad_filter", "false"),
            ("beam_size", "2"),
            ("hotwords", " Vox Whisper "),
            ("language", "DE"),
            ("chunking_strategy", "auto"),
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
        ])
        .unwrap();
        let o = &r.options;
        assert_eq!(
            (
                o.vad_filter,
                o.beam_size,
                o.hotwords.as_deref(),
                o.language.as_deref(),
                o.word_timestamps
            ),
            (
                Some(false),
                Some(2),
                Some("Vox Whisper"),
                Some("de"),
                Some(true)
            )
        );
        let t =
            TranscriptionRequest::from_form(&form(&[("language", "fr")]), Task::Translate).unwrap();
        assert_eq!(t.options.language.as_deref(), Some("fr"));
    }

    #[test]
    fn bad_fields_are_refused() {
        for (fields, param) in [
            (&[("beam_size", "0")][..], "beam_size"),
            (&[("beam_size", "wide")], "beam_size"),
            (&[("vad_filter", "maybe")], "vad_filter"),
            (&[("language", "klingon")], "language"),
            (
                &[("chunking_strategy", r#"{"type":"server_vad"}"#)],
                "chunking_strategy",
            ),
            (&[("best_of", "3")], "best_of"),
            (&[("include[]", "logprobs")], "include[]"),
        ] {
            let e = parse(fields).unwrap_err();
            assert_eq!(
                (e.status, e.param.as_deref()),
                (400, Some(param)),
                "{fields:?}"
            );
        }
        let e = parse(&[("temprature", "0.2")]).unwrap_err();
        assert!(e.message.contains("temperature"), "{}", e.message);
    }
}
