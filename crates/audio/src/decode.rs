//! Upload to 16 kHz mono: format sniffing, decoding, limits, down-mixing and resampling.

use std::io::{Cursor, Read};
use std::time::Duration;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_FLAC, CODEC_ID_MP3, CODEC_ID_VORBIS};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::default::formats::{FlacReader, MpaReader, OggReader};

use crate::probe::{self, Container};
use crate::resample::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Resampler, downmix_into};
use crate::{DecodeError, wav};

/// Sample rate Whisper expects, and the default output rate.
pub const TARGET_SAMPLE_RATE: u32 = 16_000;
/// Default for [`DecodeOptions::max_duration`]: the asr service's documented limit, 30 minutes.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(30 * 60);
/// Default for [`DecodeOptions::max_bytes`].
pub const DEFAULT_MAX_BYTES: usize = 100 * 1024 * 1024;

/// Frames handed to the resampler at a time when decoding WAV.
const WAV_CHUNK_FRAMES: usize = 4096;
/// Corrupt packets tolerated (MP3 streams often carry a few) before the whole file is rejected.
const MAX_BAD_PACKETS: usize = 8;

/// How to decode an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// MIME type or file extension from the client. The content decides the format; the hint only
    /// rescues MP3 streams that start with junk, and names unsupported formats in errors.
    pub hint: Option<String>,
    /// Reject audio longer than this; checked as samples are decoded, so decoding stops early.
    pub max_duration: Option<Duration>,
    /// Reject uploads larger than this many bytes before decoding anything.
    pub max_bytes: Option<usize>,
    /// Rate of [`DecodedAudio::samples`].
    pub sample_rate: u32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            hint: None,
            max_duration: Some(DEFAULT_MAX_DURATION),
            max_bytes: Some(DEFAULT_MAX_BYTES),
            sample_rate: TARGET_SAMPLE_RATE,
        }
    }
}

impl DecodeOptions {
    /// Sets the MIME type or file extension hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets or removes the duration limit.
    pub fn with_max_duration(mut self, limit: Option<Duration>) -> Self {
        self.max_duration = limit;
        self
    }

    /// Sets or removes the size limit.
    pub fn with_max_bytes(mut self, limit: Option<usize>) -> Self {
        self.max_bytes = limit;
        self
    }

    /// Sets the output sample rate (16 kHz by default).
    pub fn with_sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = hz;
        self
    }
}

/// The codec an upload was stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Integer PCM in WAV (8-bit unsigned, otherwise signed little-endian).
    PcmInt {
        bits: u16,
    },
    /// IEEE float PCM in WAV.
    PcmFloat {
        bits: u16,
    },
    Flac,
    Mp3,
    Vorbis,
}

impl Codec {
    /// Short name in ffmpeg's style, e.g. `pcm_s16le`, `flac`.
    pub fn name(&self) -> &'static str {
        match self {
            Codec::PcmInt { bits: 8 } => "pcm_u8",
            Codec::PcmInt { bits: 16 } => "pcm_s16le",
            Codec::PcmInt { bits: 24 } => "pcm_s24le",
            Codec::PcmInt { .. } => "pcm_s32le",
            Codec::PcmFloat { bits: 64 } => "pcm_f64le",
            Codec::PcmFloat { .. } => "pcm_f32le",
            Codec::Flac => "flac",
            Codec::Mp3 => "mp3",
            Codec::Vorbis => "vorbis",
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Decoded audio, down-mixed and resampled, with facts about the original.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mono samples at `sample_rate` (16 kHz unless asked otherwise), nominally in [-1, 1].
    pub samples: Vec<f32>,
    /// Rate of `samples`.
    pub sample_rate: u32,
    /// Length of the original stream.
    pub duration: Duration,
    pub source_sample_rate: u32,
    pub source_channels: u16,
    pub codec: Codec,
}

/// Decodes an in-memory upload to mono at `opts.sample_rate` (16 kHz by default).
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<DecodedAudio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if let Some(limit) = opts.max_bytes
        && bytes.len() > limit
    {
        return Err(DecodeError::TooLarge { limit });
    }
    let (container, offset) = probe::sniff(bytes, opts.hint.as_deref())?;
    let bytes = &bytes[offset..];
    match container {
        Container::Wav => decode_wav(bytes, opts),
        _ => decode_compressed_guarded(bytes, container, opts),
    }
}

