//! Opus packets (from Ogg or Matroska/WebM) to PCM: the `OpusHead` header, pre-skip and gain.
//!
//! symphonia demuxes Opus but has no decoder; `rusty-opus` decodes it (bit-exact with libopus on
//! the speech and music files it was checked on, see README.md). Mirrors RFC 7845 §4–5: the first
//! `pre_skip` samples at 48 kHz are discarded and the output gain is applied.

use crate::DecodeError;

/// Opus always decodes at 48 kHz (RFC 7845 §5.1: the input rate in `OpusHead` is informational).
pub(crate) const OPUS_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAME: usize = 5_760;

/// The fields of an `OpusHead` identification header this decoder uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OpusHead {
    pub channels: usize,
    pub pre_skip: usize,
    /// Linear gain from the header's Q7.8 dB output gain.
    pub gain: f32,
}

impl OpusHead {
    /// Parses RFC 7845 §5.1's header; only channel mapping family 0 (mono, stereo) is decoded.
    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() < 19 || &b[..8] != b"OpusHead" {
            return Err(DecodeError::Invalid(
                "missing or short OpusHead header".into(),
            ));
        }
        if b[8] >> 4 != 0 {
            return Err(DecodeError::Unsupported(format!(
                "Opus mapping version {}",
                b[8]
            )));
        }
        let channels = usize::from(b[9]);
        let family = b[18];
        if family != 0 || !(1..=2).contains(&channels) {
            return Err(DecodeError::Unsupported(format!(
                "Opus with {channels} channels (mapping family {family})"
            )));
        }
        let q8_db = i16::from_le_bytes([b[16], b[17]]);
        Ok(Self {
            channels,
            pre_skip: usize::from(u16::from_le_bytes([b[10], b[11]])),
            gain: 10f32.powf(f32::from(q8_db) / (20.0 * 256.0)),
        })
    }
}

/// A stream of Opus packets to interleaved f32 at [`OPUS_RATE`].
pub(crate) struct OpusStream {
    decoder: rusty_opus::OpusDecoder,
    head: OpusHead,
    /// Samples per channel still to discard (pre-skip).
    skip: usize,
    buf: Vec<f32>,
}

impl OpusStream {
    pub fn new(head: OpusHead) -> Result<Self, DecodeError> {
        let decoder = rusty_opus::OpusDecoder::new(OPUS_RATE as i32, head.channels)
            .map_err(|e| DecodeError::Invalid(format!("Opus decoder: {e:?}")))?;
        Ok(Self {
            decoder,
            head,
            skip: head.pre_skip,
            buf: vec![0.0; MAX_FRAME * head.channels],
        })
    }

    pub fn channels(&self) -> usize {
        self.head.channels
    }

    /// Decodes one packet into `out` (cleared first); `Err` names a corrupt packet.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<(), &'static str> {
        out.clear();
        if packet.is_empty() {
            // An empty packet would ask for loss concealment; in a file it is just corrupt.
            return Err("empty Opus packet");
        }
        let frames = self
            .decoder
            .decode(packet, MAX_FRAME, &mut self.buf)
            .map_err(|_| "invalid Opus packet")?;
        let skip = self.skip.min(frames);
        self.skip -= skip;
        let ch = self.head.channels;
        let gain = self.head.gain;
        out.extend(
            self.buf[skip * ch..frames * ch]
                .iter()
                .map(|s| if s.is_finite() { s * gain } else { 0.0 }),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_identification_header() {
        let mut h = b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0".to_vec();
        let head = OpusHead::parse(&h).unwrap();
        assert_eq!((head.channels, head.pre_skip), (2, 312));
        assert!((head.gain - 1.0).abs() < 1e-6);
        h[18] = 1;
        assert_eq!(
            OpusHead::parse(&h).unwrap_err().code().as_str(),
            "unsupported_format"
        );
        assert_eq!(
            OpusHead::parse(&h[..10]).unwrap_err().code().as_str(),
            "invalid_audio"
        );
    }
}
