//! The native API: `/api/asr`, `/api/tts`, `/api/voices`, `/api/models`, `/health`, `/ready`.

use serde_json::json;
use vox_api::ApiError;
use vox_api::limits::MAX_TTS_BODY_BYTES;
use vox_api::query::{AsrOptions, Query};
use vox_api::transcript_stream::NDJSON;
use vox_api::{speech, sse};
use vox_http_kit::body::read_bounded;
use vox_http_kit::header;
use vox_http_kit::reply::{self, Reply, Result};
use vox_http_kit::upload::Request;

use crate::transcribe::Answer;
use crate::upstream::{self, Ctx, Service};
use crate::{audio, transcribe};

pub fn health() -> Reply {
    reply::json(200, &json!({"status": "ok"}))
}

/// Ready when both private services answer their health check (their models load); also
/// says which models and voices the answering instances already hold in memory, and where each
/// runs them (`in-component`, or `wasi-nn`: on the host's native tract).
pub async fn ready(ctx: &Ctx) -> Reply {
    let (asr, tts) = futures::join!(
        upstream::get_json::<serde_json::Value>(Service::Asr, "/health", ctx),
        upstream::get_json::<serde_json::Value>(Service::Tts, "/health", ctx)
    );
    let field = |r: &std::result::Result<serde_json::Value, ApiError>, name, missing| match r {
        Ok(health) => health[name].clone(),
        Err(_) => missing,
    };
    let status = |r: &std::result::Result<_, ApiError>| match r {
        Ok(_) => "ok".to_string(),
        Err(e) => e.message.clone(),
    };
    let all_ok = asr.is_ok() && tts.is_ok();
    reply::json(
        if all_ok { 200 } else { 503 },
        &json!({
            "status": if all_ok {"ok"} else {"unavailable"},
            "services": {"asr": status(&asr), "tts": status(&tts)},
            "loaded": {"asr": field(&asr, "loaded", json!([])), "tts": field(&tts, "loaded", json!([]))},
            "inference": {"asr": field(&asr, "inference", json!(null)), "tts": field(&tts, "inference", json!(null))},
        }),
    )
}

/// Raw audio in, transcript JSON out (or NDJSON lines as decoded, when accepted); the upload
/// streams through to asr.
pub async fn asr(req: Request, ctx: &Ctx) -> Result {
    let opts = AsrOptions::from_query(&Query::parse(req.uri().query()), &[])?;
    let (answer, content_type) = if sse::accepts(header(&req, "accept"), NDJSON) {
        (Answer::Streamed, NDJSON)
    } else {
        (Answer::Whole, "application/json")
    };
    let resp = transcribe::upload(req, &opts, answer, ctx).await?;
    let mut out = reply::streamed(content_type, upstream::relay(resp));
    reply::set_header(&mut out, "cache-control", "no-store");
    Ok(out)
}

/// Text or JSON in, audio streamed out chunk by chunk as the voice speaks.
pub async fn tts(req: Request, ctx: &Ctx) -> Result {
    let query = Query::parse(req.uri().query());
    let content_type = header(&req, "content-type").map(str::to_string);
    let body = read_bounded(req, MAX_TTS_BODY_BYTES, "the synthesis request").await?;
    let synth = speech::parse_native(content_type.as_deref(), &body, &query)?;
    let resp = upstream::post_json(Service::Tts, "/synthesize", &synth, ctx).await?;
    Ok(audio::reply(resp, synth.format))
}

pub async fn voices(ctx: &Ctx) -> Result {
    let resp = upstream::get(Service::Tts, "/voices", ctx).await?;
    Ok(reply::streamed("application/json", upstream::relay(resp)))
}

pub async fn models(ctx: &Ctx) -> Result {
    let resp = upstream::get(Service::Asr, "/models", ctx).await?;
    Ok(reply::streamed("application/json", upstream::relay(resp)))
}
