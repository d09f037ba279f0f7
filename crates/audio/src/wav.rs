//! RIFF/WAVE: a strict-enough reader for uploads and a 16-bit PCM writer for responses.
//!
//! Reading is done here rather than by symphonia so that streamed files (sizes of 0xFFFFFFFF) are
//! read to their last whole frame and a data chunk cut short is reported as truncated. PCM, float
//! and G.711 (A-law, µ-law: telephony) samples are converted here; ADPCM blocks are checked here
//! and decoded by symphonia.

use crate::resample::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::{Codec, DecodeError};

/// Value of the RIFF and data size fields when the length is not known up front (streaming).
pub const WAV_UNKNOWN_SIZE: u32 = u32::MAX;
/// Length of the header written by [`wav_header`].
pub const WAV_HEADER_LEN: usize = 44;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_IEEE_FLOAT: u16 = 0x0003;
const FORMAT_ALAW: u16 = 0x0006;
const FORMAT_MULAW: u16 = 0x0007;
const FORMAT_ADPCM_MS: u16 = 0x0002;
const FORMAT_ADPCM_IMA: u16 = 0x0011;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Header of a canonical 16-bit PCM WAV file.
///
/// `data_len` is the size of the sample data in bytes; `None` writes [`WAV_UNKNOWN_SIZE`] in both
/// size fields, as streaming encoders do, so readers consume samples until the stream ends.
pub fn wav_header(sample_rate: u32, channels: u16, data_len: Option<u32>) -> [u8; WAV_HEADER_LEN] {
    let block_align = channels.saturating_mul(2);
    let (riff_len, data_len) = match data_len {
        Some(len) => (len.checked_add(36).unwrap_or(WAV_UNKNOWN_SIZE), len),
        None => (WAV_UNKNOWN_SIZE, WAV_UNKNOWN_SIZE),
    };
    let mut h = [0u8; WAV_HEADER_LEN];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_len.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(
        &sample_rate
            .saturating_mul(u32::from(block_align))
            .to_le_bytes(),
    );
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// A complete 16-bit PCM WAV file of interleaved `samples`.
///
/// Data beyond 4 GiB cannot be described by the size fields, so such files get the streaming sizes.
pub fn encode_wav(samples: &[f32], sample_rate: u32, channels: u16) -> Vec<u8> {
    let pcm = f32_to_s16le(samples);
    let data_len = u32::try_from(pcm.len())
        .ok()
        .filter(|len| len.checked_add(36).is_some());
    let mut out = Vec::with_capacity(WAV_HEADER_LEN + pcm.len());
    out.extend_from_slice(&wav_header(sample_rate, channels, data_len));
    out.extend_from_slice(&pcm);
    out
}

/// One sample to 16-bit: clipped to [-1, 1), NaN becomes silence.
///
/// Scaled by 32768 so that 16-bit input read by this crate converts back to the same value.
pub fn f32_to_i16(sample: f32) -> i16 {
    if sample.is_nan() {
        return 0;
    }
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Samples to little-endian signed 16-bit PCM bytes, clipping out-of-range values.
pub fn f32_to_s16le(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&s| f32_to_i16(s).to_le_bytes())
        .collect()
}

/// A parsed WAV upload: format plus the bytes of whole sample frames.
#[derive(Debug)]
pub(crate) struct WavData<'a> {
    pub sample_rate: u32,
    pub channels: u16,
    pub codec: Codec,
    bytes_per_sample: usize,
    pub data: &'a [u8],
}

impl WavData<'_> {
    pub fn block_align(&self) -> usize {
        self.bytes_per_sample * usize::from(self.channels)
    }

    pub fn frames(&self) -> u64 {
        (self.data.len() / self.block_align()) as u64
    }

    /// Converts whole frames of `bytes` (a slice of `data`) to interleaved f32 in `out`.
    pub fn samples_into(&self, bytes: &[u8], out: &mut Vec<f32>) {
        out.clear();
        let whole = bytes.len() - bytes.len() % self.block_align();
        let bytes = &bytes[..whole];
        match self.codec {
            Codec::PcmInt { bits: 8 } => {
                out.extend(bytes.iter().map(|&b| (f32::from(b) - 128.0) / 128.0))
            }
            Codec::PcmInt { bits: 16 } => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
            ),
            Codec::PcmInt { bits: 24 } => out.extend(bytes.chunks_exact(3).map(|b| {
                // Place the 24 bits at the top of an i32 so the sign extends on the shift back.
                (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
            })),
            Codec::PcmInt { bits: 32 } => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0),
            ),
            Codec::PcmFloat { bits: 32 } => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| finite(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            ),
            Codec::PcmFloat { bits: 64 } => out.extend(bytes.chunks_exact(8).map(|b| {
                let v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                finite(v as f32)
            })),
            Codec::Alaw => out.extend(bytes.iter().map(|&b| f32::from(alaw(b)) / 32768.0)),
            Codec::Mulaw => out.extend(bytes.iter().map(|&b| f32::from(mulaw(b)) / 32768.0)),
            // `parse` only builds the codecs above and ADPCM, which symphonia decodes.
            _ => {}
        }
    }
}

