//! The streamed transcript: one NDJSON line per segment, written as each window is decoded,
//! then the summary. The decoding runs a window at a time between writes, so a client that
//! goes away (the body's receiver is dropped) stops it at the next window.

use std::rc::Rc;

use bytes::Bytes;
use futures::SinkExt;
use futures::channel::{mpsc, oneshot};
use vox_api::ApiError;
use vox_api::transcript_stream::{Line, NDJSON, Summary, Usage};
use vox_http_kit::body::{self, Chunk};
use vox_http_kit::{Result, reply};
use vox_whisper::{Model, TranscribeOptions};

use crate::wire::wire_segment;

/// Starts the transcription; answers once its set-up (features, VAD, language) has passed, so
/// a bad option is still a 4xx, then streams the lines.
pub async fn respond(model: Rc<Model>, samples: Vec<f32>, options: TranscribeOptions) -> Result {
    // Each window waits until its lines are taken (backpressure).
    let (tx, body) = body::channel();
    let (started, ready) = oneshot::channel::<std::result::Result<(), ApiError>>();
    spin_sdk::wasip3::spawn(run(model, samples, options, tx, started));
    ready
        .await
        .map_err(|_| ApiError::internal("the transcription stopped before it started"))??;

    let mut resp = reply::streamed(NDJSON, body);
    reply::set_header(&mut resp, "cache-control", "no-store");
    Ok(resp)
}

async fn run(
    model: Rc<Model>,
    samples: Vec<f32>,
    options: TranscribeOptions,
    mut tx: mpsc::Sender<Chunk>,
    started: oneshot::Sender<std::result::Result<(), ApiError>>,
) {
    let mut transcription = match model.transcription(&samples, &options) {
        Ok(t) => t,
        Err(e) => {
            let _ = started.send(Err(e.into()));
            return;
        }
    };
    drop(samples);
    if started.send(Ok(())).is_err() {
        return;
    }
    let eot = model.tokenizer().special.eot;
    let mut text = String::new();
    let mut output_tokens = 0u64;
    for decoded in transcription.by_ref() {
        let lines = match decoded {
            Ok(decoded) if decoded.segments.is_empty() => {
                vec![Line::Progress { end: decoded.end }]
            }
            Ok(decoded) => decoded
                .segments
                .into_iter()
                .map(|s| {
                    text.push_str(&s.text);
                    output_tokens += s.tokens.iter().filter(|&&t| t < eot).count() as u64;
                    Line::Segment(wire_segment(s))
                })
                .collect(),
            Err(e) => {
                let _ = send(&mut tx, &Line::error(&e.into())).await;
                return;
            }
        };
        for line in &lines {
            if send(&mut tx, line).await.is_err() {
                // The client is gone: dropping the transcription ends the work here.
                return;
            }
        }
        if client_gone(&tx).await {
            return;
        }
    }
    let duration = transcription.duration();
    let done = Line::Done(Summary {
        text: text.trim().to_string(),
        language: Some(transcription.language().to_string()),
        duration,
        usage: Usage {
            input_tokens: Usage::audio_tokens(duration),
            output_tokens,
        },
    });
    let _ = send(&mut tx, &done).await;
}

async fn send(tx: &mut mpsc::Sender<Chunk>, line: &Line) -> std::result::Result<(), ()> {
    tx.send(Ok(Bytes::from(line.to_ndjson())))
        .await
        .map_err(|_| ())
}

/// Lets the body writer hand the lines just sent to the host, then says whether it found the
/// reader gone. A send only fails after the writer has failed a write, so without this check
/// a client that left would cost one more window of decoding.
async fn client_gone(tx: &mpsc::Sender<Chunk>) -> bool {
    for _ in 0..WRITER_TURNS {
        spin_sdk::wit_bindgen::yield_async().await;
        if tx.is_closed() {
            return true;
        }
    }
    false
}

/// Turns of the event loop the writer gets to take a chunk and try to write it.
const WRITER_TURNS: usize = 4;