/// Like [`decode`], reading the upload from `reader` (at most `max_bytes` + 1 bytes are read).
pub fn decode_reader<R: Read>(
    reader: R,
    opts: &DecodeOptions,
) -> Result<DecodedAudio, DecodeError> {
    let mut bytes = Vec::new();
    let cap = opts
        .max_bytes
        .map_or(u64::MAX, |limit| (limit as u64).saturating_add(1));
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| DecodeError::Invalid(format!("could not read the audio: {e}")))?;
    decode(&bytes, opts)
}

/// Interleaved audio at any rate to mono at 16 kHz.
pub fn to_mono_16k(
    interleaved: &[f32],
    channels: u16,
    sample_rate: u32,
) -> Result<Vec<f32>, crate::ResampleError> {
    let mut mono = Vec::with_capacity(interleaved.len() / usize::from(channels.max(1)));
    downmix_into(interleaved, usize::from(channels), &mut mono);
    crate::resample(&mono, sample_rate, TARGET_SAMPLE_RATE)
}

/// Receives decoded interleaved chunks; enforces the duration limit, down-mixes and resamples.
struct Sink {
    source_rate: u32,
    resampler: Resampler,
    mono: Vec<f32>,
    out: Vec<f32>,
    /// The duration limit and the whole source frames it allows.
    limit: Option<(Duration, u64)>,
}

impl Sink {
    fn new(source_rate: u32, opts: &DecodeOptions) -> Result<Self, DecodeError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&source_rate) {
            return Err(DecodeError::Unsupported(format!(
                "sample rate of {source_rate} Hz"
            )));
        }
        let resampler = Resampler::new(source_rate, opts.sample_rate)
            .map_err(|e| DecodeError::Unsupported(format!("output {e}")))?;
        Ok(Self {
            source_rate,
            resampler,
            mono: Vec::new(),
            out: Vec::new(),
            limit: opts
                .max_duration
                .map(|d| (d, frames_within(d, source_rate))),
        })
    }

    /// Fails if `frames` source frames (decoded or declared by the container) exceed the limit.
    fn check_length(&self, frames: u64) -> Result<(), DecodeError> {
        match self.limit {
            Some((limit, max)) if frames > max => Err(DecodeError::TooLong { limit }),
            _ => Ok(()),
        }
    }

    fn push(&mut self, interleaved: &[f32], channels: usize) -> Result<(), DecodeError> {
        let frames = (interleaved.len() / channels.max(1)) as u64;
        self.check_length(self.resampler.frames_in() + frames)?;
        self.mono.clear();
        downmix_into(interleaved, channels, &mut self.mono);
        self.resampler
            .process(&self.mono, &mut self.out)
            .map_err(internal)
    }

    fn finish(mut self, channels: u16, codec: Codec) -> Result<DecodedAudio, DecodeError> {
        let frames = self.resampler.frames_in();
        if frames == 0 {
            return Err(DecodeError::Empty);
        }
        let sample_rate = self.resampler.to_hz();
        self.resampler.finish(&mut self.out).map_err(internal)?;
        let nanos = u128::from(frames) * 1_000_000_000 / u128::from(self.source_rate);
        Ok(DecodedAudio {
            samples: self.out,
            sample_rate,
            duration: Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)),
            source_sample_rate: self.source_rate,
            source_channels: channels,
            codec,
        })
    }
}

fn internal(e: crate::ResampleError) -> DecodeError {
    DecodeError::Invalid(e.to_string())
}

/// Whole frames of `rate` that fit in `d`.
fn frames_within(d: Duration, rate: u32) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(rate) / 1_000_000_000).unwrap_or(u64::MAX)
}

fn decode_wav(bytes: &[u8], opts: &DecodeOptions) -> Result<DecodedAudio, DecodeError> {
    let wav = wav::parse(bytes)?;
    if wav.frames() == 0 {
        return Err(DecodeError::Empty);
    }
    let mut sink = Sink::new(wav.sample_rate, opts)?;
    // The data is all here, so its length is exact: reject before converting a sample.
    sink.check_length(wav.frames())?;
    let mut interleaved = Vec::new();
    for chunk in wav.data.chunks(WAV_CHUNK_FRAMES * wav.block_align()) {
        wav.samples_into(chunk, &mut interleaved);
        sink.push(&interleaved, usize::from(wav.channels))?;
    }
    sink.finish(wav.channels, wav.codec)
}

