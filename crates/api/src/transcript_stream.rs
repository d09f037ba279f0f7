//! The asr service's streamed transcript (`POST /transcribe` with `Accept: application/x-ndjson`):
//! one JSON line per segment as its window is decoded, a `progress` line for a window without
//! speech, then a `done` summary line — or an `error` line if decoding fails part-way. Also
//! the splitter that cuts such a body back into lines as its chunks arrive.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode, ErrorStyle};
use crate::transcript::Segment;

/// The media type of the streamed form.
pub const NDJSON: &str = "application/x-ndjson";

/// Longest line read back from a stream: a segment with its tokens and words is a few KiB.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Whisper's encoder positions per second of audio (1500 per 30 s window): the unit of
/// `input_tokens`.
pub const AUDIO_TOKENS_PER_SECOND: f64 = 50.0;

/// One line of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// A segment, as soon as its window is decoded.
    Segment(Segment),
    /// A window decoded without speech; `end` is how far the transcription has got, seconds.
    Progress { end: f64 },
    /// The last line of a complete transcription.
    Done(Summary),
    /// Decoding failed after the stream began; nothing follows.
    Error { status: u16, error: ErrorDetail },
}

/// What the `done` line says of the whole transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// All segment texts joined, trimmed.
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
    /// Audio duration, seconds.
    pub duration: f64,
    pub usage: Usage,
}

/// Work done, in tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Audio tokens: [`AUDIO_TOKENS_PER_SECOND`] per second of audio.
    pub input_tokens: u64,
    /// Text tokens decoded (timestamps not counted).
    pub output_tokens: u64,
}

impl Usage {
    /// The audio tokens of `duration` seconds.
    pub fn audio_tokens(duration: f64) -> u64 {
        (duration.max(0.0) * AUDIO_TOKENS_PER_SECOND).round() as u64
    }

    /// OpenAI's `usage` of a `transcript.text.done` event.
    pub fn to_openai(self) -> Value {
        json!({
            "type": "tokens",
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "input_token_details": {"audio_tokens": self.input_tokens, "text_tokens": 0},
        })
    }
}

/// An error's code and message, as in the native error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl Line {
    /// The error line for `e`.
    pub fn error(e: &ApiError) -> Line {
        Line::Error {
            status: e.status,
            error: ErrorDetail {
                code: e.code.as_str().to_string(),
                message: e.message.clone(),
            },
        }
    }

    /// The line as written: compact JSON and a newline.
    pub fn to_ndjson(&self) -> String {
        let mut out = serde_json::to_string(self).unwrap_or_else(|e| {
            Line::error(&ApiError::internal(e.to_string()))
                .to_ndjson()
                .trim_end()
                .to_string()
        });
        out.push('\n');
        out
    }

    /// Parses a line `service` sent.
    pub fn parse(service: &str, line: &[u8]) -> Result<Line, ApiError> {
        serde_json::from_slice(line).map_err(|e| ApiError::upstream_invalid(service, e))
    }
}

/// An error line back as the error `service` reported.
pub fn into_error(service: &str, status: u16, error: &ErrorDetail) -> ApiError {
    let body = json!({"error": {"code": error.code, "message": error.message}});
    ApiError::from_upstream(service, status, body.to_string().as_bytes())
}

/// Cuts a byte stream into lines as its chunks arrive; a line longer than the limit is an
/// error rather than unbounded memory.
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    limit: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    pub fn new(limit: usize) -> Self {
        Self {
            pending: Vec::new(),
            limit,
        }
    }

    /// Adds a chunk; returns the lines it completed, without their line ends, empty lines
    /// skipped.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(at) = memchr::memchr(b'\n', &self.pending[start..]) {
            let line = &self.pending[start..start + at];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                lines.push(line.to_vec());
            }
            start += at + 1;
        }
        self.pending.drain(..start);
        if self.pending.len() > self.limit {
            return Err(ApiError::new(
                ErrorCode::UpstreamInvalidResponse,
                format!("a streamed line is longer than {} bytes", self.limit),
            ));
        }
        Ok(lines)
    }

    /// The last line if the stream did not end with a newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.is_empty()).then_some(rest)
    }
}

