//! CORS headers from the `cors_allow_origins` variable (default `*`) and preflight answers.

use vox_api::cors::{ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, MAX_AGE_SECONDS};
use vox_api::routes::{Match, find};

use vox_http_kit::reply::{self, Reply};

/// The `Access-Control-Allow-Origin` value for this request, if any.
pub async fn allowed_origin(origin: Option<&str>) -> Option<String> {
    let configured = spin_sdk::variables::get("cors_allow_origins")
        .await
        .unwrap_or_else(|_| "*".into());
    vox_api::cors::allow_origin(&configured, origin)
}

/// Answers `OPTIONS`: 204 on known paths, 404 otherwise.
pub fn preflight(path: &str) -> Reply {
    let known = !matches!(find("GET", path), Match::NotFound);
    let mut resp = reply::full(if known { 204 } else { 404 }, "text/plain", "");
    reply::set_header(&mut resp, "access-control-allow-methods", ALLOW_METHODS);
    reply::set_header(&mut resp, "access-control-allow-headers", ALLOW_HEADERS);
    reply::set_header(&mut resp, "access-control-max-age", MAX_AGE_SECONDS);
    resp
}

pub fn decorate(resp: &mut Reply, allowed_origin: Option<&str>) {
    let Some(origin) = allowed_origin else { return };
    reply::set_header(resp, "access-control-allow-origin", origin);
    reply::set_header(resp, "access-control-expose-headers", EXPOSE_HEADERS);
    if origin != "*" {
        reply::set_header(resp, "vary", "origin");
    }
}
