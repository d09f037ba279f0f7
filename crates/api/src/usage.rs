//! Headers by which a component tells the host what a request used, for the host's metrics
//! (`vox up --metrics-listen`). The host reads and removes them from the component's response,
//! so neither the calling component nor a client sees them; under Spin they pass through
//! unread and are harmless.

/// The error code of an error answer (`ErrorCode::as_str`).
pub const ERROR_CODE: &str = "vox-error-code";

/// Seconds of audio the request carried, when known before the body (asr: the decoded upload).
pub const AUDIO_SECONDS: &str = "vox-audio-seconds";

/// The response body is raw PCM, counted as it passes: `s16le;rate=<Hz>;channels=<n>;offset=<bytes>`
/// (`offset`: a header before the samples, e.g. 44 for WAV).
pub const AUDIO_PCM: &str = "vox-audio-pcm";

/// How a PCM body's bytes turn into seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcmLayout {
    pub rate: u32,
    pub channels: u16,
    pub offset: u64,
}

impl PcmLayout {
    /// The [`AUDIO_PCM`] value for 16-bit little-endian samples.
    pub fn header_value(&self) -> String {
        format!(
            "s16le;rate={};channels={};offset={}",
            self.rate, self.channels, self.offset
        )
    }

    /// Reads an [`AUDIO_PCM`] value; `None` unless it is complete and well formed.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';').map(str::trim);
        if parts.next()? != "s16le" {
            return None;
        }
        let (mut rate, mut channels, mut offset) = (None, None, Some(0));
        for part in parts {
            let (key, val) = part.split_once('=')?;
            match key {
                "rate" => rate = val.parse().ok().filter(|r| *r > 0),
                "channels" => channels = val.parse().ok().filter(|c| *c > 0),
                "offset" => offset = val.parse().ok(),
                _ => return None,
            }
        }
        Some(Self {
            rate: rate?,
            channels: channels?,
            offset: offset?,
        })
    }

    /// Seconds of audio in a body of `bytes` bytes.
    pub fn seconds(&self, bytes: u64) -> f64 {
        let frame = 2 * u64::from(self.channels);
        (bytes.saturating_sub(self.offset) / frame) as f64 / f64::from(self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_layout_round_trips_and_counts() {
        let layout = PcmLayout {
            rate: 22050,
            channels: 1,
            offset: 44,
        };
        assert_eq!(PcmLayout::parse(&layout.header_value()), Some(layout));
        assert_eq!(layout.seconds(44 + 2 * 22050), 1.0);
        assert_eq!(layout.seconds(10), 0.0);
        for bad in [
            "",
            "f32;rate=1;channels=1",
            "s16le;rate=0;channels=1",
            "s16le;channels=1",
            "s16le;rate=8000;channels=1;x=2",
        ] {
            assert_eq!(PcmLayout::parse(bad), None, "{bad:?}");
        }
    }
}