/// G.711 A-law expansion (ITU-T G.711, as in SoX's `sox_alaw2linear16`).
fn alaw(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mantissa = i16::from(a & 0x0F) << 4;
    let segment = (a & 0x70) >> 4;
    let magnitude = match segment {
        0 => mantissa + 8,
        _ => (mantissa + 0x108) << (segment - 1),
    };
    if a & 0x80 != 0 { magnitude } else { -magnitude }
}

/// G.711 µ-law expansion (ITU-T G.711, as in SoX's `sox_ulaw2linear16`).
fn mulaw(u: u8) -> i16 {
    let u = !u;
    let magnitude = ((i16::from(u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        0x84 - magnitude
    } else {
        magnitude - 0x84
    }
}

/// A float sample in range: NaN and infinities would poison every resampled sample near them,
/// and huge finite values overflow the resampler's sums to infinity (found by `vox-fuzz`). Past
/// ±1 is clipping, as faster-whisper's decode to 16-bit PCM (PyAV's `s16` resampler) clips.
fn finite(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

struct Format {
    tag: u16,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
    bits: u16,
}

/// Parses the RIFF structure of a file already sniffed as `RIFF....WAVE`.
pub(crate) fn parse(bytes: &[u8]) -> Result<WavData<'_>, DecodeError> {
    if bytes.len() < 12 {
        return Err(DecodeError::Truncated);
    }
    let riff_len = read_u32(bytes, 4);
    let mut format: Option<Format> = None;
    let mut pos = 12usize;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            // Ran out of chunks before finding the samples.
            return Err(if pos >= bytes.len() {
                DecodeError::Invalid("WAV file has no data chunk".into())
            } else {
                DecodeError::Truncated
            });
        };
        let id = &header[0..4];
        let len = read_u32(header, 4);
        let body = pos + 8;
        if id == b"data" {
            let format = format.ok_or_else(|| {
                DecodeError::Invalid("WAV data chunk precedes its fmt chunk".into())
            })?;
            let streaming = len == WAV_UNKNOWN_SIZE
                || (len == 0 && (riff_len == 0 || riff_len == WAV_UNKNOWN_SIZE));
            let data = if streaming {
                &bytes[body..]
            } else {
                body.checked_add(len as usize)
                    .and_then(|end| bytes.get(body..end))
                    .ok_or(DecodeError::Truncated)?
            };
            return check_format(format, data);
        }
        let end = body
            .checked_add(len as usize)
            .ok_or(DecodeError::Truncated)?;
        let chunk = bytes.get(body..end).ok_or(DecodeError::Truncated)?;
        if id == b"fmt " {
            format = Some(read_format(chunk)?);
        }
        // Chunks are padded to an even length.
        pos = end + (len as usize & 1);
    }
}

fn read_format(chunk: &[u8]) -> Result<Format, DecodeError> {
    if chunk.len() < 16 {
        return Err(DecodeError::Invalid(format!(
            "WAV fmt chunk is {} bytes, expected at least 16",
            chunk.len()
        )));
    }
    let mut tag = read_u16(chunk, 0);
    if tag == FORMAT_EXTENSIBLE {
        // The real format tag is the first two bytes of the sub-format GUID.
        if chunk.len() < 40 {
            return Err(DecodeError::Invalid(
                "WAV extensible fmt chunk is too short".into(),
            ));
        }
        tag = read_u16(chunk, 24);
    }
    Ok(Format {
        tag,
        channels: read_u16(chunk, 2),
        sample_rate: read_u32(chunk, 4),
        block_align: read_u16(chunk, 12),
        bits: read_u16(chunk, 14),
    })
}

