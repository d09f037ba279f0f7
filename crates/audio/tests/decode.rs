//! Decoding real fixtures, resampling quality, limits and the data-driven bad-input cases.

use std::f32::consts::TAU;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vox_audio::{
    DecodeError, DecodeOptions, DecodedAudio, Resampler, decode, decode_reader, downmix,
    encode_wav, resample, wav_header,
};

fn dir(name: &str) -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = dir("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode_fixture(name: &str) -> DecodedAudio {
    decode(&fixture(name), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

fn sine(freq: f32, rate: u32, secs: f32, amplitude: f32) -> Vec<f32> {
    let n = (rate as f32 * secs) as usize;
    (0..n)
        .map(|i| amplitude * (TAU * freq * i as f32 / rate as f32).sin())
        .collect()
}

#[test]
fn each_format_decodes_to_16k_mono_with_the_right_duration() {
    // file, source rate, source channels, codec, duration in seconds
    let cases = [
        ("jfk-2s.flac", 44_100, 2, "flac", 2.0),
        ("jfk-2s.mp3", 44_100, 2, "mp3", 2.0),
        ("jfk-2s.ogg", 44_100, 2, "vorbis", 2.0),
        ("speech-16k-lame.mp3", 16_000, 1, "mp3", 2.0),
        // No LAME tag, so the encoder's delay and padding (about 88 ms) stay in.
        ("speech-16k-notag.mp3", 16_000, 1, "mp3", 2.088),
        ("speech-16k-s16.wav", 16_000, 1, "pcm_s16le", 2.0),
        ("speech-8k-u8.wav", 8_000, 1, "pcm_u8", 0.5),
        ("speech-22k-s24.wav", 22_050, 1, "pcm_s24le", 0.5),
        ("speech-8k-s32-stereo.wav", 8_000, 2, "pcm_s32le", 0.5),
        ("speech-16k-f32.wav", 16_000, 1, "pcm_f32le", 0.5),
        ("speech-8k-f64.wav", 8_000, 1, "pcm_f64le", 0.5),
    ];
    for (name, rate, channels, codec, secs) in cases {
        let audio = decode_fixture(name);
        assert_eq!(audio.sample_rate, 16_000, "{name}");
        assert_eq!(audio.source_sample_rate, rate, "{name}");
        assert_eq!(audio.source_channels, channels, "{name}");
        assert_eq!(audio.codec.name(), codec, "{name}");
        let got = audio.duration.as_secs_f64();
        assert!(
            (got - secs).abs() <= 0.010,
            "{name}: duration {got} s, expected {secs} s"
        );
        let expected_len = secs * 16_000.0;
        assert!(
            (audio.samples.len() as f64 - expected_len).abs() <= 160.0,
            "{name}: {} samples, expected {expected_len}",
            audio.samples.len()
        );
        let level = rms(&audio.samples);
        assert!(
            level > 0.01 && level < 1.0,
            "{name}: implausible RMS {level}"
        );
    }
}

/// Every container and codec of `fixtures/make_formats.sh`: the same 4.83 s utterance.
const SPEECH_C_FORMATS: &[(&str, u32, &str)] = &[
    ("speech-c-aac.m4a", 16_000, "aac"),
    ("speech-c-alac.m4a", 16_000, "alac"),
    ("speech-c.aac", 16_000, "aac"),
    ("speech-c-opus.webm", 48_000, "opus"),
    ("speech-c-live.webm", 48_000, "opus"),
    ("speech-c-frag.m4a", 16_000, "aac"),
    ("speech-c.opus", 48_000, "opus"),
    ("speech-c-vorbis.mka", 16_000, "vorbis"),
    ("speech-c.aiff", 16_000, "pcm_s16be"),
    ("speech-c-8k-alaw.aifc", 8_000, "pcm_alaw"),
    ("speech-c-8k-mulaw.wav", 8_000, "pcm_mulaw"),
    ("speech-c-8k-alaw.wav", 8_000, "pcm_alaw"),
    ("speech-c-adpcm-ms.wav", 16_000, "adpcm_ms"),
    ("speech-c-adpcm-ima.wav", 16_000, "adpcm_ima_wav"),
    ("speech-c.mp2", 16_000, "mp2"),
];

/// The lag (in samples, within ±`max_lag`) that best aligns `b` with `a`, and the correlation there.
fn best_alignment(a: &[f32], b: &[f32], max_lag: usize) -> (isize, f64) {
    (-(max_lag as isize)..=max_lag as isize)
        .step_by(4)
        .map(|lag| {
            let (x, y) = if lag >= 0 {
                (&a[lag as usize..], b)
            } else {
                (a, &b[(-lag) as usize..])
            };
            (lag, correlation(x, y))
        })
        .max_by(|p, q| p.1.total_cmp(&q.1))
        .unwrap()
}

#[test]
fn every_container_and_codec_decodes_the_same_speech() {
    let reference = decode_fixture("speech-c.wav");
    assert_eq!(reference.codec.name(), "pcm_s16le");
    let secs = reference.duration.as_secs_f64();
    for &(name, rate, codec) in SPEECH_C_FORMATS {
        let audio = decode_fixture(name);
        assert_eq!(
            (
                audio.codec.name(),
                audio.source_sample_rate,
                audio.source_channels
            ),
            (codec, rate, 1),
            "{name}"
        );
        let got = audio.duration.as_secs_f64();
        // Lossy codecs add their encoder delay and pad to whole frames (AAC: 1024 samples).
        assert!(
            (got - secs).abs() <= 0.15,
            "{name}: duration {got} s, expected {secs} s"
        );
        // Same waveform, up to codec delay and coding noise (8 kHz files lose the top band; SILK
        // and low-rate MP2 keep the spectrum more than the waveform).
        let (lag, r) = best_alignment(&reference.samples, &audio.samples, 2_400);
        assert!(r > 0.7, "{name}: correlation {r:.3} at lag {lag}");
    }
}

#[test]
fn opus_pre_skip_is_honoured() {
    // libopus's pre-skip (312 samples at 48 kHz) is dropped, so Opus lines up with the source
    // within a few samples rather than 6.5 ms late.
    let reference = decode_fixture("speech-c.wav");
    for name in ["speech-c.opus", "speech-c-opus.webm"] {
        let (lag, r) = best_alignment(&reference.samples, &decode_fixture(name).samples, 400);
        assert!(
            lag.abs() <= 8 && r > 0.7,
            "{name}: lag {lag}, correlation {r:.3}"
        );
    }
}

#[test]
fn reader_and_slice_give_the_same_audio() {
    let bytes = fixture("jfk-2s.ogg");
    let from_reader =
        decode_reader(std::io::Cursor::new(&bytes), &DecodeOptions::default()).unwrap();
    assert_eq!(
        from_reader,
        decode(&bytes, &DecodeOptions::default()).unwrap()
    );
}

#[test]
fn format_comes_from_content_not_the_hint() {
    let opts = DecodeOptions::default().with_hint("audio/mpeg");
    assert_eq!(
        decode(&fixture("jfk-2s.flac"), &opts).unwrap().codec.name(),
        "flac"
    );

    // Raw MP3 after junk has no signature; the client's hint is what lets it through.
    let mut junky = vec![0u8; 100];
    junky.extend_from_slice(&fixture("speech-16k-lame.mp3"));
    assert_eq!(
        decode(&junky, &DecodeOptions::default())
            .unwrap_err()
            .code()
            .as_str(),
        "unsupported_format"
    );
    assert_eq!(decode(&junky, &opts).unwrap().codec.name(), "mp3");
}

/// Pearson correlation over the common length.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

#[test]
fn resampled_jfk_agrees_with_sox() {
    let ours = decode_fixture("jfk-2s.flac");
    let reference = decode_fixture("jfk-2s-sox16k.wav");
    assert_eq!(ours.samples.len(), reference.samples.len());
    let r = correlation(&ours.samples, &reference.samples);
    eprintln!("correlation with sox: {r:.5}");
    assert!(r >= 0.99, "correlation with sox {r}");
}

/// Frequency from the count of rising zero crossings.
fn dominant_frequency(x: &[f32], rate: u32) -> f32 {
    let rising = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    rising as f32 * rate as f32 / x.len() as f32
}

#[test]
fn tone_keeps_its_frequency() {
    for (freq, from, to) in [
        (1_000.0, 44_100, 16_000),
        (440.0, 16_000, 22_050),
        (3_000.0, 48_000, 16_000),
    ] {
        let out = resample(&sine(freq, from, 1.0, 0.5), from, to).unwrap();
        assert_eq!(out.len(), to as usize);
        let middle = &out[out.len() / 10..out.len() * 9 / 10];
        let got = dominant_frequency(middle, to);
        assert!(
            (got - freq).abs() / freq < 0.01,
            "{from}->{to}: {freq} Hz came out at {got} Hz"
        );
        let level = rms(middle);
        assert!(
            (level - 0.5 / 2f32.sqrt()).abs() < 0.01,
            "{from}->{to}: level {level}"
        );
    }
}

#[test]
fn tones_above_the_new_nyquist_are_removed() {
    for (freq, from) in [
        (9_000.0, 48_000),
        (10_000.0, 44_100),
        (12_000.0, 44_100),
        (20_000.0, 44_100),
        (9_000.0, 44_101),
    ] {
        let input = sine(freq, from, 1.0, 0.5);
        let out = resample(&input, from, 16_000).unwrap();
        // Skip the edges, where the abrupt start and end of the tone are broadband.
        let middle = &out[1_600..out.len() - 1_600];
        let attenuation_db = 20.0 * (rms(middle) / rms(&input)).log10();
        eprintln!("{freq} Hz at {from} Hz -> 16 kHz: {attenuation_db:.1} dB");
        assert!(
            attenuation_db <= -40.0,
            "{freq} Hz at {from} Hz: only {attenuation_db:.1} dB down"
        );
    }
}

#[test]
fn streaming_resampler_matches_whole_clip() {
    let input = sine(700.0, 22_050, 0.7, 0.3);
    let whole = resample(&input, 22_050, 16_000).unwrap();
    let mut streamed = Vec::new();
    let mut r = Resampler::new(22_050, 16_000).unwrap();
    for chunk in input.chunks(777) {
        r.process(chunk, &mut streamed).unwrap();
    }
    r.finish(&mut streamed).unwrap();
    assert_eq!(streamed, whole);
}

#[test]
fn downmix_averages_channels() {
    let left = sine(300.0, 16_000, 0.25, 0.5);
    let interleaved: Vec<f32> = left.iter().flat_map(|&l| [l, 0.25]).collect();
    let audio = decode(
        &encode_wav(&interleaved, 16_000, 2),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert_eq!(audio.source_channels, 2);
    assert_eq!(audio.samples.len(), left.len());
    for (got, l) in audio.samples.iter().zip(&left) {
        assert!(
            (got - (l + 0.25) / 2.0).abs() <= 1.0 / 32768.0,
            "{got} vs {}",
            (l + 0.25) / 2.0
        );
    }
    // Opposite channels cancel.
    let opposite: Vec<f32> = left.iter().flat_map(|&l| [l, -l]).collect();
    assert!(downmix(&opposite, 2).iter().all(|&v| v == 0.0));
}

#[test]
fn wav_writer_round_trips_through_the_decoder() {
    let samples = sine(440.0, 22_050, 0.5, 0.8);
    let exact = |bytes: &[u8]| {
        let opts = DecodeOptions::default().with_sample_rate(22_050);
        let audio = decode(bytes, &opts).unwrap();
        assert_eq!(audio.source_sample_rate, 22_050);
        assert_eq!(audio.codec.name(), "pcm_s16le");
        assert_eq!(audio.samples.len(), samples.len());
        for (a, b) in audio.samples.iter().zip(&samples) {
            assert!((a - b).abs() <= 0.5 / 32768.0 + f32::EPSILON);
        }
    };
    // Known length.
    let file = encode_wav(&samples, 22_050, 1);
    exact(&file);
    // Streaming header, as TTS responses are sent: sizes unknown, samples run to the end.
    let mut streamed = wav_header(22_050, 1, None).to_vec();
    streamed.extend_from_slice(&file[44..]);
    exact(&streamed);
    // And to 16 kHz for recognition.
    let audio = decode(&streamed, &DecodeOptions::default()).unwrap();
    assert_eq!(audio.samples.len(), 8_000);
    assert_eq!(audio.duration, Duration::from_millis(500));
}

/// Each file in `tests/invalid/` with the error code it must produce.
#[test]
fn invalid_inputs_fail_with_their_code() {
    let folder = dir("invalid");
    let manifest = std::fs::read_to_string(folder.join("cases.tsv")).unwrap();
    let mut listed = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for line in manifest
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let (file, code, hint) = (fields[0], fields[1], fields.get(2).copied());
        listed.insert(file.to_string());
        let bytes = std::fs::read(folder.join(file)).unwrap();
        let opts = DecodeOptions {
            hint: hint.map(str::to_string),
            ..Default::default()
        };
        match decode(&bytes, &opts) {
            Ok(audio) => failures.push(format!(
                "{file}: decoded {} samples, expected {code}",
                audio.samples.len()
            )),
            Err(e) if e.code().as_str() != code => {
                failures.push(format!("{file}: got {} ({e}), expected {code}", e.code()))
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    for entry in std::fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let is_tooling = name == "cases.tsv" || name.ends_with(".py");
        assert!(
            is_tooling || listed.contains(&name),
            "{name} has no case in cases.tsv"
        );
    }
}

#[test]
fn max_duration_is_checked_up_front_when_the_length_is_known() {
    let limit = Duration::from_millis(1_990);
    let opts = DecodeOptions::default().with_max_duration(Some(limit));
    for name in [
        "speech-16k-s16.wav",
        "jfk-2s.flac",
        "jfk-2s.mp3",
        "jfk-2s.ogg",
    ] {
        let err = decode(&fixture(name), &opts).unwrap_err();
        assert_eq!(err, DecodeError::TooLong { limit }, "{name}");
        assert_eq!(err.code().as_str(), "audio_too_long");
    }
    // Exactly at the limit is fine.
    let opts = DecodeOptions::default().with_max_duration(Some(Duration::from_secs(2)));
    assert!(decode(&fixture("speech-16k-s16.wav"), &opts).is_ok());
}

#[test]
fn max_duration_stops_decoding_early() {
    // Ten minutes of MP3 without a LAME tag: nothing declares the length, so the limit is checked
    // as packets are decoded, and reaching a 1 s limit must cost a small fraction of a full decode.
    let mp3 = fixture("speech-16k-notag.mp3").repeat(300);
    let limited = DecodeOptions::default().with_max_duration(Some(Duration::from_secs(1)));
    let rejected_after = (0..3)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(
                decode(&mp3, &limited).unwrap_err().code().as_str(),
                "audio_too_long"
            );
            started.elapsed()
        })
        .min()
        .unwrap();
    let started = Instant::now();
    let full = decode(&mp3, &DecodeOptions::default()).unwrap();
    let full_time = started.elapsed();
    assert!(full.duration > Duration::from_secs(500));
    assert!(
        rejected_after * 10 < full_time,
        "rejected after {rejected_after:?}, full decode took {full_time:?}"
    );
}

#[test]
fn max_bytes_is_enforced_before_decoding() {
    let bytes = fixture("jfk-2s.flac");
    let opts = DecodeOptions::default().with_max_bytes(Some(1_000));
    assert_eq!(
        decode(&bytes, &opts).unwrap_err(),
        DecodeError::TooLarge { limit: 1_000 }
    );
    assert_eq!(
        decode_reader(&bytes[..], &opts)
            .unwrap_err()
            .code()
            .as_str(),
        "audio_too_large"
    );
}

#[test]
fn mangled_uploads_never_panic() {
    // Deterministic xorshift so failures reproduce.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names = [
        "speech-8k-u8.wav",
        "speech-16k-lame.mp3",
        "jfk-2s.ogg",
        "jfk-2s.flac",
        "speech-22k-s24.wav",
        "speech-c-aac.m4a",
        "speech-c-alac.m4a",
        "speech-c.aac",
        "speech-c-opus.webm",
        "speech-c.opus",
        "speech-c.aiff",
        "speech-c-8k-mulaw.wav",
        "speech-c-adpcm-ms.wav",
        "speech-c-adpcm-ima.wav",
        "speech-c.mp2",
    ];
    for name in names {
        let original = fixture(name);
        for round in 0..40 {
            let mut bytes = original.clone();
            // Keep the first frames small: a cut or flip in the headers exercises the most paths.
            let span = (bytes.len() as u64).min(4_096);
            for _ in 0..=(next() % 8) {
                let at = (next() % span) as usize;
                bytes[at] = next() as u8;
            }
            if round % 3 == 0 {
                bytes.truncate((next() % bytes.len() as u64) as usize);
            }
            let opts = DecodeOptions::default().with_max_duration(Some(Duration::from_secs(5)));
            if let Err(e) = decode(&bytes, &opts) {
                assert!(!e.code().as_str().is_empty());
            }
        }
    }
}
