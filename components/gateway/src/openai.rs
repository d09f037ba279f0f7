//! The OpenAI-compatible API: `/v1/audio/transcriptions`, `/v1/audio/translations`,
//! `/v1/audio/speech`, `/v1/models` and `/v1/models/{model}`.

use serde_json::json;
use spin_sdk::http::{FullBody, box_body};
use vox_api::limits::{MAX_MULTIPART_BYTES, MAX_TTS_BODY_BYTES};
use vox_api::models::ModelList;
use vox_api::multipart::{self, Limits};
use vox_api::transcript::{Task, Transcript, render};
use vox_api::transcript_stream::OpenAiDeltas;
use vox_api::transcription_form::TranscriptionRequest;
use vox_api::voices::VoiceList;
use vox_api::{ApiError, ErrorStyle, speech, sse};
use vox_http_kit::body::{read_bounded, stream_bounded};
use vox_http_kit::header;
use vox_http_kit::reply::{self, Result};
use vox_http_kit::upload::Request;

use crate::audio_sse::{self, Stop};
use crate::transcribe::{Answer, Event, Lines};
use crate::upstream::{self, Ctx, Service};
use crate::{audio, transcribe};

/// A multipart upload in, a transcript in the requested `response_format` out.
pub async fn transcriptions(req: Request, ctx: &Ctx, task: Task) -> Result {
    let boundary = multipart::boundary(header(&req, "content-type").unwrap_or(""))?;
    // Multipart puts the fields around the file, so the whole form is read before asr hears
    // of it; it is parsed as it arrives, keeping only the fields and the file's data.
    let body = stream_bounded(req, MAX_MULTIPART_BYTES, "the multipart upload")?;
    let form = multipart::read(body, &boundary, &Limits::default()).await?;
    let request = TranscriptionRequest::from_form(&form, task)?;
    let file = form
        .file
        .as_ref()
        .filter(|f| f.name == "file")
        .ok_or_else(|| ApiError::missing_param("file"))?;

    if task == Task::Translate {
        let models: ModelList = upstream::get_json(Service::Asr, "/models", ctx).await?;
        models.check_translatable(request.options.model.as_deref())?;
    }

    let answer = if request.stream {
        Answer::Streamed
    } else {
        Answer::Whole
    };
    let resp = transcribe::send(
        &request.options,
        file.audio_content_type().as_deref(),
        box_body(FullBody::new(file.data.clone())),
        answer,
        ctx,
    )
    .await?;
    if request.stream {
        return Ok(transcript_events(Lines::new(resp)));
    }
    let transcript: Transcript = upstream::read_json(Service::Asr, resp).await?;
    let text = render(&transcript, request.format, task, request.granularities);
    Ok(reply::full(200, request.format.content_type(), text))
}

/// `stream=true`: a `transcript.text.delta` event per segment as asr decodes it, then
/// `transcript.text.done` with `usage`. While a window decodes, a comment goes out every
/// [`sse::HEARTBEAT`]: a client that went away is noticed then, and dropping the asr stream
/// stops the decoding at the end of its window.
fn transcript_events(mut lines: Lines) -> reply::Reply {
    let (mut tx, body) = audio_sse::channel();
    spin_sdk::wasip3::spawn(async move {
        let mut deltas = OpenAiDeltas::default();
        loop {
            let event = match lines.next_within(sse::HEARTBEAT).await {
                None => sse::comment("decoding"),
                Some(Ok(Event::Segment(segment))) => match deltas.delta(&segment.text) {
                    Some(delta) => sse::typed_json(&delta),
                    None => continue,
                },
                Some(Ok(Event::Progress)) => continue,
                Some(Ok(Event::Done(summary))) => {
                    let done = sse::typed_json(&OpenAiDeltas::done(&summary));
                    let _ = audio_sse::send(&mut tx, done).await;
                    return;
                }
                Some(Err(e)) => {
                    let error = sse::typed_json(&OpenAiDeltas::error(&e));
                    let _ = audio_sse::send(&mut tx, error).await;
                    return;
                }
            };
            if audio_sse::send(&mut tx, event).await.is_err() {
                return;
            }
        }
    });
    audio_sse::reply(body)
}

/// JSON in, audio streamed out: raw pcm/wav, or `speech.audio.delta` events.
pub async fn speech(req: Request, ctx: &Ctx) -> Result {
    let body = read_bounded(req, MAX_TTS_BODY_BYTES, "the speech request").await?;
    let mut plan = speech::parse_openai(&body)?;
    // tts resolves OpenAI voice names itself; OpenAI says 400 for a voice nobody knows.
    plan.synth.voice = Some(plan.voice.clone());
    let resp = upstream::post_json(Service::Tts, "/synthesize", &plan.synth, ctx)
        .await
        .map_err(vox_api::voices::openai_unknown_voice)?;
    if !plan.sse {
        return Ok(audio::reply(resp, plan.synth.format));
    }
    let sample_rate = resp.headers().get("x-sample-rate").cloned();
    let (mut tx, body) = audio_sse::channel();
    spin_sdk::wasip3::spawn(async move {
        let delta =
            |audio: &str| sse::typed_json(&json!({"type": "speech.audio.delta", "audio": audio}));
        let end = match audio_sse::relay_pcm(&mut tx, resp, delta).await {
            Ok(_) => {
                json!({"type": "speech.audio.done", "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}})
            }
            Err(Stop::ClientGone) => return,
            Err(Stop::Upstream(e)) => {
                ApiError::upstream_invalid("tts", e).to_json(ErrorStyle::OpenAi)
            }
        };
        let _ = audio_sse::send(&mut tx, sse::typed_json(&end)).await;
    });
    let mut out = audio_sse::reply(body);
    if let Some(rate) = sample_rate {
        out.headers_mut().insert("x-sample-rate", rate);
    }
    Ok(out)
}

/// What is installed: the asr service's models and the tts service's voices.
async fn installed(ctx: &Ctx) -> std::result::Result<(ModelList, VoiceList), ApiError> {
    let (asr, tts) = futures::join!(
        upstream::get_json::<ModelList>(Service::Asr, "/models", ctx),
        upstream::get_json::<VoiceList>(Service::Tts, "/voices", ctx)
    );
    Ok((asr?, tts?))
}

/// OpenAI's model list: transcription aliases, installed Whisper models, speech models.
pub async fn models(ctx: &Ctx) -> Result {
    let (asr, tts) = installed(ctx).await?;
    Ok(reply::json(200, &vox_api::models::openai_list(&asr, &tts)))
}

/// One model object, for any name a request may use; 404 `model_not_found` otherwise.
pub async fn model(path: &str, ctx: &Ctx) -> Result {
    let path = path.trim_end_matches('/');
    let id = vox_api::routes::path_param(vox_api::routes::OPENAI_MODEL_PATH, path)
        .ok_or_else(|| ApiError::missing_param("model"))?;
    let (asr, tts) = installed(ctx).await?;
    Ok(reply::json(
        200,
        &vox_api::models::openai_model(&asr, &tts, &id)?,
    ))
}
