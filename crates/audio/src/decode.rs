//! Upload to 16 kHz mono: format sniffing, decoding, limits, down-mixing and resampling.

use std::io::{Cursor, Read};
use std::time::Duration;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_AAC, CODEC_ID_ADPCM_IMA_WAV, CODEC_ID_ADPCM_MS, CODEC_ID_ALAC, CODEC_ID_FLAC,
    CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3, CODEC_ID_OPUS, CODEC_ID_PCM_ALAW, CODEC_ID_PCM_MULAW,
    CODEC_ID_VORBIS,
};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::packet::Packet;
use symphonia::default::formats::{
    AdtsReader, AiffReader, FlacReader, IsoMp4Reader, MkvReader, MpaReader, OggReader, WavReader,
};

use crate::opus::{OpusHead, OpusStream};
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
    /// Integer PCM stored big-endian (AIFF).
    PcmBigEndian {
        bits: u16,
    },
    /// G.711 A-law (8-bit telephony).
    Alaw,
    /// G.711 µ-law (8-bit telephony).
    Mulaw,
    /// Microsoft ADPCM in WAV.
    AdpcmMs,
    /// IMA ADPCM in WAV.
    AdpcmIma,
    Flac,
    Mp1,
    Mp2,
    Mp3,
    Vorbis,
    Opus,
    Aac,
    Alac,
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
            Codec::PcmBigEndian { bits: 8 } => "pcm_s8",
            Codec::PcmBigEndian { bits: 16 } => "pcm_s16be",
            Codec::PcmBigEndian { bits: 24 } => "pcm_s24be",
            Codec::PcmBigEndian { .. } => "pcm_s32be",
            Codec::Alaw => "pcm_alaw",
            Codec::Mulaw => "pcm_mulaw",
            Codec::AdpcmMs => "adpcm_ms",
            Codec::AdpcmIma => "adpcm_ima_wav",
            Codec::Flac => "flac",
            Codec::Mp1 => "mp1",
            Codec::Mp2 => "mp2",
            Codec::Mp3 => "mp3",
            Codec::Vorbis => "vorbis",
            Codec::Opus => "opus",
            Codec::Aac => "aac",
            Codec::Alac => "alac",
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
    if matches!(wav.codec, Codec::AdpcmMs | Codec::AdpcmIma) {
        if wav.data.is_empty() {
            return Err(DecodeError::Empty);
        }
        return decode_compressed_guarded(bytes, Container::Wav, opts);
    }
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

/// A packet decoder: one of symphonia's, or Opus, which symphonia demuxes but does not decode.
enum PacketDecoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<OpusStream>),
}

impl PacketDecoder {
    fn new(params: &AudioCodecParameters) -> Result<Self, DecodeError> {
        if params.codec == CODEC_ID_OPUS {
            let head = params
                .extra_data
                .as_deref()
                .ok_or_else(|| DecodeError::Invalid("Opus track without an OpusHead".into()))?;
            return Ok(Self::Opus(Box::new(OpusStream::new(OpusHead::parse(
                head,
            )?)?)));
        }
        symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map(Self::Symphonia)
            .map_err(header_error)
    }

