//! Optional bearer-token authentication.

use crate::error::ApiError;

/// Checks `Authorization: Bearer <key>` against the configured key; an empty key disables auth.
pub fn check(configured_key: &str, authorization: Option<&str>) -> Result<(), ApiError> {
    if configured_key.is_empty() {
        return Ok(());
    }
    let presented = authorization
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), configured_key.as_bytes()) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// Whether a request is served without a key: CORS preflights, the liveness and readiness
/// probes, which orchestrators call without credentials (a Kubernetes probe can only send
/// headers written into the manifest, which would put the key there in plain text), and the
/// browser page (it holds no data; the API calls it makes carry the key).
pub fn is_public(method: &str, path: &str) -> bool {
    if method == "OPTIONS" || path == "/health" || path == "/ready" {
        return true;
    }
    matches!(method, "GET" | "HEAD")
        && matches!(
            crate::routes::find(method, path),
            crate::routes::Match::Found(crate::routes::Endpoint::Page(_))
        )
}

/// Compares without an early exit so timing does not reveal how much of the key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= (x ^ b.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer() {
        assert!(check("", None).is_ok());
        assert!(check("k1", Some("Bearer k1")).is_ok());
        assert!(check("k1", Some("bearer  k1 ")).is_ok());
        assert_eq!(check("k1", Some("Bearer k2")).unwrap_err().status, 401);
        assert!(check("k1", Some("Bearer k")).is_err());
        assert!(check("k1", Some("Basic k1")).is_err());
        assert!(check("k1", None).is_err());
        assert!(is_public("GET", "/health"));
        assert!(is_public("GET", "/ready"));
        assert!(is_public("GET", "/"));
        assert!(is_public("HEAD", "/page/app.js"));
        assert!(!is_public("POST", "/"));
        assert!(!is_public("GET", "/api/voices"));
        assert!(!is_public("GET", "/api/models"));
    }
}
