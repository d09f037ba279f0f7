//! The OpenAI-compatible API: `/v1/audio/transcriptions`, `/v1/audio/translations`,
//! `/v1/audio/speech` and `/v1/models`.

use bytes::Bytes;
use serde_json::json;
use spin_sdk::http::{FullBody, Request, box_body};
use vox_api::limits::{MAX_MULTIPART_BYTES, MAX_TTS_BODY_BYTES};
use vox_api::models::ModelList;
use vox_api::multipart::{self, Form, Limits};
use vox_api::query::{AsrOptions, non_empty, parse_bool, parse_number};
use vox_api::transcript::{Granularities, ResponseFormat, Task, Transcript, render};
use vox_api::voices::VoiceList;
use vox_api::{ApiError, ErrorStyle, speech, sse};
use vox_http_kit::body::{read_bounded, stream_bounded};
use vox_http_kit::header;
use vox_http_kit::reply::{self, Result};

use crate::audio_sse::{self, Stop};
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

    let resp = transcribe::send(
        &request.options,
        file.audio_content_type().as_deref(),
        box_body(FullBody::new(file.data.clone())),
        ctx,
    )
    .await?;
    let transcript: Transcript = upstream::read_json(Service::Asr, resp).await?;

    if request.stream {
        return Ok(transcript_events(&transcript));
    }
    let text = render(&transcript, request.format, task, request.granularities);
    Ok(reply::full(200, request.format.content_type(), text))
}

/// The OpenAI form fields, validated.
struct TranscriptionRequest {
    options: AsrOptions,
    format: ResponseFormat,
    granularities: Granularities,
    stream: bool,
}

impl TranscriptionRequest {
    fn from_form(form: &Form, task: Task) -> std::result::Result<Self, ApiError> {
        let format = ResponseFormat::parse(form.field("response_format"))?;
        let granularities = Granularities::parse(
            form.all("timestamp_granularities[]")
                .chain(form.all("timestamp_granularities")),
        )?;
        let stream = form
            .field("stream")
            .map(|v| parse_bool("stream", v))
            .transpose()?
            .unwrap_or(false);
        let options = AsrOptions {
            model: non_empty(form.field("model")),
            // Translation always produces English; the source language is detected.
            language: if task == Task::Transcribe {
                non_empty(form.field("language"))
            } else {
                None
            },
            task: Some(task),
            temperature: form
                .field("temperature")
                .map(|v| parse_number("temperature", v))
                .transpose()?,
            initial_prompt: non_empty(form.field("prompt")),
            word_timestamps: (granularities.word && format == ResponseFormat::VerboseJson)
                .then_some(true),
            ..AsrOptions::default()
        };
        options.validate()?;
        Ok(Self {
            options,
            format,
            granularities,
            stream,
        })
    }
}

/// `stream=true`: the transcript as `transcript.text.delta` events (one per segment), then
/// `transcript.text.done`.
fn transcript_events(t: &Transcript) -> reply::Reply {
    let out: String = vox_api::transcript::stream_events(t)
        .iter()
        .map(sse::typed_json)
        .collect();
    audio_sse::reply(box_body(FullBody::new(Bytes::from(out))))
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

/// OpenAI's model list: transcription aliases, installed Whisper models, speech models.
pub async fn models(ctx: &Ctx) -> Result {
    let (asr, tts) = futures::join!(
        upstream::get_json::<ModelList>(Service::Asr, "/models", ctx),
        upstream::get_json::<VoiceList>(Service::Tts, "/voices", ctx)
    );
    Ok(reply::json(
        200,
        &vox_api::models::openai_list(&asr?, &tts?),
    ))
}
