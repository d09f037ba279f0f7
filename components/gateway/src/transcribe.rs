//! Sending audio to asr `/transcribe`: a raw upload streamed through, or a file from a form;
//! the answer as one JSON transcript or, streamed, as its lines ([`Lines`]).

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use futures::future::Either;
use spin_sdk::http::{BoxBody, Response};
use vox_api::ApiError;
use vox_api::limits::MAX_UPLOAD_BYTES;
use vox_api::query::AsrOptions;
use vox_api::transcript::Segment;
use vox_api::transcript_stream::{self, Line, LineSplitter, NDJSON, Summary};
use vox_http_kit::body::{check_length, forward_bounded};
use vox_http_kit::header;
use vox_http_kit::upload::Request;

use crate::upstream::{self, Chunks, Ctx, Service};

/// How asr answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// One transcript JSON once decoding is done.
    Whole,
    /// NDJSON lines as the windows are decoded.
    Streamed,
}

/// Forwards a raw audio request body to asr `/transcribe`, checking the size as it goes.
pub async fn upload(
    req: Request,
    opts: &AsrOptions,
    answer: Answer,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    check_length(&req, MAX_UPLOAD_BYTES, "the audio upload")?;
    let content_type = header(&req, "content-type").map(str::to_string);
    if content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/"))
    {
        return Err(ApiError::unsupported_media_type(
            "send the audio file itself as the body; multipart uploads go to /v1/audio/transcriptions",
        ));
    }
    let content_type = vox_api::multipart::audio_mime(content_type.as_deref()).map(str::to_string);
    let body = forward_bounded(req, MAX_UPLOAD_BYTES);
    send(opts, content_type.as_deref(), body, answer, ctx).await
}

/// POSTs audio to asr `/transcribe` with the options as its query.
pub async fn send(
    opts: &AsrOptions,
    content_type: Option<&str>,
    body: BoxBody,
    answer: Answer,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    let query = opts.to_query();
    let path = if query.is_empty() {
        "/transcribe".to_string()
    } else {
        format!("/transcribe?{query}")
    };
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    if answer == Answer::Streamed {
        headers.push(("accept", NDJSON));
    }
    upstream::send(Service::Asr, http::Method::POST, &path, &headers, body, ctx).await
}

/// What a streamed asr answer says, line by line.
pub enum Event {
    Segment(Segment),
    /// A window decoded without speech.
    Progress,
    Done(Summary),
}

/// The lines of a streamed asr answer, read as they arrive. Dropping it drops the upstream
/// body, which stops the decoding.
pub struct Lines {
    chunks: Chunks,
    splitter: LineSplitter,
    ready: VecDeque<Vec<u8>>,
    ended: bool,
}

impl Lines {
    pub fn new(resp: Response) -> Self {
        Self {
            chunks: upstream::chunks(resp),
            splitter: LineSplitter::default(),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event, or `None` if `wait` passes first (so the caller can write a heartbeat
    /// and learn whether its client is still there); reading resumes where it stopped.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Result<Event, ApiError>> {
        let next = std::pin::pin!(self.next());
        let tick = std::pin::pin!(spin_sdk::time::sleep(wait));
        match futures::future::select(next, tick).await {
            Either::Left((event, _)) => Some(event),
            Either::Right(_) => None,
        }
    }

    /// The next segment, progress or summary line. An error line, a broken stream, or one
    /// that ends before its summary is an error.
    pub async fn next(&mut self) -> Result<Event, ApiError> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                return match Line::parse(Service::Asr.name(), &line)? {
                    Line::Segment(segment) => Ok(Event::Segment(segment)),
                    Line::Progress { .. } => Ok(Event::Progress),
                    Line::Done(summary) => Ok(Event::Done(summary)),
                    Line::Error { status, error } => Err(transcript_stream::into_error(
                        Service::Asr.name(),
                        status,
                        &error,
                    )),
                };
            }
            if self.ended {
                return Err(ApiError::upstream_invalid(
                    Service::Asr.name(),
                    "the transcript stream ended before its summary",
                ));
            }
            match self.chunks.next().await {
                Some(Ok(chunk)) => self.ready.extend(self.splitter.push(&chunk)?),
                Some(Err(e)) => return Err(ApiError::upstream_invalid(Service::Asr.name(), e)),
                None => {
                    self.ended = true;
                    self.ready.extend(self.splitter.finish());
                }
            }
        }
    }
}
