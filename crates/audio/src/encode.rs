//! Mono speech to the response formats, encoded as it arrives: each push returns the bytes that
//! are ready, so a response can stream chunk by chunk.
//!
//! PCM and WAV are written here; FLAC frames by `flacenc`, MP3 frames by `rusty_mp3`, Opus
//! packets by `rusty-opus` in Ogg pages (RFC 7845) by `ogg`. All pure Rust, so they build for
//! `wasm32-wasip2`. Audio at another rate than the source's goes through the crate's streaming
//! [`Resampler`] first.
//!
//! No AAC: the one pure-Rust AAC encoder (`rusty_aac`) holds all input until the end of the
//! clip, and restarting it per sentence adds 1024 samples of priming to each one (measured:
//! 4.8 s of speech in ten pushes decoded 0.56 s longer and out of step); libfdk-aac's licence does
//! not fit an Apache-2.0 build.

use std::borrow::Cow;

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Fill, FrameBuf};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::resample::Resampler;
use crate::{EncodeError, f32_to_i16, f32_to_s16le, wav_header};

/// Rates MPEG-1/2/2.5 layer III can carry.
const MP3_RATES: &[u32] = &[
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];
/// Rates the Opus encoder codes at; other rates are resampled up to the next one.
const OPUS_RATES: &[u32] = &[8_000, 12_000, 16_000, 24_000, 48_000];
/// Opus's encoder delay at 48 kHz (libopus's `OPUS_GET_LOOKAHEAD`: 2.5 ms + 4 ms), the pre-skip.
const OPUS_PRE_SKIP: u64 = 312;
/// Mono speech bit rates: transparent for TTS voices, a small fraction of PCM.
const MP3_KBPS: u32 = 64;
const MP3_MPEG1_KBPS: f32 = 96.0;
const OPUS_BPS: i32 = 32_000;
/// Samples per channel in a FLAC frame (flac's default for 16-bit audio).
const FLAC_BLOCK: usize = 4_096;
/// The shortest block flacenc codes (`FrameBuf::with_size`).
const FLAC_MIN_BLOCK: usize = 32;

/// A response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Raw signed 16-bit little-endian samples, no header.
    Pcm,
    /// 16-bit PCM WAV with streaming (unknown) sizes.
    Wav,
    Mp3,
    /// Opus in Ogg.
    Opus,
    Flac,
}

impl Encoding {
    /// The format's name on the wire (OpenAI's `response_format` values).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcm => "pcm",
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
            Self::Opus => "opus",
            Self::Flac => "flac",
        }
    }

    /// The rates this format can carry, when it cannot carry any (the API bounds the rest).
    pub fn rates(self) -> Option<&'static [u32]> {
        match self {
            Self::Mp3 => Some(MP3_RATES),
            _ => None,
        }
    }
}

/// A streaming encoder of mono audio at `source_rate` into `encoding` at `output_rate`.
pub struct StreamEncoder {
    resampler: Option<Resampler>,
    resampled: Vec<f32>,
    codec: Codec,
    output_rate: u32,
    finished: bool,
}

enum Codec {
    Pcm,
    Wav {
        header_sent: bool,
    },
    /// The encoder, and whether its first packet (the Info tag) has gone by.
    Mp3(Box<rusty_mp3::Mp3Encoder>, bool),
    Opus(Box<OggOpus>),
    Flac(Box<FlacFrames>),
}

impl StreamEncoder {
    /// Checks the rates and builds the encoder; nothing is encoded yet.
    pub fn new(
        encoding: Encoding,
        source_rate: u32,
        output_rate: u32,
    ) -> Result<Self, EncodeError> {
        if let Some(rates) = encoding.rates()
            && !rates.contains(&output_rate)
        {
            return Err(EncodeError::UnsupportedRate {
                encoding,
                rate: output_rate,
            });
        }
        // Opus codes at one of its own rates; the stream header records the requested one.
        let coded_rate = match encoding {
            Encoding::Opus => OPUS_RATES
                .iter()
                .copied()
                .find(|&r| r >= output_rate)
                .unwrap_or(48_000),
            _ => output_rate,
        };
        let resampler = (coded_rate != source_rate)
            .then(|| Resampler::new(source_rate, coded_rate))
            .transpose()
            .map_err(|_| EncodeError::UnsupportedRate {
                encoding,
                rate: output_rate,
            })?;
        let codec = match encoding {
            Encoding::Pcm => Codec::Pcm,
            Encoding::Wav => Codec::Wav { header_sent: false },
            Encoding::Mp3 => {
                // MPEG-1 rates (32 kHz and up) use VBR: rusty_mp3's CBR bit reservoir there
                // holds every frame until the end, which would stop the stream.
                let config = if output_rate >= 32_000 {
                    rusty_mp3::Mp3EncoderConfig {
                        bitrate_kbps: 0,
                        vbr_quality: Some(MP3_MPEG1_KBPS),
                    }
                } else {
                    rusty_mp3::Mp3EncoderConfig {
                        bitrate_kbps: MP3_KBPS,
                        vbr_quality: None,
                    }
                };
                Codec::Mp3(Box::new(rusty_mp3::Mp3Encoder::new(config)), false)
            }
            Encoding::Opus => Codec::Opus(Box::new(OggOpus::new(coded_rate, output_rate)?)),
            Encoding::Flac => Codec::Flac(Box::new(FlacFrames::new(output_rate)?)),
        };
        Ok(Self {
            resampler,
            resampled: Vec::new(),
            codec,
            output_rate,
            finished: false,
        })
    }

