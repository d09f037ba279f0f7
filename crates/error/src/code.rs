//! The stable error codes: one variant per code a client can see, with its usual HTTP status.

use std::fmt;
use std::str::FromStr;

/// Declares [`ErrorCode`] from one table, so a code's name, its wire string and its status
/// cannot drift apart, and [`ErrorCode::ALL`] lists every code for the OpenAPI sync test.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal => $status:literal,)+) => {
        /// A machine-readable error code. Its wire string never changes once published
        /// (`docs/api.md` lists them; `docs/openapi.json`'s `ErrorCode` schema must match).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it appears in error bodies.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }

            /// The HTTP status this code is usually answered with.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }
        }

        impl FromStr for ErrorCode {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                match s {
                    $($wire => Ok(ErrorCode::$variant),)+
                    _ => Err(UnknownCode),
                }
            }
        }
    };
}

codes! {
    // Requests in general.
    /// A parameter with an unacceptable value.
    InvalidParameter = "invalid_parameter" => 400,
    /// A required parameter is absent.
    MissingParameter = "missing_parameter" => 400,
    /// A JSON body that does not parse or has the wrong shape.
    InvalidJson = "invalid_json" => 400,
    /// A text body that is not UTF-8.
    InvalidUtf8 = "invalid_utf8" => 400,
    /// The request body could not be read.
    BodyReadFailed = "body_read_failed" => 400,
    /// Authentication is on and the request's bearer key is missing or wrong.
    InvalidApiKey = "invalid_api_key" => 401,
    /// No route matches the path.
    NotFound = "not_found" => 404,
    /// The route exists but not for this method.
    MethodNotAllowed = "method_not_allowed" => 405,
    /// The body exceeds a byte limit.
    PayloadTooLarge = "payload_too_large" => 413,
    /// The content type is not one the route takes.
    UnsupportedMediaType = "unsupported_media_type" => 415,

    // multipart/form-data uploads.
    /// The content type is not `multipart/form-data`.
    NotMultipart = "not_multipart" => 400,
    /// The content type names no boundary.
    MissingBoundary = "missing_boundary" => 400,
    /// The boundary parameter is malformed.
    BadBoundary = "bad_boundary" => 400,
    /// The body never opens with the boundary.
    MissingStart = "missing_start" => 400,
    /// A boundary line that does not end with CRLF.
    MalformedDelimiter = "malformed_delimiter" => 400,
    /// A part's headers are malformed.
    MalformedHeaders = "malformed_headers" => 400,
    /// A part has no `Content-Disposition: form-data`.
    MissingDisposition = "missing_disposition" => 400,
    /// A part's disposition names no field.
    MissingName = "missing_name" => 400,
    /// More than one file part.
    MultipleFiles = "multiple_files" => 400,
    /// More parts than the limit.
    TooManyParts = "too_many_parts" => 400,
    /// The body ends before the closing boundary.
    Truncated = "truncated" => 400,
    /// The uploaded file exceeds its limit.
    FileTooLarge = "file_too_large" => 413,
    /// A text field exceeds its limit or is not UTF-8.
    FieldTooLarge = "field_too_large" => 400,

    // Audio uploads (`vox-audio`).
    /// No audio samples at all.
    EmptyAudio = "empty_audio" => 400,
    /// A format or codec this service does not decode.
    UnsupportedFormat = "unsupported_format" => 400,
    /// A malformed audio stream.
    InvalidAudio = "invalid_audio" => 400,
    /// An audio stream that ends before its headers say it should.
    TruncatedAudio = "truncated_audio" => 400,
    /// Longer than the maximum duration.
    AudioTooLong = "audio_too_long" => 413,
    /// Larger than the maximum upload size.
    AudioTooLarge = "audio_too_large" => 413,

    // Transcription.
    /// No installed model has that name (a Whisper model, or an OpenAI speech model name).
    ModelNotFound = "model_not_found" => 404,

    // Synthesis.
    /// Nothing to synthesize.
    EmptyText = "empty_text" => 400,
    /// More text than the limit.
    TextTooLong = "text_too_long" => 400,
    /// Text the phonemizer cannot take.
    InvalidText = "invalid_text" => 400,
    /// The text has nothing the voice can speak.
    NoSpeech = "no_speech" => 422,
    /// No installed voice has that name.
    VoiceNotFound = "voice_not_found" => 404,
    /// No voice is installed at all.
    NoVoices = "no_voices" => 503,
    /// The voice has no speaker by that name or id.
    UnknownSpeaker = "unknown_speaker" => 400,

    // Composition and the host.
    /// A private service could not be reached.
    UpstreamUnreachable = "upstream_unreachable" => 502,
    /// A private service is down for now (not found, refused, timed out).
    UpstreamUnavailable = "upstream_unavailable" => 503,
    /// A private service answered something unusable.
    UpstreamInvalidResponse = "upstream_invalid_response" => 502,
    /// The asr service failed without an error body of its own.
    AsrError = "asr_error" => 502,
    /// The tts service failed without an error body of its own.
    TtsError = "tts_error" => 502,
    /// The responder the end-to-end flow consults failed without an error body of its own.
    ResponderError = "responder_error" => 502,
    /// A bug or an unexpected failure on the server's side.
    InternalError = "internal_error" => 500,
    /// The host: the client did not send its request in time.
    RequestTimeout = "request_timeout" => 408,
    /// The host: a component did not answer within the request deadline.
    ComponentTimeout = "component_timeout" => 504,
    /// The host: a component trapped or failed to start.
    ComponentFailed = "component_failed" => 500,
}

impl ErrorCode {
    /// The code for a private service's failure that came without a code of its own.
    pub fn for_service(service: &str) -> Self {
        match service {
            "tts" => ErrorCode::TtsError,
            "responder" => ErrorCode::ResponderError,
            _ => ErrorCode::AsrError,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A code string this build does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} declared twice");
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert_eq!("no_such_code".parse::<ErrorCode>(), Err(UnknownCode));
    }
}
