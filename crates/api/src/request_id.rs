//! Request ids: a client's `x-request-id` is kept when sane, otherwise one is generated.

use std::sync::atomic::{AtomicU64, Ordering};

pub const HEADER: &str = "x-request-id";

/// The client's id if it is 1–128 visible ASCII characters (safe to log and echo).
pub fn accept(client: Option<&str>) -> Option<String> {
    let id = client?.trim();
    (!id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| id.to_string())
}

/// A fresh UUID v4; `getrandom` reads the OS's randomness natively and `wasi:random` on
/// wasm32-wasip2.
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness still matters for logs if randomness is unavailable.
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        bytes[..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    from_random(bytes)
}

/// A UUID v4 string from 16 random bytes.
fn from_random(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sane_ids_only() {
        assert_eq!(accept(Some(" abc-123 ")).as_deref(), Some("abc-123"));
        assert_eq!(accept(Some("has space")), None);
        assert_eq!(accept(Some("")), None);
        assert_eq!(accept(Some(&"x".repeat(129))), None);
        assert_eq!(accept(None), None);
    }

    #[test]
    fn uuid_shape() {
        let id = from_random([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!((a.len(), &a[14..15]), (36, "4"));
    }
}
