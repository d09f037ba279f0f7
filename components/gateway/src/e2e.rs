//! `/api/e2e`: audio → transcript → speech, pipelined. asr streams segments as it decodes
//! them; each completed sentence goes to tts while later audio is still being transcribed, and
//! the audio leaves in order (WAV/PCM body, or events with the transcript interleaved).
//!
//! Two tasks share the work: the listener reads asr's lines and hands sentences on, the
//! speaker synthesizes them one request at a time (joining what has queued up meanwhile) and
//! writes the audio. When the client goes away the next write fails, the speaker stops, the
//! listener's hand-over fails, and dropping their upstream bodies stops tts and asr.
//!
//! With a responder configured (the `responder_url` variable, [`responder`]), the whole
//! transcript goes to it instead, and its reply is spoken the same way as it streams back.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::channel::mpsc::{self, Sender, UnboundedReceiver, UnboundedSender};
use futures::{FutureExt, SinkExt, StreamExt};
use serde_json::json;
use spin_sdk::http::Response;
use spin_sdk::http::body::IncomingBodyExt;
use vox_api::limits::MAX_TEXT_CHARS;
use vox_api::query::{AsrOptions, Query};
use vox_api::sentences::SentenceBuffer;
use vox_api::speech::{AudioFormat, Synthesize};
use vox_api::transcript::Segment;
use vox_api::transcript_stream::Summary;
use vox_api::{ApiError, ErrorCode, ErrorStyle, sse};
use vox_http_kit::body::{self, Chunk};
use vox_http_kit::header;
use vox_http_kit::reply::Result;
use vox_http_kit::upload::Request;

use crate::audio;
use crate::audio_sse::{self, Stop};
use crate::responder::{self, Reply};
use crate::transcribe::{self, Answer, Event, Lines};
use crate::upstream::{self, Ctx, Service};

/// Query keys for the synthesis half, beside the asr options.
const TTS_KEYS: &[&str] = &["voice", "speaker", "speed", "format", "sample_rate"];

pub async fn handle(req: Request, ctx: &Ctx) -> Result {
    let query = Query::parse(req.uri().query());
    let asr_options = AsrOptions::from_query(&query, TTS_KEYS)?;
    let events = sse::accepts_event_stream(header(&req, "accept"));
    // Events carry raw samples; otherwise the audio is WAV unless asked for pcm.
    let format = if events {
        AudioFormat::Pcm
    } else {
        AudioFormat::parse("format", query.get("format"), AudioFormat::Wav)?
    };
    // Later sentences' audio is appended as raw samples, which only WAV and PCM carry.
    if !matches!(format, AudioFormat::Wav | AudioFormat::Pcm) {
        return Err(ApiError::invalid_param(
            "format",
            "the end-to-end flow streams `wav` or `pcm`",
        ));
    }
    let template = Synthesize::from_query(String::new(), AudioFormat::Pcm, &query)?;
    // Reject bad synthesis options before spending a transcription on them.
    if let Some(speed) = template.speed {
        vox_api::speech::check_speed(speed)?;
    }
    if let Some(rate) = template.sample_rate {
        vox_api::speech::check_sample_rate(rate)?;
    }

    let responder = upstream::responder_url().await;
    let resp = transcribe::upload(req, &asr_options, Answer::Streamed, ctx).await?;
    let mut lines = Lines::new(resp);
    let mut sentences = SentenceBuffer::default();
    // The answer starts with the first sentence: until then a failure, or no speech at
    // all, is still an error status.
    let mut heard = Vec::new();
    let (first, rest) = match responder {
        None => first_heard(lines, &mut sentences, &mut heard).await?,
        Some(url) => {
            let summary = hear_all(&mut lines, &mut heard).await?;
            let reply = responder::ask(&url, &summary, ctx).await?;
            first_replied(reply, summary, &mut sentences).await?
        }
    };
    let first = Synthesize {
        text: first,
        format,
        ..template.clone()
    };
    first.validate("transcript")?;
    let first_audio = upstream::post_json(Service::Tts, "/synthesize", &first, ctx).await?;
    let sample_rate: Option<u32> = first_audio
        .headers()
        .get("x-sample-rate")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());

    let (mut sink, out) = if events {
        let (tx, body) = audio_sse::channel();
        let mut out = audio_sse::reply(body);
        if let Some(rate) = first_audio.headers().get("x-sample-rate") {
            out.headers_mut().insert("x-sample-rate", rate.clone());
        }
        (Sink::Events(tx), out)
    } else {
        let (tx, body) = body::channel();
        (
            Sink::Audio(tx),
            audio::reply_with(&first_audio, format, body),
        )
    };
    for segment in &heard {
        // Nothing reads the body yet: this only fills its buffer.
        let _ = sink.transcript(segment).await;
    }
    let (said, to_speak) = mpsc::unbounded();
    match rest {
        Rest::Listening(lines) => {
            spin_sdk::wasip3::spawn(listen(lines, sentences, said, sink.clone()));
        }
        Rest::Replying {
            reply,
            summary,
            text,
        } => {
            let _ = sink.reply(&text).await;
            let replying = Replying {
                summary,
                text,
                sentences,
            };
            spin_sdk::wasip3::spawn(replying.relay(reply, said, sink.clone()));
        }
        Rest::Finished { summary, reply } => {
            if let Some(text) = &reply {
                let _ = sink.reply(text).await;
            }
            let _ = said.unbounded_send(Heard::Finished { summary, reply });
        }
    }
    let speaker = Speaker {
        template,
        sample_rate,
        request_id: ctx.request_id.clone(),
    };
    spin_sdk::wasip3::spawn(speaker.run(first_audio, to_speak, sink));
    Ok(out)
}

