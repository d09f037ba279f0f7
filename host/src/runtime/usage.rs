//! What a component's response reports for the metrics: its status, its error code, the audio
//! it heard or spoke (`vox_api::usage` headers, removed here so callers never see them).

use std::sync::Arc;

use http_body_util::BodyExt;
use vox_api::usage::{self, PcmLayout};

use super::dispatch::Response;
use crate::body::MeteredBody;
use crate::metrics::{AudioKind, Metrics};

/// Counts `response` and returns it without its usage headers; a PCM body is counted in
/// seconds once it has been sent (or abandoned).
pub fn account(metrics: &Arc<Metrics>, component: &str, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let text = |h: Option<http::HeaderValue>| h.and_then(|v| v.to_str().ok().map(str::to_string));
    let error_code = text(headers.remove(usage::ERROR_CODE));
    let seconds = text(headers.remove(usage::AUDIO_SECONDS)).and_then(|s| s.parse::<f64>().ok());
    let pcm = text(headers.remove(usage::AUDIO_PCM)).and_then(|v| PcmLayout::parse(&v));
    metrics.component_answered(component, response.status().as_u16(), error_code.as_deref());
    if let Some(seconds) = seconds {
        metrics.audio(component, AudioKind::Transcribed, seconds);
    }
    let Some(pcm) = pcm else {
        return response;
    };
    let (metrics, component) = (metrics.clone(), component.to_string());
    response.map(move |body| {
        MeteredBody::response(body, move |sent| {
            metrics.audio(
                &component,
                AudioKind::Synthesized,
                pcm.seconds(sent.received()),
            );
        })
        .boxed_unsync()
    })
}
