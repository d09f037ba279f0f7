//! `POST /transcribe`: an audio body (raw or multipart `file`) → transcript JSON.

use bytes::Bytes;
use spin_sdk::http::Request;
use vox_api::query::{AsrOptions, Query};
use vox_api::transcript::{Segment, Task, Transcript, Word};
use vox_api::{ApiError, multipart};
use vox_audio::{DecodeOptions, DecodedAudio};
use vox_http_kit::{Result, body, reply};
use vox_whisper::TranscribeOptions;

use crate::{limits, models};

pub async fn handle(req: Request) -> Result {
    let query = Query::parse(req.uri().query());
    let content_type = header(&req, "content-type");
    let (audio, hint, form_fields) = upload(req, content_type.as_deref()).await?;
    // Form fields may carry the options too; the query string wins.
    let mut pairs = form_fields;
    pairs.extend(query.0);
    let options = AsrOptions::from_query(&Query(pairs), &[])?;

    let model = models::for_request(options.model.as_deref()).await?;
    let decoded = decode(&audio, hint)?;
    let whisper_options = to_whisper(&options, model.is_multilingual())?;
    let transcript = model.transcribe(&decoded.samples, &whisper_options)?;
    let body =
        serde_json::to_value(wire(transcript)).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(reply::json(200, &body))
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
    if let Some(lang) = &options.language {
        out.language = Some(lang.clone());
    } else if !multilingual {
        out.language = Some("en".into());
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
    if let Some(condition) = options.condition_on_previous_text {
        out.condition_on_previous_text = condition;
    }
    out.word_timestamps = options.word_timestamps.unwrap_or(false);
    out.vad_filter = options.vad_filter.unwrap_or(false);
    Ok(out)
}

fn wire(t: vox_whisper::Transcript) -> Transcript {
    Transcript {
        text: t.text,
        language: Some(t.language),
        duration: t.duration,
        segments: t
            .segments
            .into_iter()
            .map(|s| Segment {
                id: s.id as u32,
                start: s.start,
                end: s.end,
                text: s.text,
                avg_logprob: s.avg_logprob,
                no_speech_prob: s.no_speech_prob as f64,
                seek: Some(s.seek as u64),
                tokens: Some(s.tokens),
                temperature: Some(s.temperature as f64),
                compression_ratio: Some(s.compression_ratio),
                // Present only when word timestamps were asked for.
                words: (!s.words.is_empty()).then(|| {
                    s.words
                        .into_iter()
                        .map(|w| Word {
                            start: w.start,
                            end: w.end,
                            word: w.word,
                            probability: w.probability,
                        })
                        .collect()
                }),
            })
            .collect(),
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
