//! The native API: `/api/asr`, `/api/tts`, `/api/voices`, `/api/models`, `/health`, `/ready`.

use http_body_util::{BodyExt, Limited};
use serde_json::json;
use spin_sdk::http::{BoxBody, Request, box_body};
use vox_api::ApiError;
use vox_api::limits::{MAX_TTS_BODY_BYTES, MAX_UPLOAD_BYTES};
use vox_api::query::{AsrOptions, Query};
use vox_api::speech;

use crate::routes::header;
use crate::upstream::{self, Ctx, Service};
use vox_http_kit::body::{check_length, read_bounded};
use vox_http_kit::reply::{self, Reply, Result};

/// Headers of the tts audio stream the client needs to play it.
pub const AUDIO_HEADERS: &[&str] = &["x-sample-rate", "x-channels"];

pub fn health() -> Reply {
    reply::json(200, &json!({"status": "ok"}))
}

/// Ready when both private services answer their health check (their models load); also
/// says which models and voices the answering instances already hold in memory.
pub async fn ready(ctx: &Ctx) -> Reply {
    let (asr, tts) = futures::join!(
        upstream::get_json::<serde_json::Value>(Service::Asr, "/health", ctx),
        upstream::get_json::<serde_json::Value>(Service::Tts, "/health", ctx)
    );
    let loaded = |r: &std::result::Result<serde_json::Value, ApiError>| match r {
        Ok(health) => health["loaded"].clone(),
        Err(_) => json!([]),
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
            "loaded": {"asr": loaded(&asr), "tts": loaded(&tts)},
        }),
    )
}

/// Raw audio in, transcript JSON out; the upload streams through to asr.
pub async fn asr(req: Request, ctx: &Ctx) -> Result {
    let opts = AsrOptions::from_query(&Query::parse(req.uri().query()), &[])?;
    let resp = transcribe_upload(req, &opts, ctx).await?;
    let mut out = reply::streamed("application/json", upstream::relay(resp));
    reply::set_header(&mut out, "cache-control", "no-store");
    Ok(out)
}

/// Forwards a raw audio request body to asr `/transcribe`, checking the size as it goes.
pub async fn transcribe_upload(
    req: Request,
    opts: &AsrOptions,
    ctx: &Ctx,
) -> std::result::Result<spin_sdk::http::Response, ApiError> {
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
    let body = limited_body(req, MAX_UPLOAD_BYTES);
    let query = opts.to_query();
    let path = if query.is_empty() {
        "/transcribe".to_string()
    } else {
        format!("/transcribe?{query}")
    };
    upstream::send(
        Service::Asr,
        http::Method::POST,
        &path,
        content_type.as_deref(),
        body,
        ctx,
    )
    .await
}

/// Text or JSON in, audio streamed out chunk by chunk as the voice speaks.
pub async fn tts(req: Request, ctx: &Ctx) -> Result {
    let query = Query::parse(req.uri().query());
    let content_type = header(&req, "content-type").map(str::to_string);
    let body = read_bounded(req, MAX_TTS_BODY_BYTES, "the synthesis request").await?;
    let synth = speech::parse_native(content_type.as_deref(), &body, &query)?;
    let resp = upstream::post_json(Service::Tts, "/synthesize", &synth, ctx).await?;
    Ok(audio_reply(resp, synth.format))
}

/// Relays a tts audio stream with the headers a player needs.
pub fn audio_reply(resp: spin_sdk::http::Response, format: speech::AudioFormat) -> Reply {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(format.content_type())
        .to_string();
    let mut headers = Vec::new();
    for name in AUDIO_HEADERS {
        if let Some(v) = resp.headers().get(*name) {
            headers.push((*name, v.clone()));
        }
    }
    let mut out = reply::streamed(&content_type, upstream::relay(resp));
    for (name, v) in headers {
        out.headers_mut().insert(name, v);
    }
    reply::set_header(&mut out, "cache-control", "no-store");
    out
}

pub async fn voices(ctx: &Ctx) -> Result {
    let resp = upstream::get(Service::Tts, "/voices", ctx).await?;
    Ok(reply::streamed("application/json", upstream::relay(resp)))
}

pub async fn models(ctx: &Ctx) -> Result {
    let resp = upstream::get(Service::Asr, "/models", ctx).await?;
    Ok(reply::streamed("application/json", upstream::relay(resp)))
}

/// The request body as a stream that fails once it passes `limit` bytes (for chunked uploads
/// that declared no length).
pub fn limited_body(req: Request, limit: u64) -> BoxBody {
    box_body(
        Limited::new(req.into_body(), limit as usize)
            .map_err(|e| anyhow::anyhow!("request body: {e}")),
    )
}
