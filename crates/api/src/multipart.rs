//! `multipart/form-data` bodies read as they stream in (`multer`, as axum's `Multipart`
//! extractor does): text fields plus at most one file part, within [`Limits`].
//!
//! multer finds the parts; this module keeps the stable error codes it cannot tell apart on its
//! own: the opening boundary line is checked here (multer accepts it anywhere, even mid-line,
//! and reports every fault in it as one `IncompleteStream`), and each part's
//! `Content-Disposition` is parsed strictly (multer's reader ignores the disposition type and
//! an unterminated quote).

use bytes::{Buf, Bytes, BytesMut};
use futures::{FutureExt, Stream, StreamExt, TryStreamExt, stream};

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

/// Why a multipart body was rejected; [`MultipartError::code`] is stable and tested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("expected content-type multipart/form-data, got `{0}`")]
    NotMultipart(String),
    #[error("the multipart content-type has no boundary parameter")]
    MissingBoundary,
    #[error("the multipart boundary must be 1 to 70 characters")]
    BadBoundary,
    #[error("the body does not contain the multipart boundary")]
    MissingStart,
    #[error("a multipart boundary line must end with CRLF")]
    MalformedDelimiter,
    #[error("{0}")]
    MalformedHeaders(String),
    #[error("a multipart part has no Content-Disposition header")]
    MissingDisposition,
    #[error("a multipart part has no field name")]
    MissingName,
    #[error("only one file part is accepted")]
    MultipleFiles,
    #[error("more than {0} multipart parts")]
    TooManyParts(usize),
    #[error("the multipart body ends before its closing boundary")]
    Truncated,
    #[error("the uploaded file exceeds the limit of {0} bytes")]
    FileTooLarge(u64),
    #[error("field `{name}` exceeds {limit} bytes")]
    FieldTooLarge { name: String, limit: usize },
    #[error("field `{0}` is not valid UTF-8")]
    NotUtf8(String),
    /// The body itself could not be read (past its size limit, say): the reader's error.
    #[error("{0}")]
    Body(ApiError),
    /// A failure no request can cause (multer's part lock, an unexpected wait).
    #[error("multipart parser: {0}")]
    Parser(String),
}

impl MultipartError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotMultipart(_) => ErrorCode::NotMultipart,
            Self::MissingBoundary => ErrorCode::MissingBoundary,
            Self::BadBoundary => ErrorCode::BadBoundary,
            Self::MissingStart => ErrorCode::MissingStart,
            Self::MalformedDelimiter => ErrorCode::MalformedDelimiter,
            Self::MalformedHeaders(_) => ErrorCode::MalformedHeaders,
            Self::MissingDisposition => ErrorCode::MissingDisposition,
            Self::MissingName => ErrorCode::MissingName,
            Self::MultipleFiles => ErrorCode::MultipleFiles,
            Self::TooManyParts(_) => ErrorCode::TooManyParts,
            Self::Truncated => ErrorCode::Truncated,
            Self::FileTooLarge(_) => ErrorCode::FileTooLarge,
            Self::FieldTooLarge { .. } => ErrorCode::FieldTooLarge,
            Self::NotUtf8(_) => ErrorCode::InvalidUtf8,
            Self::Body(e) => e.code,
            Self::Parser(_) => ErrorCode::InternalError,
        }
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        match e {
            MultipartError::Body(e) => e,
            e => ApiError::new(e.code(), e.to_string()),
        }
    }
}