    /// The sample rate of the encoded audio (what a player reports).
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// Encodes `samples` (mono, nominally in [-1, 1]); returns the bytes ready to send.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<u8>, EncodeError> {
        let samples = match &mut self.resampler {
            Some(r) => {
                self.resampled.clear();
                r.process(samples, &mut self.resampled)
                    .map_err(|e| EncodeError::Internal(e.to_string()))?;
                std::mem::take(&mut self.resampled)
            }
            None => samples.to_vec(),
        };
        let out = self.encode(&samples, false);
        self.resampled = samples;
        out
    }

    /// Flushes what the codec holds back and ends the stream; returns the last bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, EncodeError> {
        if self.finished {
            return Ok(Vec::new());
        }
        let mut tail = Vec::new();
        if let Some(r) = self.resampler.take() {
            r.finish(&mut tail)
                .map_err(|e| EncodeError::Internal(e.to_string()))?;
        }
        let out = self.encode(&tail, true);
        self.finished = true;
        out
    }

    fn encode(&mut self, samples: &[f32], last: bool) -> Result<Vec<u8>, EncodeError> {
        match &mut self.codec {
            Codec::Pcm => Ok(f32_to_s16le(samples)),
            Codec::Wav { header_sent } => {
                let mut out = Vec::new();
                if !*header_sent {
                    out.extend_from_slice(&wav_header(self.output_rate, 1, None));
                    *header_sent = true;
                }
                out.extend_from_slice(&f32_to_s16le(samples));
                Ok(out)
            }
            Codec::Mp3(enc, tag_dropped) => {
                if !samples.is_empty() {
                    enc.push_pcm_f32(samples, 1, self.output_rate)
                        .map_err(|e| EncodeError::Internal(format!("mp3: {e:?}")))?;
                }
                if last {
                    enc.finish();
                }
                let mut out = Vec::new();
                while let Ok(frame) = enc.next_packet() {
                    // The Info tag's frame counts are only known at the end, after it would
                    // have been sent; a tag saying "0 frames" makes decoders play nothing, so
                    // the stream goes without (players then count frames as they decode).
                    if !*tag_dropped {
                        *tag_dropped = true;
                        continue;
                    }
                    out.extend_from_slice(&frame);
                }
                Ok(out)
            }
            Codec::Opus(ogg) => ogg.push(samples, last),
            Codec::Flac(flac) => flac.push(samples, last),
        }
    }
}

/// Opus packets of 20 ms in Ogg pages, one page per push so that each push's audio leaves.
struct OggOpus {
    encoder: rusty_opus::OpusEncoder,
    pages: PacketWriter<'static, Vec<u8>>,
    /// Samples per 20 ms frame at the coded rate.
    frame: usize,
    /// Granule units (48 kHz samples) per coded sample.
    granule_step: u64,
    pending: Vec<f32>,
    /// Coded samples written so far, padding excluded.
    coded: u64,
    input_rate: u32,
    headers_sent: bool,
    packet: Vec<u8>,
}

/// Any positive number: the stream's serial in each page header.
const OGG_SERIAL: u32 = 0x566f_7831;

impl OggOpus {
    fn new(coded_rate: u32, input_rate: u32) -> Result<Self, EncodeError> {
        let mut encoder =
            rusty_opus::OpusEncoder::new(coded_rate as i32, 1, rusty_opus::Application::Audio)
                .map_err(|e| EncodeError::Internal(format!("opus: {e:?}")))?;
        encoder.bitrate_bps = OPUS_BPS;
        Ok(Self {
            encoder,
            pages: PacketWriter::new(Vec::new()),
            frame: coded_rate as usize / 50,
            granule_step: u64::from(48_000 / coded_rate),
            pending: Vec::new(),
            coded: 0,
            input_rate,
            headers_sent: false,
            packet: vec![0; 4_000],
        })
    }

    fn write(&mut self, data: Vec<u8>, end: PacketWriteEndInfo, granule: u64) {
        // Writing to a Vec cannot fail.
        let _ = self
            .pages
            .write_packet(Cow::Owned(data), OGG_SERIAL, end, granule);
    }