fn check_format(f: Format, data: &[u8]) -> Result<WavData<'_>, DecodeError> {
    let codec = match (f.tag, f.bits) {
        (FORMAT_PCM, 8 | 16 | 24 | 32) => Codec::PcmInt { bits: f.bits },
        (FORMAT_IEEE_FLOAT, 32 | 64) => Codec::PcmFloat { bits: f.bits },
        (FORMAT_PCM, bits) => {
            return Err(DecodeError::Unsupported(format!(
                "{bits}-bit integer PCM WAV"
            )));
        }
        (FORMAT_IEEE_FLOAT, bits) => {
            return Err(DecodeError::Unsupported(format!("{bits}-bit float WAV")));
        }
        (FORMAT_ALAW, 8) => Codec::Alaw,
        (FORMAT_MULAW, 8) => Codec::Mulaw,
        (FORMAT_ALAW | FORMAT_MULAW, bits) => {
            return Err(DecodeError::Unsupported(format!("{bits}-bit G.711 WAV")));
        }
        (FORMAT_ADPCM_MS, 4) => Codec::AdpcmMs,
        (FORMAT_ADPCM_IMA, 4) => Codec::AdpcmIma,
        (tag, _) => return Err(DecodeError::Unsupported(format!("WAV codec 0x{tag:04x}"))),
    };
    if f.channels == 0 {
        return Err(DecodeError::Invalid(
            "WAV header declares zero channels".into(),
        ));
    }
    if f.sample_rate == 0 {
        return Err(DecodeError::Invalid(
            "WAV header declares a sample rate of 0 Hz".into(),
        ));
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&f.sample_rate) {
        return Err(DecodeError::Unsupported(format!(
            "sample rate of {} Hz",
            f.sample_rate
        )));
    }
    if matches!(codec, Codec::AdpcmMs | Codec::AdpcmIma) {
        // Blocks of `block_align` bytes, each a per-channel header (at least 4 bytes) and 4-bit
        // codes; symphonia decodes them, so only the bytes are kept here.
        if f.channels == 0 || u32::from(f.block_align) < 4 * u32::from(f.channels) {
            return Err(DecodeError::Invalid(format!(
                "ADPCM block align of {} bytes for {} channels",
                f.block_align, f.channels
            )));
        }
        return Ok(WavData {
            sample_rate: f.sample_rate,
            channels: f.channels,
            codec,
            bytes_per_sample: 1,
            data,
        });
    }
    let bytes_per_sample = usize::from(f.bits / 8);
    if usize::from(f.block_align) != bytes_per_sample * usize::from(f.channels) {
        return Err(DecodeError::Invalid(format!(
            "WAV block align of {} bytes does not match {} channels of {} bits",
            f.block_align, f.channels, f.bits
        )));
    }
    Ok(WavData {
        sample_rate: f.sample_rate,
        channels: f.channels,
        codec,
        bytes_per_sample,
        data,
    })
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes() {
        let h = wav_header(22_050, 1, Some(100));
        assert_eq!(read_u32(&h, 4), 136);
        assert_eq!(read_u32(&h, 28), 44_100);
        assert_eq!(read_u32(&h, 40), 100);
        let h = wav_header(22_050, 1, None);
        assert_eq!(read_u32(&h, 4), WAV_UNKNOWN_SIZE);
        assert_eq!(read_u32(&h, 40), WAV_UNKNOWN_SIZE);
        // A data length that would overflow the RIFF size falls back to "unknown".
        assert_eq!(
            read_u32(&wav_header(16_000, 1, Some(u32::MAX - 10)), 4),
            WAV_UNKNOWN_SIZE
        );
    }

    #[test]
    fn s16_conversion_clips_and_round_trips() {
        assert_eq!(f32_to_i16(2.0), i16::MAX);
        assert_eq!(f32_to_i16(-2.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        assert_eq!(f32_to_i16(f32::INFINITY), i16::MAX);
        for v in [i16::MIN, -12_345, -1, 0, 1, 12_345, i16::MAX] {
            assert_eq!(f32_to_i16(f32::from(v) / 32768.0), v);
        }
        assert_eq!(f32_to_s16le(&[0.5, -1.0]), vec![0x00, 0x40, 0x00, 0x80]);
    }

    #[test]
    fn streaming_file_reads_whole_frames_to_the_end() {
        let mut file = wav_header(8_000, 2, None).to_vec();
        file.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0, 5]);
        let wav = parse(&file).unwrap();
        assert_eq!(wav.frames(), 2);
    }
}