/// What is left to read once the first sentence is known.
enum Rest {
    /// asr is still transcribing.
    Listening(Lines),
    /// The responder is still replying: `text` is what it said so far.
    Replying {
        reply: Reply,
        summary: Summary,
        text: String,
    },
    /// Everything is heard (and replied, with a responder).
    Finished {
        summary: Summary,
        reply: Option<String>,
    },
}

/// Reads asr's lines up to the first complete sentence, or to the end of a transcript that has
/// none.
async fn first_heard(
    mut lines: Lines,
    sentences: &mut SentenceBuffer,
    heard: &mut Vec<Segment>,
) -> std::result::Result<(String, Rest), ApiError> {
    loop {
        match lines.next().await? {
            Event::Segment(segment) => {
                let complete = sentences.push(&segment.text);
                heard.push(segment);
                if let Some(text) = complete {
                    return Ok((text, Rest::Listening(lines)));
                }
            }
            Event::Progress => {}
            Event::Done(summary) => {
                let text = sentences.finish().ok_or_else(no_speech)?;
                let rest = Rest::Finished {
                    summary,
                    reply: None,
                };
                return Ok((text, rest));
            }
        }
    }
}

/// Reads asr's lines to the end: the whole transcript, for the responder.
async fn hear_all(
    lines: &mut Lines,
    heard: &mut Vec<Segment>,
) -> std::result::Result<Summary, ApiError> {
    loop {
        match lines.next().await? {
            Event::Segment(segment) => heard.push(segment),
            Event::Progress => {}
            Event::Done(summary) if summary.text.trim().is_empty() => return Err(no_speech()),
            Event::Done(summary) => return Ok(summary),
        }
    }
}

/// Reads the responder's reply up to its first complete sentence, or to the end of a reply that
/// has none.
async fn first_replied(
    mut reply: Reply,
    summary: Summary,
    sentences: &mut SentenceBuffer,
) -> std::result::Result<(String, Rest), ApiError> {
    let mut text = String::new();
    loop {
        match reply.next().await? {
            Some(piece) => {
                text.push_str(&piece);
                if let Some(first) = sentences.push(&piece) {
                    let rest = Rest::Replying {
                        reply,
                        summary,
                        text,
                    };
                    return Ok((first, rest));
                }
            }
            None => {
                let first = sentences.finish().ok_or_else(|| {
                    ApiError::upstream_invalid(Service::Responder.name(), "the reply is empty")
                })?;
                let rest = Rest::Finished {
                    summary,
                    reply: Some(text),
                };
                return Ok((first, rest));
            }
        }
    }
}

fn no_speech() -> ApiError {
    ApiError::new(ErrorCode::NoSpeech, "no speech was recognized in the audio")
}

