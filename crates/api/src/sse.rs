//! Server-sent event framing (`text/event-stream`).

use std::time::Duration;

use serde_json::Value;

pub const CONTENT_TYPE: &str = "text/event-stream";

/// How often a stream with nothing to say writes a comment: each write tells the server
/// whether its client is still there, so work for a client that left stops soon.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// A comment line, which clients skip.
pub fn comment(text: &str) -> String {
    format!(": {}\n\n", text.replace(['\r', '\n'], " "))
}

/// One event: an optional `event:` name, then the data, one `data:` line per line.
pub fn event(name: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(name) = name {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A named event with a JSON payload (the native `/api/e2e` stream).
pub fn named_json(name: &str, data: &Value) -> String {
    event(Some(name), &data.to_string())
}

/// An unnamed event whose JSON carries its own `type`, as OpenAI streams do.
pub fn typed_json(data: &Value) -> String {
    event(None, &data.to_string())
}

/// Whether an `Accept` header asks for an event stream.
pub fn accepts_event_stream(accept: Option<&str>) -> bool {
    accepts(accept, CONTENT_TYPE)
}

/// Whether an `Accept` header names `media_type` (parameters such as `q` aside).
pub fn accepts(accept: Option<&str>, media_type: &str) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(media_type)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames() {
        assert_eq!(event(Some("done"), "{}"), "event: done\ndata: {}\n\n");
        assert_eq!(event(None, "a\r\nb"), "data: a\ndata: b\n\n");
        assert_eq!(comment("still\nhere"), ": still here\n\n");
        assert_eq!(
            typed_json(&json!({"type": "x"})),
            "data: {\"type\":\"x\"}\n\n"
        );
    }

    #[test]
    fn accept_header() {
        assert!(accepts_event_stream(Some(
            "application/json, text/event-stream;q=0.9"
        )));
        assert!(!accepts_event_stream(Some("audio/wav")));
        assert!(!accepts_event_stream(None));
    }
}
