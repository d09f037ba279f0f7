//! Reading request headers as text.

/// A header's value, if present and visible ASCII.
pub fn header<'a, B>(req: &'a http::Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