/// What the listener hands the speaker, in order.
enum Heard {
    /// Text of one or more complete sentences.
    Sentence(String),
    /// Everything is heard and, with a responder, replied.
    Finished {
        summary: Summary,
        reply: Option<String>,
    },
    /// The transcription failed part-way.
    Failed(ApiError),
}

/// Reads asr's lines to their end: transcript events out as they come, sentences on to the
/// speaker as they complete.
async fn listen(
    mut lines: Lines,
    mut sentences: SentenceBuffer,
    said: UnboundedSender<Heard>,
    mut sink: Sink,
) {
    loop {
        // Every second without a line the listener looks up: events carry a heartbeat, which
        // notices a client that left while asr decodes, and either way a speaker that stopped
        // (its client gone) ends the listening, and with it the decoding.
        let Some(next) = lines.next_within(sse::HEARTBEAT).await else {
            if sink.heartbeat().await.is_err() || said.is_closed() {
                return;
            }
            continue;
        };
        let heard = match next {
            Ok(Event::Segment(segment)) => {
                if sink.transcript(&segment).await.is_err() {
                    return;
                }
                match sentences.push(&segment.text) {
                    Some(text) => Heard::Sentence(text),
                    None => continue,
                }
            }
            Ok(Event::Progress) => continue,
            Ok(Event::Done(summary)) => return finish(&said, &mut sentences, summary, None),
            Err(e) => Heard::Failed(e),
        };
        if !hand_over(&said, heard) {
            return;
        }
    }
}

/// Hands what was heard on to the speaker; false once there is nothing more to hand over: after
/// a failure, or when the speaker has stopped (the client is gone).
fn hand_over(said: &UnboundedSender<Heard>, heard: Heard) -> bool {
    let failed = matches!(heard, Heard::Failed(_));
    said.unbounded_send(heard).is_ok() && !failed
}

/// The end of what there is to speak: the last words, then the summary.
fn finish(
    said: &UnboundedSender<Heard>,
    sentences: &mut SentenceBuffer,
    summary: Summary,
    reply: Option<String>,
) {
    if let Some(text) = sentences.finish() {
        let _ = said.unbounded_send(Heard::Sentence(text));
    }
    let _ = said.unbounded_send(Heard::Finished { summary, reply });
}

/// Reads the rest of the responder's reply: its text out as `reply` events, sentences on to
/// the speaker as they complete.
struct Replying {
    summary: Summary,
    /// The reply so far.
    text: String,
    sentences: SentenceBuffer,
}

impl Replying {
    async fn relay(mut self, mut reply: Reply, said: UnboundedSender<Heard>, mut sink: Sink) {
        loop {
            let heard = match reply.next().await {
                Ok(Some(piece)) => {
                    if sink.reply(&piece).await.is_err() {
                        return;
                    }
                    self.text.push_str(&piece);
                    match self.sentences.push(&piece) {
                        Some(text) => Heard::Sentence(text),
                        None => continue,
                    }
                }
                Ok(None) => {
                    let reply = Some(self.text);
                    return finish(&said, &mut self.sentences, self.summary, reply);
                }
                Err(e) => Heard::Failed(e),
            };
            if !hand_over(&said, heard) {
                return;
            }
        }
    }
}

/// Synthesizes what the listener hears, in order, and writes the audio out.
struct Speaker {
    template: Synthesize,
    sample_rate: Option<u32>,
    request_id: String,
}

impl Speaker {
    async fn run(self, first: Response, mut heard: UnboundedReceiver<Heard>, mut sink: Sink) {
        let ctx = Ctx {
            request_id: self.request_id.clone(),
        };
        let mut bytes = match sink.relay(first, self.sample_rate).await {
            Ok(n) => n,
            Err(stop) => return sink.stopped(stop).await,
        };
        let mut queue = VecDeque::new();
        loop {
            if queue.is_empty() {
                match heard.next().await {
                    Some(next) => queue.push_back(next),
                    None => return,
                }
            }
            // Whatever else has been heard meanwhile is spoken in the same request.
            while let Some(Some(next)) = heard.next().now_or_never() {
                queue.push_back(next);
            }
            let Some(next) = queue.pop_front() else {
                continue;
            };
            let mut text = match next {
                Heard::Sentence(text) => text,
                Heard::Finished { summary, reply } => {
                    return sink.done(&summary, reply, bytes, self.sample_rate).await;
                }
                Heard::Failed(e) => return sink.fail(&e).await,
            };
            while let Some(Heard::Sentence(more)) = queue.front() {
                if text.chars().count() + 1 + more.chars().count() > MAX_TEXT_CHARS {
                    break;
                }
                text.push(' ');
                text.push_str(more);
                queue.pop_front();
            }
            let synth = Synthesize {
                text,
                format: AudioFormat::Pcm,
                ..self.template.clone()
            };
            let resp = match upstream::post_json(Service::Tts, "/synthesize", &synth, &ctx).await {
                Ok(resp) => resp,
                Err(e) => return sink.fail(&e).await,
            };
            match sink.relay(resp, self.sample_rate).await {
                Ok(n) => bytes += n,
                Err(stop) => return sink.stopped(stop).await,
            }
        }
    }
}

