//! `POST /transcribe`: an audio body (raw or multipart `file`) → transcript JSON, or with
//! `Accept: application/x-ndjson` the segments streamed as they are decoded (`stream`).

use bytes::Bytes;
use spin_sdk::http::Request;
use vox_api::query::{AsrOptions, Query};
use vox_api::transcript::Task;
use vox_api::transcript_stream::NDJSON;
use vox_api::usage;
use vox_api::{ApiError, multipart, sse};
use vox_audio::{DecodeOptions, DecodedAudio};
use vox_http_kit::{Result, body, reply};
use vox_whisper::TranscribeOptions;

use crate::wire::wire;
use crate::{limits, models, stream};

pub async fn handle(req: Request) -> Result {
    let query = Query::parse(req.uri().query());
    let content_type = header(&req, "content-type");
    let streamed = sse::accepts(header(&req, "accept").as_deref(), NDJSON);
    let (audio, hint, form_fields) = upload(req, content_type.as_deref()).await?;
    // Form fields may carry the options too; the query string wins.
    let mut pairs = form_fields;
    pairs.extend(query.0);
    let options = AsrOptions::from_query(&Query(pairs), &[])?;

    let model = models::for_request(options.model.as_deref()).await?;
    let decoded = decode(&audio, hint)?;
    let whisper_options = to_whisper(&options, model.is_multilingual())?;
    let detected = whisper_options.language.is_none();
    let seconds = decoded.duration.as_secs_f64();
    let mut resp = if streamed {
        stream::respond(model, decoded.samples, whisper_options).await?
    } else {
        let transcript = model.transcribe(&decoded.samples, &whisper_options)?;
        let body = serde_json::to_value(wire(transcript, detected))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        reply::json(200, &body)
    };
    reply::set_header(&mut resp, usage::AUDIO_SECONDS, &seconds.to_string());
    Ok(resp)
}

/// The audio bytes, a format hint, and any multipart text fields.
async fn upload(
    req: Request,
    content_type: Option<&str>,
) -> Result<(Bytes, Option<String>, Vec<(String, String)>)> {
    let bytes =
        body::read_bounded(req, limits::MAX_UPLOAD_BYTES as u64, "the audio upload").await?;
    let Some(ct) =
        content_type.filter(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"))
    else {
        return Ok((
            bytes,
            multipart::audio_mime(content_type).map(str::to_string),
            Vec::new(),
        ));
    };
    let boundary = multipart::boundary(ct).map_err(ApiError::from)?;
    let limits = multipart::Limits {
        max_file_bytes: limits::MAX_UPLOAD_BYTES as u64,
        ..Default::default()
    };
    let form = multipart::parse(&bytes, &boundary, &limits)?;
    let file = form.file.ok_or_else(|| ApiError::missing_param("file"))?;
    let hint = file.audio_content_type();
    Ok((file.data, hint, form.fields))
}

fn decode(audio: &[u8], hint: Option<String>) -> Result<DecodedAudio> {
    // The duration limit is vox-audio's default, the service's documented one.
    let mut options = DecodeOptions::default().with_max_bytes(Some(limits::MAX_UPLOAD_BYTES));
    if let Some(hint) = hint {
        options = options.with_hint(hint);
    }
    Ok(vox_audio::decode(audio, &options)?)
}

fn to_whisper(options: &AsrOptions, multilingual: bool) -> Result<TranscribeOptions> {
    let mut out = TranscribeOptions::default();
    match &options.language {
        // An English-only model cannot take another language: refused, not ignored.
        Some(lang) if !multilingual && lang != "en" => {
            return Err(ApiError::invalid_param(
                "language",
                format!(
                    "the model is English-only, so `language` can only be en (got `{lang}`); use a multilingual model"
                ),
            ));
        }
        Some(lang) => out.language = Some(lang.clone()),
        None if !multilingual => out.language = Some("en".into()),
        None => {}
    }
    out.task = match options.task {
        Some(Task::Translate) if !multilingual => {
            return Err(ApiError::invalid_param(
                "task",
                "translation needs a multilingual model",
            ));
        }
        Some(Task::Translate) => vox_whisper::Task::Translate,
        _ => vox_whisper::Task::Transcribe,
    };
    if let Some(beam) = options.beam_size {
        out.beam_size = beam as usize;
    }
    // As in OpenAI's API: 0 keeps the fallback ladder, any other value fixes the temperature.
    if let Some(t) = options.temperature.filter(|t| *t > 0.0) {
        out.temperatures = vec![t];
    }
    out.initial_prompt = options.initial_prompt.clone();
    out.hotwords = options.hotwords.clone();
    if let Some(condition) = options.condition_on_previous_text {
        out.condition_on_previous_text = condition;
    }
    out.word_timestamps = options.word_timestamps.unwrap_or(false);
    out.vad_filter = options.vad_filter.unwrap_or(false);
    Ok(out)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
