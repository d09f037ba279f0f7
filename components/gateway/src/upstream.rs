//! Service chaining to the private `asr` and `tts` components (and the optional responder),
//! with their errors mapped.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{BoxBody, EmptyBody, FullBody, Response, box_body};
use spin_sdk::wasip3::http::types::ErrorCode;
use vox_api::ApiError;
use vox_api::limits::{MAX_UPSTREAM_ERROR_BYTES, MAX_UPSTREAM_JSON_BYTES};

/// What travels with a request through the gateway.
pub struct Ctx {
    pub request_id: String,
}

#[derive(Debug, Clone, Copy)]
pub enum Service {
    Asr,
    Tts,
    /// The end-to-end flow's optional step between hearing and speaking, wherever the
    /// `responder_url` variable points ([`responder_url`]).
    Responder,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::Asr => "asr",
            Self::Tts => "tts",
            Self::Responder => "responder",
        }
    }

    /// What a request's path is appended to. The responder's URL is configured, not fixed: its
    /// requests pass the whole URL as their path.
    fn base(self) -> &'static str {
        match self {
            Self::Asr => "http://asr.spin.internal",
            Self::Tts => "http://tts.spin.internal",
            Self::Responder => "",
        }
    }
}

/// The responder's URL from the `responder_url` variable; `None` when it is empty or undeclared.
pub async fn responder_url() -> Option<String> {
    let url = spin_sdk::variables::get("responder_url").await.ok()?;
    let url = url.trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// Sends a request (with `headers` beside the request id) and returns the response if it is a success; an error status becomes the
/// service's own error (same status and message), a transport failure a 502 or 503.
pub async fn send(
    service: Service,
    method: http::Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: BoxBody,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{}{path_and_query}", service.base()))
        .header(vox_api::request_id::HEADER, &ctx.request_id);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(body)
        .map_err(|e| ApiError::internal(format!("building the {} request: {e}", service.name())))?;
    let resp = vox_http_kit::client::send(request)
        .await
        .map_err(|code| transport_error(service, code))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body = read_limited(resp, MAX_UPSTREAM_ERROR_BYTES as usize)
        .await
        .unwrap_or_default();
    Err(ApiError::from_upstream(service.name(), status, &body))
}

pub async fn get(service: Service, path: &str, ctx: &Ctx) -> Result<Response, ApiError> {
    send(
        service,
        http::Method::GET,
        path,
        &[],
        box_body(EmptyBody::new()),
        ctx,
    )
    .await
}

pub async fn post_json(
    service: Service,
    path: &str,
    value: &impl serde::Serialize,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(e.to_string()))?;
    send(
        service,
        http::Method::POST,
        path,
        &[("content-type", "application/json")],
        box_body(FullBody::new(Bytes::from(body))),
        ctx,
    )
    .await
}

/// GETs a JSON document from a service.
pub async fn get_json<T: DeserializeOwned>(
    service: Service,
    path: &str,
    ctx: &Ctx,
) -> Result<T, ApiError> {
    read_json(service, get(service, path, ctx).await?).await
}

/// Reads a bounded JSON body.
pub async fn read_json<T: DeserializeOwned>(
    service: Service,
    resp: Response,
) -> Result<T, ApiError> {
    let body = read_limited(resp, MAX_UPSTREAM_JSON_BYTES as usize)
        .await
        .map_err(|e| ApiError::upstream_invalid(service.name(), e))?;
    serde_json::from_slice(&body).map_err(|e| ApiError::upstream_invalid(service.name(), e))
}

async fn read_limited(resp: Response, limit: usize) -> Result<Bytes, String> {
    Limited::new(resp.into_body(), limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
}

/// A chained response's body as the chunks arrive, a transport failure as its text.
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, String>>>>;

/// The chunks of `resp`'s body, read as they arrive; dropping them drops the body, which tells
/// the service to stop.
pub fn chunks(resp: Response) -> Chunks {
    Box::pin(
        resp.into_body()
            .stream()
            .map(|chunk| chunk.map_err(|e| format!("{e:?}"))),
    )
}

/// Re-emits an upstream body frame by frame. Wrapping it (rather than returning the upstream
/// response as is) lets the gateway set its own headers; when the client goes away the write
/// fails, this body is dropped, and with it the upstream stream, which cancels the work.
pub fn relay(resp: Response) -> BoxBody {
    box_body(
        resp.into_body()
            .map_err(|e| anyhow::anyhow!("upstream body: {e}")),
    )
}

/// Unreachable services are 503 while they may come up (not running, refused, timed out), 502 otherwise.
fn transport_error(service: Service, code: ErrorCode) -> ApiError {
    let e = ApiError::upstream_unreachable(service.name(), format!("{code:?}"));
    if matches!(
        code,
        ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::ConnectionRefused
            | ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
    ) {
        ApiError::new(vox_api::ErrorCode::UpstreamUnavailable, e.message)
    } else {
        e
    }
}
