//! `/api/e2e`: audio → transcript → the transcript spoken, streamed as it is synthesized.

use serde_json::json;
use spin_sdk::http::Request;
use vox_api::query::{AsrOptions, Query};
use vox_api::speech::{AudioFormat, Synthesize};
use vox_api::transcript::Transcript;
use vox_api::{ApiError, ErrorCode, ErrorStyle, percent, sse};

use vox_http_kit::header;
use vox_http_kit::reply::{self, Result};

use crate::audio_sse::{self, Stop};
use crate::upstream::{self, Ctx, Service};
use crate::{audio, transcribe};

/// Query keys for the synthesis half, beside the asr options.
const TTS_KEYS: &[&str] = &["voice", "speaker", "speed", "format"];

/// Longest `x-transcript` header value; the event stream carries any length.
const MAX_TRANSCRIPT_HEADER: usize = 8 * 1024;

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
    let mut synth = Synthesize::from_query(String::new(), format, &query)?;
    // Reject bad synthesis options before spending a transcription on them.
    if let Some(speed) = synth.speed {
        vox_api::speech::check_speed(speed)?;
    }

    let resp = transcribe::upload(req, &asr_options, ctx).await?;
    let transcript: Transcript = upstream::read_json(Service::Asr, resp).await?;
    synth.text = transcript.text.trim().to_string();
    if synth.text.is_empty() {
        return Err(ApiError::new(
            ErrorCode::NoSpeech,
            "no speech was recognized in the audio",
        ));
    }
    synth.validate("transcript")?;

    if events {
        return Ok(event_stream(transcript, synth, ctx.request_id.clone()));
    }
    let resp = upstream::post_json(Service::Tts, "/synthesize", &synth, ctx).await?;
    let mut out = audio::reply(resp, format);
    let (value, truncated) = transcript_header(&synth.text);
    reply::set_header(&mut out, "x-transcript", &value);
    if truncated {
        reply::set_header(&mut out, "x-transcript-truncated", "true");
    }
    Ok(out)
}

/// `transcript`, then `audio` events (base64 PCM), then `done`; failures after the stream
/// started arrive as an `error` event.
fn event_stream(transcript: Transcript, synth: Synthesize, request_id: String) -> reply::Reply {
    let (mut tx, body) = audio_sse::channel();
    let (value, truncated) = transcript_header(&synth.text);
    spin_sdk::wasip3::spawn(async move {
        let ctx = Ctx { request_id };
        let first = json!({"text": synth.text, "language": transcript.language, "duration": transcript.duration, "segments": transcript.segments});
        if audio_sse::send(&mut tx, sse::named_json("transcript", &first))
            .await
            .is_err()
        {
            return;
        }
        let resp = match upstream::post_json(Service::Tts, "/synthesize", &synth, &ctx).await {
            Ok(resp) => resp,
            Err(e) => {
                let _ = audio_sse::send(
                    &mut tx,
                    sse::named_json("error", &e.to_json(ErrorStyle::Native)),
                )
                .await;
                return;
            }
        };
        let sample_rate: Option<u32> = resp
            .headers()
            .get("x-sample-rate")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let event = |audio: &str| {
            sse::named_json(
                "audio",
                &json!({"audio": audio, "sample_rate": sample_rate, "channels": 1}),
            )
        };
        let end = match audio_sse::relay_pcm(&mut tx, resp, event).await {
            Ok(bytes) => {
                sse::named_json("done", &json!({"bytes": bytes, "sample_rate": sample_rate}))
            }
            Err(Stop::ClientGone) => return,
            Err(Stop::Upstream(e)) => sse::named_json(
                "error",
                &ApiError::upstream_invalid("tts", e).to_json(ErrorStyle::Native),
            ),
        };
        let _ = audio_sse::send(&mut tx, end).await;
    });
    let mut out = audio_sse::reply(body);
    reply::set_header(&mut out, "x-transcript", &value);
    if truncated {
        reply::set_header(&mut out, "x-transcript-truncated", "true");
    }
    out
}

/// The percent-encoded transcript for the `x-transcript` header, cut at a character if long.
fn transcript_header(text: &str) -> (String, bool) {
    percent::encode_within(text, MAX_TRANSCRIPT_HEADER)
}
