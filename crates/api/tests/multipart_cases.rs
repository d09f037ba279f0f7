//! Data-driven multipart cases: every file in `tests/multipart/` is a request with the outcome
//! it must get.
//!
//! A case file starts with header lines (`content-type:`, `expect:` an error code or `ok`,
//! optionally `file:` the expected filename, `fields:` the expected field count, and
//! `newline: lf` to keep bare LF line ends), then an empty line and the body, whose LF line
//! ends become CRLF unless told otherwise.
//!
//! Each case is also read as a stream that trickles in a few bytes at a time, and must end the
//! same way as when parsed whole.

use std::path::Path;
use std::task::Poll;

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use vox_api::multipart::{self, Form, Limits, MultipartError};
use vox_api::{ApiError, ErrorCode};

struct Case {
    content_type: String,
    expect: String,
    file: Option<String>,
    fields: Option<usize>,
    body: Bytes,
}

fn load(path: &Path) -> Case {
    let raw = std::fs::read(path).unwrap();
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("header block, empty line, body");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let body = &raw[split + 2..];
    let header = |key: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
            .map(|v| v.trim().to_string())
    };
    let body = if header("newline").as_deref() == Some("lf") {
        body.to_vec()
    } else {
        body.iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect()
    };
    Case {
        content_type: header("content-type").unwrap_or_default(),
        expect: header("expect").expect("expect: line"),
        file: header("file"),
        fields: header("fields").map(|n| n.parse().unwrap()),
        body: Bytes::from(body),
    }
}

#[test]
fn multipart_cases() {
    let dir = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/multipart");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the case folder to be populated"
    );
    // Small limits so the limit cases stay small files.
    let limits = Limits {
        max_parts: 4,
        max_field_bytes: 64,
        max_file_bytes: 32,
    };
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case = load(&path);
        let result = multipart::boundary(&case.content_type)
            .and_then(|b| multipart::parse(&case.body, &b, &limits));
        if let Ok(boundary) = multipart::boundary(&case.content_type) {
            for size in [1, 3, 16] {
                let streamed = futures::executor::block_on(multipart::read(
                    trickle(&case.body, size),
                    &boundary,
                    &limits,
                ));
                let (streamed, whole) = (outcome(&streamed), outcome(&result));
                // Read as it arrives, an unterminated part over its limit is stopped at the
                // limit before the end of the body shows it unterminated.
                let stopped_early = whole == Err(ErrorCode::Truncated)
                    && matches!(
                        streamed,
                        Err(ErrorCode::FileTooLarge | ErrorCode::FieldTooLarge)
                    );
                assert!(
                    streamed == whole || stopped_early,
                    "{name} in chunks of {size}: {streamed:?}, whole: {whole:?}"
                );
            }
        }
        match (case.expect.as_str(), result) {
            ("ok", Ok(form)) => {
                assert_eq!(
                    form.file.as_ref().map(|f| f.filename.clone()),
                    case.file,
                    "{name}"
                );
                if let Some(n) = case.fields {
                    assert_eq!(form.fields.len(), n, "{name}");
                }
            }
            ("ok", Err(e)) => panic!("{name}: expected success, got {e:?}"),
            (code, Ok(form)) => panic!("{name}: expected {code}, got {form:?}"),
            (code, Err(e)) => {
                assert_eq!(e.code().as_str(), code, "{name}: {e}");
                let api = ApiError::from(e);
                assert!(api.status == 400 || api.status == 413, "{name}");
            }
        }
    }
}

/// The body in chunks of `size` bytes, each one only after the reader has waited for it.
fn trickle(body: &Bytes, size: usize) -> impl Stream<Item = Result<Bytes, ApiError>> + Send {
    let chunks: Vec<Bytes> = (0..body.len())
        .step_by(size)
        .map(|i| body.slice(i..(i + size).min(body.len())))
        .collect();
    stream::iter(chunks).then(|chunk| async move {
        let mut waited = false;
        futures::future::poll_fn(|cx| {
            if waited {
                Poll::Ready(())
            } else {
                waited = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        Ok(chunk)
    })
}

/// What a case ended with, to compare a streamed read with a whole parse.
fn outcome(result: &Result<Form, MultipartError>) -> Result<Form, ErrorCode> {
    result.clone().map_err(|e| e.code())
}