/// Where the answer goes: the audio itself, or events.
#[derive(Clone)]
enum Sink {
    Audio(Sender<Chunk>),
    Events(Sender<String>),
}

impl Sink {
    /// A `transcript` event for a decoded segment (the audio body carries none).
    async fn transcript(&mut self, segment: &Segment) -> std::result::Result<(), Stop> {
        match self {
            Sink::Audio(_) => Ok(()),
            Sink::Events(tx) => {
                let data = json!({"id": segment.id, "start": segment.start, "end": segment.end, "text": segment.text});
                audio_sse::send(tx, sse::named_json("transcript", &data)).await
            }
        }
    }

    /// A `reply` event for a piece of the responder's reply (the audio body carries none).
    async fn reply(&mut self, text: &str) -> std::result::Result<(), Stop> {
        match self {
            Sink::Audio(_) => Ok(()),
            Sink::Events(tx) => {
                audio_sse::send(tx, sse::named_json("reply", &json!({"text": text}))).await
            }
        }
    }

    async fn heartbeat(&mut self) -> std::result::Result<(), Stop> {
        match self {
            Sink::Audio(_) => Ok(()),
            Sink::Events(tx) => audio_sse::send(tx, sse::comment("listening")).await,
        }
    }

    /// Writes one tts answer's audio; returns its bytes.
    async fn relay(
        &mut self,
        resp: Response,
        sample_rate: Option<u32>,
    ) -> std::result::Result<u64, Stop> {
        match self {
            Sink::Events(tx) => {
                let event = |audio: &str| {
                    sse::named_json(
                        "audio",
                        &json!({"audio": audio, "sample_rate": sample_rate, "channels": 1}),
                    )
                };
                audio_sse::relay_pcm(tx, resp, event).await
            }
            Sink::Audio(tx) => {
                let mut chunks = resp.into_body().stream();
                let mut total = 0u64;
                while let Some(chunk) = chunks.next().await {
                    let chunk: Bytes = chunk.map_err(|e| Stop::Upstream(format!("{e:?}")))?;
                    total += chunk.len() as u64;
                    tx.send(Ok(chunk)).await.map_err(|_| Stop::ClientGone)?;
                }
                Ok(total)
            }
        }
    }

    /// The end of a complete answer.
    async fn done(
        &mut self,
        summary: &Summary,
        reply: Option<String>,
        bytes: u64,
        sample_rate: Option<u32>,
    ) {
        if let Sink::Events(tx) = self {
            let mut data = json!({
                "text": summary.text,
                "language": summary.language,
                "duration": summary.duration,
                "usage": summary.usage,
                "bytes": bytes,
                "sample_rate": sample_rate,
            });
            if let Some(reply) = reply {
                data["reply"] = json!(reply.trim());
            }
            let _ = audio_sse::send(tx, sse::named_json("done", &data)).await;
        }
    }

    /// A failure after the answer began: an `error` event, or the audio body cut short.
    async fn fail(&mut self, e: &ApiError) {
        match self {
            Sink::Events(tx) => {
                let _ =
                    audio_sse::send(tx, sse::named_json("error", &e.to_json(ErrorStyle::Native)))
                        .await;
            }
            Sink::Audio(tx) => {
                let _ = tx.send(Err(std::io::Error::other(e.message.clone()))).await;
            }
        }
    }

    async fn stopped(&mut self, stop: Stop) {
        if let Stop::Upstream(e) = stop {
            self.fail(&ApiError::upstream_invalid("tts", e)).await;
        }
    }
}
