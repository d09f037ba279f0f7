//! CORS: which origin to allow, and the preflight answer's headers.

/// Methods and request headers a browser may use.
pub const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
pub const ALLOW_HEADERS: &str = "authorization, content-type, accept, x-request-id";
/// Response headers a browser script may read.
pub const EXPOSE_HEADERS: &str = "x-request-id, x-sample-rate, x-channels";
pub const MAX_AGE_SECONDS: &str = "600";

/// The `Access-Control-Allow-Origin` value for a request from `origin`, given the configured
/// comma-separated list (`*` allows any origin; empty disables CORS).
pub fn allow_origin(configured: &str, origin: Option<&str>) -> Option<String> {
    let configured = configured.trim();
    if configured.is_empty() {
        return None;
    }
    if configured == "*" {
        return Some("*".into());
    }
    let origin = origin?;
    configured
        .split(',')
        .map(str::trim)
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
        .then(|| origin.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(allow_origin("*", None).as_deref(), Some("*"));
        assert_eq!(allow_origin("", Some("https://a")), None);
        let list = "https://a.example, https://b.example";
        assert_eq!(
            allow_origin(list, Some("https://b.example")).as_deref(),
            Some("https://b.example")
        );
        assert_eq!(allow_origin(list, Some("https://c.example")), None);
        assert_eq!(allow_origin(list, None), None);
    }
}
