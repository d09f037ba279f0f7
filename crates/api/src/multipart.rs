//! A bounded `multipart/form-data` parser: text fields plus at most one file part.
//!
//! The gateway collects the body up to [`crate::limits::MAX_MULTIPART_BYTES`] and parses it
//! here; the file part is a zero-copy slice of that buffer.

use bytes::Bytes;

use crate::error::{ApiError, ErrorCode};

/// What a multipart body may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_parts: usize,
    pub max_field_bytes: usize,
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_parts: crate::limits::MAX_PARTS,
            max_field_bytes: crate::limits::MAX_FIELD_BYTES,
            max_file_bytes: crate::limits::MAX_UPLOAD_BYTES,
        }
    }
}

/// The uploaded file part.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePart {
    /// The form field name (`file` for OpenAI).
    pub name: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// The content type to forward with a raw audio body: audio types pass, anything else (such as
/// `curl --data-binary`'s form-urlencoded label) is dropped so the recognizer sniffs the format.
pub fn audio_mime(content_type: Option<&str>) -> Option<&str> {
    let ct = content_type?.trim();
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (mime.starts_with("audio/") || mime.starts_with("video/") || mime == "application/ogg")
        .then_some(ct)
}

impl FilePart {
    /// The audio content type to forward: the declared one unless it is missing or generic,
    /// else one guessed from the file extension.
    pub fn audio_content_type(&self) -> Option<String> {
        let declared = self
            .content_type
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("application/octet-stream"));
        if let Some(c) = audio_mime(declared) {
            return Some(c.to_string());
        }
        let ext = self
            .filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())?;
        let guessed = match ext.as_str() {
            "wav" | "wave" => "audio/wav",
            "flac" => "audio/flac",
            "mp3" | "mpga" | "mpeg" => "audio/mpeg",
            "ogg" | "oga" | "opus" => "audio/ogg",
            "webm" => "audio/webm",
            "m4a" | "mp4" => "audio/mp4",
            _ => return None,
        };
        Some(guessed.to_string())
    }
}

/// A parsed form: text fields in order and the one file part, if any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub file: Option<FilePart>,
}

impl Form {
    /// The first value of a text field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated text field (`timestamp_granularities[]`).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a multipart body was rejected; `code` is stable and tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartError {
    pub code: ErrorCode,
    pub message: String,
}

impl MultipartError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        ApiError::new(e.code, e.message)
    }
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut parts = content_type.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::new(
            ErrorCode::NotMultipart,
            format!("expected content-type multipart/form-data, got `{mime}`"),
        ));
    }
    for param in parts {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("boundary") {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            // RFC 2046: 1 to 70 characters, and it must not end in a space.
            if value.is_empty() || value.len() > 70 || value.ends_with(' ') {
                return Err(MultipartError::new(
                    ErrorCode::BadBoundary,
                    "the multipart boundary must be 1 to 70 characters",
                ));
            }
            return Ok(value.to_string());
        }
    }
    Err(MultipartError::new(
        ErrorCode::MissingBoundary,
        "the multipart content-type has no boundary parameter",
    ))
}