    /// Decodes `packet` into interleaved `out`; returns its rate and channel count.
    fn decode(
        &mut self,
        packet: &Packet,
        out: &mut Vec<f32>,
    ) -> Result<(u32, usize), SymphoniaError> {
        match self {
            Self::Symphonia(decoder) => {
                let buf = decoder.decode(packet)?;
                buf.copy_to_vec_interleaved(out);
                Ok((buf.spec().rate(), buf.spec().channels().count()))
            }
            Self::Opus(opus) => match opus.decode(&packet.data, out) {
                Ok(()) => Ok((crate::opus::OPUS_RATE, opus.channels())),
                Err(msg) => Err(SymphoniaError::DecodeError(msg)),
            },
        }
    }
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
        Container::Mpa => Box::new(MpaReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Ogg => Box::new(OggReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Mp4 => Box::new(IsoMp4Reader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Mkv => Box::new(MkvReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Aiff => Box::new(AiffReader::try_new(mss, fmt_opts).map_err(header_error)?),
        Container::Adts => Box::new(AdtsReader::try_new(mss, fmt_opts).map_err(header_error)?),
        // Only ADPCM WAV comes here; `decode_wav` reads the rest.
        Container::Wav => Box::new(WavReader::try_new(mss, fmt_opts).map_err(header_error)?),
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
        CODEC_ID_MP1 => Codec::Mp1,
        CODEC_ID_MP2 => Codec::Mp2,
        CODEC_ID_MP3 => Codec::Mp3,
        CODEC_ID_VORBIS => Codec::Vorbis,
        CODEC_ID_OPUS => Codec::Opus,
        CODEC_ID_AAC => Codec::Aac,
        CODEC_ID_ALAC => Codec::Alac,
        CODEC_ID_PCM_ALAW => Codec::Alaw,
        CODEC_ID_PCM_MULAW => Codec::Mulaw,
        CODEC_ID_ADPCM_MS => Codec::AdpcmMs,
        CODEC_ID_ADPCM_IMA_WAV => Codec::AdpcmIma,
        // AIFF's samples are big-endian integers (AIFC may also hold other PCM layouts).
        _ if container == Container::Aiff && params.bits_per_sample.is_some() => {
            Codec::PcmBigEndian {
                bits: params.bits_per_sample.map_or(16, |b| b as u16),
            }
        }
        other => {
            return Err(DecodeError::Unsupported(format!(
                "codec {other} in {container:?}"
            )));
        }
    };
    // FLAC's STREAMINFO states the exact length, as does MP3's Xing header when a LAME tag (which
    // carries the encoder delay) vouches for it; otherwise MP3 lengths are estimates.
    let exact_length = codec == Codec::Flac || (codec == Codec::Mp3 && has_lame_tag);
    let mut decoder = PacketDecoder::new(&params)?;
    let rate = match decoder {
        PacketDecoder::Opus(_) => crate::opus::OPUS_RATE,
        PacketDecoder::Symphonia(_) => params
            .sample_rate
            .ok_or_else(|| DecodeError::Invalid("no sample rate".into()))?,
    };
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count());
    let mut sink = Sink::new(rate, opts)?;
    if exact_length && let Some(frames) = declared_frames {
        sink.check_length(frames)?;
    }

    let mut interleaved: Vec<f32> = Vec::new();
    let (mut good, mut bad) = (0usize, 0usize);
    let mut truncated = false;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            // End of stream, or a chained Ogg stream starting: the first one is the upload.
            Ok(None) | Err(SymphoniaError::ResetRequired) => break,
            // Matroska as MediaRecorder streams it has segments and clusters of unknown size:
            // the end of the bytes is the end of the stream.
            Err(SymphoniaError::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    && container == Container::Mkv
                    && good > 0 =>
            {
                break;
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                truncated = true;
                break;
            }
            Err(e) => return Err(stream_error(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet, &mut interleaved) {
            Ok((packet_rate, packet_channels)) => {
                if packet_rate != rate {
                    return Err(DecodeError::Invalid(
                        "the sample rate changes mid-stream".into(),
                    ));
                }
                channels = packet_channels;
                if channels == 0 {
                    return Err(DecodeError::Invalid("a packet has zero channels".into()));
                }
                sink.push(&interleaved, channels)?;
                good += 1;
            }
            // Once the headers were understood, a packet using a feature the decoder lacks is
            // almost always corrupt data (random bits read as AAC coupling elements, say).
            Err(SymphoniaError::DecodeError(msg) | SymphoniaError::Unsupported(msg)) => {
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
        // A container recognised by its magic but missing a required part (MP4 without `moov`,
        // Matroska without a segment) is cut short or damaged, not an unsupported format.
        SymphoniaError::Unsupported(what) if what.contains("missing") => {
            DecodeError::Invalid(format!("{what} (truncated or damaged)"))
        }
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
