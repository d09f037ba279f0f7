//! Percent-encoding for header values and decoding for query strings.

/// Encodes everything but RFC 3986 unreserved characters, so any text fits a header value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// Decodes `%XX` escapes (and `+` as space when `plus_as_space`); invalid escapes stay literal.
pub fn decode(text: &str, plus_as_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(hex(bytes[i + 1]).unwrap() * 16 + hex(bytes[i + 2]).unwrap());
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = "Grüße, world! 100% \"quoted\"\nnext";
        let enc = encode(text);
        assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(decode(&enc, false), text);
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

    #[test]
    fn decoding() {
        assert_eq!(decode("a+b%20c%2", true), "a b c%2");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("%zz%41", false), "%zzA");
    }
}