/// Symphonia's decoders are not all proven panic-free on hostile input; where panics unwind
/// (native builds) one becomes an `invalid_audio` error instead of taking the process down.
fn decode_compressed_guarded(
    bytes: &[u8],
    container: Container,
    opts: &DecodeOptions,
) -> Result<DecodedAudio, DecodeError> {
    #[cfg(panic = "unwind")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_compressed(bytes, container, opts)
        }))
        .unwrap_or_else(|_| {
            Err(DecodeError::Invalid(
                "the decoder rejected the stream".into(),
            ))
        })
    }
    #[cfg(not(panic = "unwind"))]
    {
        decode_compressed(bytes, container, opts)
    }
}

fn decode_compressed(
    bytes: &[u8],
    container: Container,
    opts: &DecodeOptions,
) -> Result<DecodedAudio, DecodeError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let fmt_opts = FormatOptions::default();
    let mut reader: Box<dyn FormatReader + '_> = match container {
        Container::Flac => Box::new(FlacReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Mp3 => Box::new(MpaReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Ogg => Box::new(OggReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Wav => unreachable!("WAV is decoded by `decode_wav`"),
    };
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| DecodeError::Invalid("no audio track".into()))?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let has_lame_tag = track.delay.is_some();
    let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
        return Err(DecodeError::Invalid("no audio track".into()));
    };
    let codec = match params.codec {
        CODEC_ID_FLAC => Codec::Flac,
        CODEC_ID_MP3 => Codec::Mp3,
        CODEC_ID_VORBIS => Codec::Vorbis,
        other => {
            return Err(DecodeError::Unsupported(format!(
                "codec {other} in {container:?}"
            )));
        }
    };
    // FLAC's STREAMINFO states the exact length, as does MP3's Xing header when a LAME tag (which
    // carries the encoder delay) vouches for it; otherwise MP3 lengths are estimates.
    let exact_length = codec == Codec::Flac || (codec == Codec::Mp3 && has_lame_tag);
    let rate = params
        .sample_rate
        .ok_or_else(|| DecodeError::Invalid("no sample rate".into()))?;
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count());
    let mut sink = Sink::new(rate, opts)?;
    if exact_length && let Some(frames) = declared_frames {
        sink.check_length(frames)?;
    }
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(header_error)?;

    let mut interleaved: Vec<f32> = Vec::new();
    let (mut good, mut bad) = (0usize, 0usize);
    let mut truncated = false;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            // End of stream, or a chained Ogg stream starting: the first one is the upload.
            Ok(None) | Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                truncated = true;
                break;
            }
            Err(e) => return Err(stream_error(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                if buf.spec().rate() != rate {
                    return Err(DecodeError::Invalid(
                        "the sample rate changes mid-stream".into(),
                    ));
                }
                channels = buf.spec().channels().count();
                if channels == 0 {
                    return Err(DecodeError::Invalid("a packet has zero channels".into()));
                }
                buf.copy_to_vec_interleaved(&mut interleaved);
                sink.push(&interleaved, channels)?;
                good += 1;
            }
            Err(SymphoniaError::DecodeError(msg)) => {
                bad += 1;
                if bad > MAX_BAD_PACKETS && bad > good {
                    return Err(DecodeError::Invalid(msg.into()));
                }
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                truncated = true;
                break;
            }
            Err(e) => return Err(stream_error(e)),
        }
    }
    let decoded = sink.resampler.frames_in();
    if decoded == 0 && !truncated {
        return Err(match declared_frames {
            Some(0) => DecodeError::Empty,
            _ => DecodeError::Invalid("no audio frame could be decoded".into()),
        });
    }
    let short = exact_length && declared_frames.is_some_and(|n| n > 0 && decoded < n);
    if truncated || short {
        return Err(DecodeError::Truncated);
    }
    sink.finish(u16::try_from(channels).unwrap_or(u16::MAX), codec)
}

/// Errors while reading headers: nothing has been decoded yet.
fn header_error(e: SymphoniaError) -> DecodeError {
    match e {
        SymphoniaError::Unsupported(what) => DecodeError::Unsupported(what.into()),
        other => stream_error(other),
    }
}

fn stream_error(e: SymphoniaError) -> DecodeError {
    match e {
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated
        }
        SymphoniaError::Unsupported(what) => DecodeError::Unsupported(what.into()),
        other => DecodeError::Invalid(other.to_string()),
    }
}