/// Parses a complete `multipart/form-data` body.
pub fn parse(body: &Bytes, boundary: &str, limits: &Limits) -> Result<Form, MultipartError> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut form = Form::default();

    // The first delimiter starts the body or follows a preamble line.
    let mut pos = if body.starts_with(delimiter) {
        delimiter.len()
    } else {
        let inner = [b"\r\n", delimiter].concat();
        match find(body, &inner, 0) {
            Some(i) => i + inner.len(),
            None => {
                return Err(MultipartError::new(
                    ErrorCode::MissingStart,
                    "the body does not contain the multipart boundary",
                ));
            }
        }
    };
    let next_delimiter = [b"\r\n", delimiter].concat();
    let mut parts = 0;

    loop {
        // After a delimiter: `--` closes the body, otherwise CRLF (after optional padding) opens a part.
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(form);
        }
        let padding = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if !rest[padding..].starts_with(b"\r\n") {
            let code = if rest.len() <= padding {
                ErrorCode::Truncated
            } else {
                ErrorCode::MalformedDelimiter
            };
            return Err(MultipartError::new(
                code,
                "a multipart boundary line must end with CRLF",
            ));
        }
        pos += padding + 2;

        parts += 1;
        if parts > limits.max_parts {
            return Err(MultipartError::new(
                ErrorCode::TooManyParts,
                format!("more than {} multipart parts", limits.max_parts),
            ));
        }

        // Headers end at an empty line; a part may have none at all.
        let (headers, content_start) = if body[pos..].starts_with(b"\r\n") {
            (&body[pos..pos], pos + 2)
        } else {
            let end = find(body, b"\r\n\r\n", pos).ok_or_else(|| {
                MultipartError::new(
                    ErrorCode::Truncated,
                    "a multipart part's headers are not terminated",
                )
            })?;
            (&body[pos..end], end + 4)
        };
        let header = PartHeader::parse(headers)?;

        let content_end = find(body, &next_delimiter, content_start).ok_or_else(|| {
            MultipartError::new(
                ErrorCode::Truncated,
                "the multipart body ends before its closing boundary",
            )
        })?;
        let content = body.slice(content_start..content_end);
        pos = content_end + next_delimiter.len();

        match header.filename {
            Some(filename) => {
                if form.file.is_some() {
                    return Err(MultipartError::new(
                        ErrorCode::MultipleFiles,
                        "only one file part is accepted",
                    ));
                }
                if content.len() as u64 > limits.max_file_bytes {
                    return Err(MultipartError::new(
                        ErrorCode::FileTooLarge,
                        format!(
                            "the uploaded file exceeds the limit of {} bytes",
                            limits.max_file_bytes
                        ),
                    ));
                }
                form.file = Some(FilePart {
                    name: header.name,
                    filename,
                    content_type: header.content_type,
                    data: content,
                });
            }
            None => {
                if content.len() > limits.max_field_bytes {
                    return Err(MultipartError::new(
                        ErrorCode::FieldTooLarge,
                        format!(
                            "field `{}` exceeds {} bytes",
                            header.name, limits.max_field_bytes
                        ),
                    ));
                }
                let value = String::from_utf8(content.to_vec()).map_err(|_| {
                    MultipartError::new(
                        ErrorCode::InvalidUtf8,
                        format!("field `{}` is not valid UTF-8", header.name),
                    )
                })?;
                form.fields.push((header.name, value));
            }
        }
    }
}

/// The headers of one part that matter for a form.
struct PartHeader {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
}

impl PartHeader {
    fn parse(raw: &[u8]) -> Result<Self, MultipartError> {
        let text = std::str::from_utf8(raw).map_err(|_| {
            MultipartError::new(
                ErrorCode::MalformedHeaders,
                "multipart part headers are not valid UTF-8",
            )
        })?;
        let mut disposition = None;
        let mut content_type = None;
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            let (key, value) = line.split_once(':').ok_or_else(|| {
                MultipartError::new(
                    ErrorCode::MalformedHeaders,
                    format!("malformed part header line `{line}`"),
                )
            })?;
            let key = key.trim();
            if key.eq_ignore_ascii_case("content-disposition") {
                disposition = Some(value.trim().to_string());
            } else if key.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        let disposition = disposition.ok_or_else(|| {
            MultipartError::new(
                ErrorCode::MissingDisposition,
                "a multipart part has no Content-Disposition header",
            )
        })?;
        let params = disposition_params(&disposition)?;
        let name = params
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                MultipartError::new(ErrorCode::MissingName, "a multipart part has no field name")
            })?;
        let filename = params
            .iter()
            .find(|(k, _)| k == "filename")
            .map(|(_, v)| v.clone());
        Ok(Self {
            name,
            filename,
            content_type,
        })
    }
}

/// `form-data; name="a"; filename="b.wav"` → `[(name, a), (filename, b.wav)]`, keys lowercased.
fn disposition_params(value: &str) -> Result<Vec<(String, String)>, MultipartError> {
    let bad = || {
        MultipartError::new(
            ErrorCode::MalformedHeaders,
            format!("malformed Content-Disposition `{value}`"),
        )
    };
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::new(
            ErrorCode::MalformedHeaders,
            format!(
                "expected Content-Disposition form-data, got `{}`",
                kind.trim()
            ),
        ));
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok(params);
        }
        let eq = rest.find('=').ok_or_else(bad)?;
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted string; browsers escape `"` as `%22`, others as `\"`.
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.push(chars.next().ok_or_else(bad)?.1),
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => out.push(c),
                }
            }
            let end = end.ok_or_else(bad)?;
            value = out;
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        params.push((key, value));
    }
}

