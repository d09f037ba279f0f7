//! A WAV header for a stream whose length is not known in advance.

/// 44-byte RIFF/WAVE header for 16-bit PCM. Unknown sizes are `0xFFFFFFFF`, which streaming
/// decoders (ffmpeg, browsers, Python's `wave` reading to EOF) accept.
pub fn streaming_header(sample_rate: u32, channels: u16, data_len: Option<u32>) -> [u8; 44] {
    let bits: u16 = 16;
    let block_align = channels * bits / 8;
    let byte_rate = sample_rate * block_align as u32;
    let data = data_len.unwrap_or(u32::MAX);
    let riff = data_len.map_or(u32::MAX, |n| n.saturating_add(36));
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let h = streaming_header(22050, 1, Some(100));
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(h[4..8].try_into().unwrap()), 136);
        assert_eq!(u32::from_le_bytes(h[24..28].try_into().unwrap()), 22050);
        assert_eq!(u32::from_le_bytes(h[28..32].try_into().unwrap()), 44100);
        assert_eq!(u32::from_le_bytes(h[40..44].try_into().unwrap()), 100);
        let h = streaming_header(16000, 1, None);
        assert_eq!(&h[40..44], &[0xff; 4]);
    }
}
