//! Percent-encoding for header values and query strings we build, and decoding of path
//! parameters (`percent-encoding`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters, so any text fits a header value or a query.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes everything but RFC 3986 unreserved characters (`%XX`, upper-case hex).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// Decodes `%XX` escapes (a path segment: `+` stays a plus); invalid UTF-8 becomes U+FFFD.
pub fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// [`encode`]s as many whole characters of `text` as fit in `max_len` bytes; the flag tells
/// whether text was cut.
pub fn encode_within(text: &str, max_len: usize) -> (String, bool) {
    let mut out = String::new();
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let encoded = encode(c.encode_utf8(&mut buf));
        if out.len() + encoded.len() > max_len {
            return (out, true);
        }
        out.push_str(&encoded);
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = "Grüße, world! 100% \"quoted\"\nnext";
        let enc = encode(text);
        assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
        let decode = |s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .unwrap()
        };
        assert_eq!(decode(&enc), text);
        // Outside query strings `+` is itself.
        assert_eq!(decode("a+b"), "a+b");
    }

    #[test]
    fn bounded() {
        assert_eq!(
            encode_within("aé b", 100),
            ("a%C3%A9%20b".to_string(), false)
        );
        // The é needs six bytes: it is left out whole rather than split.
        assert_eq!(encode_within("aé", 6), ("a".to_string(), true));
        assert_eq!(encode_within("aé", 7), ("a%C3%A9".to_string(), false));
    }
}