    fn push(&mut self, samples: &[f32], last: bool) -> Result<Vec<u8>, EncodeError> {
        if !self.headers_sent {
            // RFC 7845 §5.1 identification header: version 1, mono, pre-skip, input rate,
            // gain 0, mapping family 0; then §5.2's comment header.
            let mut head = b"OpusHead\x01\x01".to_vec();
            head.extend_from_slice(&(OPUS_PRE_SKIP as u16).to_le_bytes());
            head.extend_from_slice(&self.input_rate.to_le_bytes());
            head.extend_from_slice(&[0, 0, 0]);
            self.write(head, PacketWriteEndInfo::EndPage, 0);
            let vendor = b"vox";
            let mut tags = b"OpusTags".to_vec();
            tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
            tags.extend_from_slice(vendor);
            tags.extend_from_slice(&0u32.to_le_bytes());
            self.write(tags, PacketWriteEndInfo::EndPage, 0);
            self.headers_sent = true;
        }
        self.pending.extend_from_slice(samples);
        let total = self.coded + self.pending.len() as u64;
        if last {
            // Pad the last frame; the final granule position tells decoders where audio ends.
            let partial = self.pending.len() % self.frame;
            if partial != 0 || self.pending.is_empty() {
                self.pending
                    .resize(self.pending.len() + self.frame - partial, 0.0);
            }
        }
        let frames = self.pending.len() / self.frame;
        for i in 0..frames {
            let pcm = &self.pending[i * self.frame..(i + 1) * self.frame];
            let len = self
                .encoder
                .encode(pcm, self.frame, &mut self.packet)
                .map_err(|e| EncodeError::Internal(format!("opus: {e:?}")))?;
            let coded = (self.coded + self.frame as u64).min(total);
            self.coded = coded;
            let end = match (last, i + 1 == frames) {
                (true, true) => PacketWriteEndInfo::EndStream,
                (false, true) => PacketWriteEndInfo::EndPage,
                _ => PacketWriteEndInfo::NormalPacket,
            };
            let granule = OPUS_PRE_SKIP + coded * self.granule_step;
            self.write(self.packet[..len].to_vec(), end, granule);
        }
        self.pending.drain(..frames * self.frame);
        Ok(std::mem::take(self.pages.inner_mut()))
    }
}

/// FLAC frames of [`FLAC_BLOCK`] samples after a STREAMINFO whose length and MD5 are "unknown"
/// (zero), as the format allows for streams.
struct FlacFrames {
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    info: StreamInfo,
    header: Option<Vec<u8>>,
    pending: Vec<i32>,
    frame_number: usize,
}

impl FlacFrames {
    fn new(rate: u32) -> Result<Self, EncodeError> {
        let flac = |e: flacenc::error::VerifyError| EncodeError::Internal(format!("flac: {e}"));
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| flac(e))?;
        let mut stream = Stream::new(rate as usize, 1, 16).map_err(flac)?;
        stream
            .stream_info_mut()
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(flac)?;
        let info = stream.stream_info().clone();
        let mut sink = MemSink::<u8>::new();
        stream
            .write(&mut sink)
            .map_err(|e| EncodeError::Internal(format!("flac: {e:?}")))?;
        Ok(Self {
            config,
            info,
            header: Some(sink.into_inner()),
            pending: Vec::new(),
            frame_number: 0,
        })
    }

    fn push(&mut self, samples: &[f32], last: bool) -> Result<Vec<u8>, EncodeError> {
        let mut out = self.header.take().unwrap_or_default();
        self.pending
            .extend(samples.iter().map(|&s| i32::from(f32_to_i16(s))));
        let mut start = 0;
        while self.pending.len() - start >= FLAC_BLOCK || (last && self.pending.len() > start) {
            let end = (start + FLAC_BLOCK).min(self.pending.len());
            flac_frame(
                &self.config,
                &self.info,
                self.frame_number,
                &self.pending[start..end],
                &mut out,
            )?;
            self.frame_number += 1;
            start = end;
        }
        self.pending.drain(..start);
        Ok(out)
    }
}

/// Appends block `number` of a FLAC stream to `out`.
fn flac_frame(
    config: &flacenc::error::Verified<flacenc::config::Encoder>,
    info: &StreamInfo,
    number: usize,
    block: &[i32],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let err = |what: String| EncodeError::Internal(format!("flac: {what}"));
    // The last block may be short, but flacenc codes no block under FLAC_MIN_BLOCK samples:
    // such a tail is padded with silence (under 1.5 ms at 22 kHz).
    let padded;
    let block = if block.len() < FLAC_MIN_BLOCK {
        padded = [block, &[0; FLAC_MIN_BLOCK][block.len()..]].concat();
        &padded[..]
    } else {
        block
    };
    let mut buf = FrameBuf::with_size(1, block.len()).map_err(|e| err(e.to_string()))?;
    buf.fill_interleaved(block)
        .map_err(|e| err(format!("{e:?}")))?;
    let frame = flacenc::encode_fixed_size_frame(config, &buf, number, info)
        .map_err(|e| err(format!("{e:?}")))?;
    let mut sink = MemSink::<u8>::new();
    frame.write(&mut sink).map_err(|e| err(format!("{e:?}")))?;
    out.extend_from_slice(&sink.into_inner());
    Ok(())
}