impl From<multer::Error> for MultipartError {
    fn from(e: multer::Error) -> Self {
        match e {
            multer::Error::IncompleteStream
            | multer::Error::IncompleteFieldData { .. }
            | multer::Error::IncompleteHeaders => Self::Truncated,
            multer::Error::ReadHeaderFailed(_)
            | multer::Error::DecodeHeaderName { .. }
            | multer::Error::DecodeHeaderValue { .. } => {
                Self::MalformedHeaders(format!("malformed multipart part headers: {e}"))
            }
            multer::Error::StreamReadFailed(cause) => match cause.downcast::<ApiError>() {
                Ok(e) => Self::Body(*e),
                Err(cause) => Self::Body(ApiError::new(
                    ErrorCode::BodyReadFailed,
                    format!("reading the multipart body failed: {cause}"),
                )),
            },
            e => Self::Parser(e.to_string()),
        }
    }
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        match e {
            multer::Error::NoBoundary => MultipartError::MissingBoundary,
            // A form whose parameters do not parse has no usable boundary.
            multer::Error::DecodeContentType(_)
                if mime.eq_ignore_ascii_case("multipart/form-data") =>
            {
                MultipartError::BadBoundary
            }
            _ => MultipartError::NotMultipart(mime.to_string()),
        }
    })?;
    // RFC 2046: 1 to 70 characters, and it must not end in a space.
    if boundary.is_empty() || boundary.len() > 70 || boundary.ends_with(' ') {
        return Err(MultipartError::BadBoundary);
    }
    Ok(boundary)
}

/// Parses a complete `multipart/form-data` body already in memory.
pub fn parse(body: &Bytes, boundary: &str, limits: &Limits) -> Result<Form, MultipartError> {
    let chunks = stream::iter([Ok(body.clone())]);
    // An in-memory body is never waited for, so the future completes on its first poll.
    read(chunks, boundary, limits)
        .now_or_never()
        .unwrap_or_else(|| Err(MultipartError::Parser("waited on an in-memory body".into())))
}

/// Reads a `multipart/form-data` body chunk by chunk as it arrives: only the text fields and
/// the file's data are kept, and a fault stops the read at once.
pub async fn read<S>(body: S, boundary: &str, limits: &Limits) -> Result<Form, MultipartError>
where
    S: Stream<Item = Result<Bytes, ApiError>> + Send,
{
    let mut body = Box::pin(body);
    let opening = opening(&mut body, boundary).await?;
    let chunks = stream::iter([Ok(opening)]).chain(body);
    let mut parts = multer::Multipart::new(chunks, boundary);
    let mut form = Form::default();
    let mut count = 0;
    while let Some(mut part) = parts.next_field().await? {
        count += 1;
        if count > limits.max_parts {
            return Err(MultipartError::TooManyParts(limits.max_parts));
        }
        let header = PartHeader::parse(
            part.headers()
                .get("content-disposition")
                .map(|v| v.as_bytes()),
            part.headers().get("content-type").map(|v| v.as_bytes()),
        )?;
        match header.filename {
            Some(filename) => {
                if form.file.is_some() {
                    return Err(MultipartError::MultipleFiles);
                }
                let max = limits.max_file_bytes;
                let data = collect(&mut part, max, || MultipartError::FileTooLarge(max)).await?;
                form.file = Some(FilePart {
                    name: header.name,
                    filename,
                    content_type: header.content_type,
                    data,
                });
            }
            None => {
                let max = limits.max_field_bytes;
                let too_large = || MultipartError::FieldTooLarge {
                    name: header.name.clone(),
                    limit: max,
                };
                let data = collect(&mut part, max as u64, too_large).await?;
                let value = String::from_utf8(data.to_vec())
                    .map_err(|_| MultipartError::NotUtf8(header.name.clone()))?;
                form.fields.push((header.name, value));
            }
        }
    }
    Ok(form)
}

/// Reads up to the first boundary line and checks it: it starts the body or follows a CRLF, and
/// ends in optional spaces or tabs and a CRLF (or `--`, an empty form). Returns the body from
/// that boundary on; the preamble before it is dropped as it is read.
async fn opening<S>(body: &mut S, boundary: &str) -> Result<Bytes, MultipartError>
where
    S: Stream<Item = Result<Bytes, ApiError>> + Unpin,
{
    let delimiter = format!("--{boundary}");
    let after_line = format!("\r\n{delimiter}");
    let mut buf = BytesMut::new();
    let mut preamble_dropped = false;
    let mut eof = false;
    loop {
        let start = if !preamble_dropped && buf.starts_with(delimiter.as_bytes()) {
            Some(0)
        } else {
            memchr::memmem::find(&buf, after_line.as_bytes()).map(|i| i + 2)
        };
        match start {
            Some(start) => {
                let rest = &buf[start + delimiter.len()..];
                let padding = rest
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                if eof || rest.len() >= padding + 2 {
                    if rest.starts_with(b"--") || rest[padding..].starts_with(b"\r\n") {
                        return Ok(buf.split_off(start).freeze());
                    }
                    return Err(if rest.len() <= padding {
                        MultipartError::Truncated
                    } else {
                        MultipartError::MalformedDelimiter
                    });
                }
            }
            None if eof => return Err(MultipartError::MissingStart),
            None => {
                // Keep only what could still begin a boundary line.
                let keep = after_line.len() - 1;
                if buf.len() > keep {
                    buf.advance(buf.len() - keep);
                    preamble_dropped = true;
                }
            }
        }
        match body.next().await {
            Some(chunk) => buf.extend_from_slice(&chunk.map_err(MultipartError::Body)?),
            None => eof = true,
        }
    }
}

