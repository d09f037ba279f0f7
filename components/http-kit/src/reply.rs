//! Building responses: JSON, text, errors and streamed bodies, all as one body type.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use spin_sdk::http::{BoxBody, FullBody, Response, box_body};
use vox_api::{ApiError, ErrorStyle};

/// Every handler answers with this.
pub type Reply = Response<BoxBody>;

/// A handler's result: errors are rendered in the route's style by the router.
pub type Result<T = Reply> = std::result::Result<T, ApiError>;

pub fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut resp = Response::new(box_body(FullBody::new(body.into())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set_header(&mut resp, "content-type", content_type);
    resp
}

pub fn json(status: u16, value: &serde_json::Value) -> Reply {
    full(status, "application/json", value.to_string())
}

pub fn error(e: &ApiError, style: ErrorStyle) -> Reply {
    let mut resp = full(e.status, "application/json", e.body(style));
    set_header(&mut resp, vox_api::usage::ERROR_CODE, e.code.as_str());
    if e.status == 401 {
        set_header(&mut resp, "www-authenticate", "Bearer");
    }
    resp
}

/// A streamed body with a status of 200.
pub fn streamed(content_type: &str, body: BoxBody) -> Reply {
    let mut resp = Response::new(body);
    set_header(&mut resp, "content-type", content_type);
    resp
}

/// Sets a header, skipping values that are not valid header text.
pub fn set_header(resp: &mut Reply, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// The error for a request no route took: 405 naming the allowed methods when the path is
/// known under another method, else 404. `routes` lists (method, path) pairs.
pub fn unrouted(method: &str, path: &str, routes: &[(&str, &str)]) -> ApiError {
    let allowed: Vec<&str> = routes
        .iter()
        .filter(|(_, p)| *p == path)
        .map(|(m, _)| *m)
        .collect();
    if allowed.is_empty() {
        ApiError::not_found(method, path)
    } else {
        ApiError::method_not_allowed(method, path, &allowed)
    }
}