/// The first index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        let offset = haystack[i..haystack.len() - needle.len() + 1]
            .iter()
            .position(|b| *b == first)?;
        i += offset;
        if &haystack[i..i + needle.len()] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Bytes {
        Bytes::from(s.replace('\n', "\r\n"))
    }

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").unwrap(),
            "abc"
        );
        assert_eq!(
            boundary("Multipart/Form-Data;boundary=\"a b\"").unwrap(),
            "a b"
        );
        assert_eq!(
            boundary("application/json").unwrap_err().code.as_str(),
            "not_multipart"
        );
        assert_eq!(
            boundary("multipart/form-data").unwrap_err().code.as_str(),
            "missing_boundary"
        );
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "x".repeat(71)))
                .unwrap_err()
                .code
                .as_str(),
            "bad_boundary"
        );
    }

    #[test]
    fn fields_and_file() {
        let b = body(
            "preamble\n--XX\nContent-Disposition: form-data; name=\"model\"\n\nwhisper-1\n--XX\n\
             Content-Disposition: form-data; name=\"timestamp_granularities[]\"\n\nword\n--XX\n\
             Content-Disposition: form-data; name=\"timestamp_granularities[]\"\n\nsegment\n--XX\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".wav\"\nContent-Type: audio/wav\n\nRIFF\n\ndata\n--XX--\nepilogue",
        );
        let form = parse(&b, "XX", &Limits::default()).unwrap();
        assert_eq!(form.field("model"), Some("whisper-1"));
        assert_eq!(
            form.all("timestamp_granularities[]").collect::<Vec<_>>(),
            ["word", "segment"]
        );
        let file = form.file.unwrap();
        assert_eq!(file.name, "file");
        assert_eq!(file.filename, "a \"b\".wav");
        assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
        assert_eq!(&file.data[..], b"RIFF\r\n\r\ndata");
    }

    #[test]
    fn empty_values_and_binary_data() {
        let mut raw =
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.raw\"\r\n\r\n"
                .to_vec();
        let payload: Vec<u8> = (0..=255u8)
            .chain([b'\r', b'\n', b'-', b'-', b'b' + 1])
            .collect();
        raw.extend_from_slice(&payload);
        raw.extend_from_slice(
            b"\r\n--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n\r\n--b--\r\n",
        );
        let form = parse(&Bytes::from(raw), "b", &Limits::default()).unwrap();
        assert_eq!(form.field("prompt"), Some(""));
        assert_eq!(&form.file.unwrap().data[..], &payload[..]);
    }

    #[test]
    fn file_limit() {
        let b = body(
            "--b\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\n\n0123456789\n--b--\n",
        );
        let limits = Limits {
            max_file_bytes: 9,
            ..Limits::default()
        };
        let err = parse(&b, "b", &limits).unwrap_err();
        assert_eq!(err.code, ErrorCode::FileTooLarge);
        assert_eq!(ApiError::from(err).status, 413);
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        assert!(parse(&b, "b", &limits).is_ok());
    }

    #[test]
    fn audio_content_types() {
        let part = |ct: Option<&str>, name: &str| FilePart {
            name: "file".into(),
            filename: name.into(),
            content_type: ct.map(str::to_string),
            data: Bytes::new(),
        };
        assert_eq!(
            part(Some("audio/flac"), "a.wav")
                .audio_content_type()
                .as_deref(),
            Some("audio/flac")
        );
        assert_eq!(
            part(Some("application/octet-stream"), "a.MP3")
                .audio_content_type()
                .as_deref(),
            Some("audio/mpeg")
        );
        assert_eq!(
            part(None, "a.ogg").audio_content_type().as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(part(None, "noext").audio_content_type(), None);
        assert_eq!(
            part(Some("text/plain"), "a.flac")
                .audio_content_type()
                .as_deref(),
            Some("audio/flac")
        );
        assert_eq!(audio_mime(Some("application/x-www-form-urlencoded")), None);
        assert_eq!(
            audio_mime(Some("audio/ogg; codecs=opus")),
            Some("audio/ogg; codecs=opus")
        );
    }

    #[test]
    fn finds_needles() {
        assert_eq!(find(b"aaab", b"ab", 0), Some(2));
        assert_eq!(find(b"ab", b"ab", 1), None);
        assert_eq!(find(b"", b"ab", 0), None);
    }
}