/// OpenAI's `stream=true` events, built as segments arrive: `transcript.text.delta` per
/// segment (their concatenation is the text), then `transcript.text.done` with `usage`.
#[derive(Debug, Default)]
pub struct OpenAiDeltas {
    started: bool,
}

impl OpenAiDeltas {
    /// The delta event for a segment's text, if it has any; the first one loses its leading space.
    pub fn delta(&mut self, text: &str) -> Option<Value> {
        let text = if self.started {
            text
        } else {
            text.trim_start()
        };
        if text.is_empty() {
            return None;
        }
        self.started = true;
        Some(json!({"type": "transcript.text.delta", "delta": text}))
    }

    /// The closing event.
    pub fn done(summary: &Summary) -> Value {
        json!({"type": "transcript.text.done", "text": summary.text.trim(), "usage": summary.usage.to_openai()})
    }

    /// The event for a failure after the stream began, in OpenAI's error shape.
    pub fn error(e: &ApiError) -> Value {
        let mut body = e.to_json(ErrorStyle::OpenAi);
        body["type"] = json!("error");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str) -> Segment {
        serde_json::from_value(json!({"id": 1, "start": 0.0, "end": 1.0, "text": text})).unwrap()
    }

    #[test]
    fn lines_round_trip() {
        let lines = [
            Line::Segment(segment(" Hello.")),
            Line::Progress { end: 30.0 },
            Line::Done(Summary {
                text: "Hello.".into(),
                language: Some("en".into()),
                duration: 31.5,
                usage: Usage {
                    input_tokens: Usage::audio_tokens(31.5),
                    output_tokens: 3,
                },
            }),
            Line::error(&ApiError::new(ErrorCode::InternalError, "boom")),
        ];
        for line in &lines {
            let text = line.to_ndjson();
            assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
            assert_eq!(&Line::parse("asr", text.as_bytes()).unwrap(), line);
        }
        assert!(lines[1].to_ndjson().starts_with(r#"{"type":"progress""#));
        let Line::Error { status, error } = &lines[3] else {
            unreachable!()
        };
        let e = into_error("asr", *status, error);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (500, ErrorCode::InternalError, "boom")
        );
        assert!(Line::parse("asr", b"{\"type\":\"nope\"}").is_err());
    }

    #[test]
    fn splitter_cuts_lines_across_chunks() {
        let mut s = LineSplitter::new(16);
        assert!(s.push(b"{\"a\"").unwrap().is_empty());
        assert_eq!(
            s.push(b":1}\n\n{\"b\":2}\r\n{").unwrap(),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert_eq!(s.push(b"}").unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(s.finish(), Some(b"{}".to_vec()));
        let mut s = LineSplitter::new(4);
        assert_eq!(
            s.push(b"12345").unwrap_err().code,
            ErrorCode::UpstreamInvalidResponse
        );
    }

    #[test]
    fn openai_deltas_add_up_to_the_text() {
        let mut d = OpenAiDeltas::default();
        assert_eq!(d.delta("   "), None);
        let joined: String = [" Hello world.", " Bye."]
            .iter()
            .filter_map(|t| d.delta(t))
            .map(|e| e["delta"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(joined, "Hello world. Bye.");
        let done = OpenAiDeltas::done(&Summary {
            text: " Hello world. Bye.".into(),
            language: None,
            duration: 2.0,
            usage: Usage {
                input_tokens: 100,
                output_tokens: 6,
            },
        });
        assert_eq!(done["text"], "Hello world. Bye.");
        assert_eq!(done["usage"]["total_tokens"], 106);
        let e = OpenAiDeltas::error(&ApiError::internal("x"));
        assert_eq!(
            (e["type"].as_str(), e["error"]["code"].as_str()),
            (Some("error"), Some("internal_error"))
        );
    }
}
