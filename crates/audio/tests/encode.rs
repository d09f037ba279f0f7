//! Streaming encoders: every format yields bytes as audio is pushed, and decodes back to the
//! same speech with the right duration (ffmpeg's view of the same files is checked by the app's
//! tests).

use std::path::Path;

use vox_audio::{DecodeOptions, Encoding, StreamEncoder, decode};

/// The 4.83 s utterance at a Piper voice's rate.
fn speech_22k() -> Vec<f32> {
    let path = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/fixtures/speech-c.wav");
    let bytes = std::fs::read(path).unwrap();
    decode(&bytes, &DecodeOptions::default().with_sample_rate(22_050))
        .unwrap()
        .samples
}

fn correlation_at_best_lag(a: &[f32], b: &[f32], max_lag: usize) -> f64 {
    let corr = |x: &[f32], y: &[f32]| {
        let n = x.len().min(y.len());
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for i in 0..n {
            let (p, q) = (f64::from(x[i]), f64::from(y[i]));
            xy += p * q;
            xx += p * p;
            yy += q * q;
        }
        xy / (xx * yy).sqrt().max(1e-12)
    };
    (0..=max_lag)
        .step_by(2)
        .flat_map(|lag| [corr(&a[lag..], b), corr(a, &b[lag..])])
        .fold(f64::MIN, f64::max)
}

/// Encodes in 0.5 s pushes, as synthesis delivers sentences; returns the bytes of each push.
fn encode_streamed(encoding: Encoding, samples: &[f32], rate: u32) -> Vec<Vec<u8>> {
    let mut enc = StreamEncoder::new(encoding, 22_050, rate).unwrap();
    let mut parts: Vec<Vec<u8>> = samples
        .chunks(11_025)
        .map(|c| enc.push(c).unwrap())
        .collect();
    parts.push(enc.finish().unwrap());
    parts
}

#[test]
fn every_format_streams_and_decodes_to_the_same_speech() {
    let speech = speech_22k();
    let secs = speech.len() as f64 / 22_050.0;
    // format, output rate, decoded codec name, duration tolerance (MP3 has no gapless tag when
    // streamed, so its encoder delay and padding stay in)
    let cases = [
        (Encoding::Wav, 22_050, "pcm_s16le", 0.001),
        (Encoding::Flac, 22_050, "flac", 0.001),
        (Encoding::Flac, 48_000, "flac", 0.005),
        (Encoding::Mp3, 22_050, "mp3", 0.1),
        (Encoding::Mp3, 24_000, "mp3", 0.1),
        (Encoding::Mp3, 44_100, "mp3", 0.1),
        (Encoding::Opus, 22_050, "opus", 0.03),
        (Encoding::Opus, 8_000, "opus", 0.03),
    ];
    for (encoding, rate, codec, tolerance) in cases {
        let parts = encode_streamed(encoding, &speech, rate);
        // Bytes leave long before the end: the first half of the pushes already produced a good
        // part of the stream (MP3 and Opus hold back at most a frame).
        let total: usize = parts.iter().map(Vec::len).sum();
        let early: usize = parts[..parts.len() / 2].iter().map(Vec::len).sum();
        assert!(
            early * 3 > total,
            "{encoding:?} at {rate} Hz: {early} of {total} bytes in the first half"
        );
        let bytes = parts.concat();
        let audio = decode(&bytes, &DecodeOptions::default().with_sample_rate(22_050))
            .unwrap_or_else(|e| panic!("{encoding:?} at {rate} Hz: {e}"));
        assert_eq!(audio.codec.name(), codec, "{encoding:?}");
        let got = audio.duration.as_secs_f64();
        assert!(
            (got - secs).abs() <= tolerance,
            "{encoding:?} at {rate} Hz: {got:.3} s, expected {secs:.3} s"
        );
        let r = correlation_at_best_lag(&speech, &audio.samples, 3_000);
        // MP3 at 64 kb/s and 8 kHz Opus keep the spectrum better than the waveform.
        let floor = if encoding == Encoding::Mp3 || rate <= 8_000 {
            0.7
        } else {
            0.85
        };
        assert!(r > floor, "{encoding:?} at {rate} Hz: correlation {r:.3}");
    }
}

#[test]
fn pcm_is_raw_s16le_at_the_output_rate() {
    let speech = speech_22k();
    let pcm = encode_streamed(Encoding::Pcm, &speech, 24_000).concat();
    let expected = (speech.len() as f64 * 24_000.0 / 22_050.0).round() as usize;
    assert_eq!(pcm.len(), expected * 2);
}

#[test]
fn rates_a_format_cannot_carry_are_refused() {
    for (encoding, rate) in [(Encoding::Mp3, 22_000), (Encoding::Mp3, 20_000)] {
        let err = StreamEncoder::new(encoding, 22_050, rate).err().unwrap();
        assert!(err.to_string().contains("supported: 8000"), "{err}");
    }
    assert!(StreamEncoder::new(Encoding::Flac, 22_050, 11_025).is_ok());
}

/// Whatever length the audio has, FLAC's short last block is coded (flacenc codes no block
/// under 32 samples, so a shorter tail is padded): every stream ends and decodes.
#[test]
fn flac_streams_of_every_tail_length_end_and_decode() {
    let speech = speech_22k();
    for tail in 0..40 {
        let samples = &speech[..4 * 4_096 + tail];
        for rate in [22_050, 16_000] {
            let mut enc = StreamEncoder::new(Encoding::Flac, 22_050, rate).unwrap();
            let mut bytes = enc.push(samples).unwrap();
            let end = enc
                .finish()
                .unwrap_or_else(|e| panic!("tail {tail} at {rate} Hz: {e}"));
            bytes.extend_from_slice(&end);
            let decoded = decode(&bytes, &DecodeOptions::default().with_sample_rate(rate))
                .unwrap_or_else(|e| panic!("tail {tail} at {rate} Hz: {e}"));
            let expected = samples.len() as f64 * f64::from(rate) / 22_050.0;
            assert!(
                (decoded.samples.len() as f64 - expected).abs() <= 40.0,
                "tail {tail} at {rate} Hz: {} samples, expected {expected:.0}",
                decoded.samples.len()
            );
        }
    }
}