/// A part's data, at most `max` bytes; one chunk is kept as it is, without a copy.
async fn collect(
    part: &mut multer::Field<'_>,
    max: u64,
    too_large: impl Fn() -> MultipartError,
) -> Result<Bytes, MultipartError> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0u64;
    while let Some(chunk) = part.try_next().await? {
        len += chunk.len() as u64;
        if len > max {
            return Err(too_large());
        }
        chunks.push(chunk);
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.remove(0),
        _ => chunks.concat().into(),
    })
}

/// A part header's value as text.
fn header_text(raw: &[u8]) -> Result<&str, MultipartError> {
    std::str::from_utf8(raw).map(str::trim).map_err(|_| {
        MultipartError::MalformedHeaders("multipart part headers are not valid UTF-8".into())
    })
}

/// The headers of one part that matter for a form.
struct PartHeader {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
}

impl PartHeader {
    fn parse(
        disposition: Option<&[u8]>,
        content_type: Option<&[u8]>,
    ) -> Result<Self, MultipartError> {
        let disposition = header_text(disposition.ok_or(MultipartError::MissingDisposition)?)?;
        let content_type = content_type
            .map(header_text)
            .transpose()?
            .map(str::to_string);
        let params = disposition_params(disposition)?;
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        Ok(Self {
            name: param("name").ok_or(MultipartError::MissingName)?,
            filename: param("filename"),
            content_type,
        })
    }
}

/// `form-data; name="a"; filename="b.wav"` → `[(name, a), (filename, b.wav)]`, keys lowercased.
fn disposition_params(value: &str) -> Result<Vec<(String, String)>, MultipartError> {
    let bad =
        || MultipartError::MalformedHeaders(format!("malformed Content-Disposition `{value}`"));
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::MalformedHeaders(format!(
            "expected Content-Disposition form-data, got `{}`",
            kind.trim()
        )));
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
            boundary("application/json").unwrap_err().code().as_str(),
            "not_multipart"
        );
        assert_eq!(
            boundary("multipart/form-data").unwrap_err().code().as_str(),
            "missing_boundary"
        );
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "x".repeat(71)))
                .unwrap_err()
                .code()
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
    fn empty_form_and_preamble_in_chunks() {
        assert_eq!(
            parse(&body("--b--\n"), "b", &Limits::default()),
            Ok(Form::default())
        );
        // A long preamble, dropped as it is read, with the boundary split across chunks.
        let preamble = "p".repeat(100);
        let raw = body(&format!(
            "{preamble}\n--b\nContent-Disposition: form-data; name=\"a\"\n\n1\n--b--\n"
        ));
        let chunks: Vec<_> = raw
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let form = read(stream::iter(chunks), "b", &Limits::default())
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(form.field("a"), Some("1"));
    }

    #[test]
    fn body_errors_pass_through() {
        let too_large = ApiError::payload_too_large("the multipart upload", 10);
        let chunks = [Ok(Bytes::from_static(b"--b\r\n")), Err(too_large.clone())];
        let err = read(stream::iter(chunks), "b", &Limits::default())
            .now_or_never()
            .unwrap()
            .unwrap_err();
        assert_eq!(ApiError::from(err), too_large);
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
        assert_eq!(err.code(), ErrorCode::FileTooLarge);
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
}
