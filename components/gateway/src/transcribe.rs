//! Sending audio to asr `/transcribe`: a raw upload streamed through, or a file from a form.

use spin_sdk::http::{BoxBody, Request, Response};
use vox_api::ApiError;
use vox_api::limits::MAX_UPLOAD_BYTES;
use vox_api::query::AsrOptions;
use vox_http_kit::body::{check_length, forward_bounded};
use vox_http_kit::header;

use crate::upstream::{self, Ctx, Service};

/// Forwards a raw audio request body to asr `/transcribe`, checking the size as it goes.
pub async fn upload(req: Request, opts: &AsrOptions, ctx: &Ctx) -> Result<Response, ApiError> {
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
    send(opts, content_type.as_deref(), body, ctx).await
}

/// POSTs audio to asr `/transcribe` with the options as its query.
pub async fn send(
    opts: &AsrOptions,
    content_type: Option<&str>,
    body: BoxBody,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
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
        content_type,
        body,
        ctx,
    )
    .await
}
