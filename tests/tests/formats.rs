//! Audio formats through the gateway: every decoded container and codec transcribes as well as
//! the WAV of the same speech, and every `response_format` decodes with ffmpeg to speech of the
//! right length.

use std::io::Write;
use std::process::{Command, Stdio};

use vox_app_tests::{app, wer, workspace_root};

/// "yet these thoughts affected hester prynne less with hope than apprehension"
const REFERENCE: &str =
    "yet these thoughts affected hester prynne less with hope than apprehension";

/// The decoder's fixtures (crates/audio/tests/fixtures/make_formats.sh made them).
fn audio_fixture(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("crates/audio/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn transcribe(name: &str) -> f64 {
    let resp = app().post("/api/asr", "application/octet-stream", &audio_fixture(name));
    assert_eq!(
        resp.status,
        200,
        "{name}: {}",
        String::from_utf8_lossy(&resp.body)
    );
    let text = resp.json()["text"].as_str().unwrap().to_string();
    wer(REFERENCE, &text)
}

#[test]
fn every_input_format_transcribes_as_well_as_wav() {
    let baseline = transcribe("speech-c.wav");
    // tiny.en hears "prynne" and "apprehension" its own way even in the WAV.
    assert!(baseline <= 0.4, "WAV WER {baseline}");
    for name in [
        "speech-c-aac.m4a",
        "speech-c-frag.m4a",
        "speech-c-alac.m4a",
        "speech-c.aac",
        "speech-c-opus.webm",
        "speech-c-live.webm",
        "speech-c.opus",
        "speech-c-vorbis.mka",
        "speech-c.aiff",
        "speech-c-8k-alaw.aifc",
        "speech-c-8k-mulaw.wav",
        "speech-c-8k-alaw.wav",
        "speech-c-adpcm-ms.wav",
        "speech-c-adpcm-ima.wav",
        "speech-c.mp2",
    ] {
        let got = transcribe(name);
        assert!(got <= baseline, "{name}: WER {got} vs WAV {baseline}");
    }
}

#[test]
fn truncated_new_formats_are_a_4xx() {
    for name in ["speech-c-aac.m4a", "speech-c.opus", "speech-c.aiff"] {
        let bytes = audio_fixture(name);
        let resp = app().post(
            "/api/asr",
            "application/octet-stream",
            &bytes[..bytes.len() / 2],
        );
        assert!(
            (400..500).contains(&resp.status),
            "{name}: {} {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
        let code = resp.error_code();
        assert!(
            code == "invalid_audio" || code == "truncated_audio",
            "{name}: {code}"
        );
    }
}

/// ffmpeg's decode of `bytes`: its codec name and the number of 16 kHz mono samples.
fn ffmpeg_decode(bytes: &[u8]) -> Option<(String, usize)> {
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    probe.stdin.as_ref().unwrap().write_all(bytes).ok()?;
    let codec = String::from_utf8(probe.wait_with_output().ok()?.stdout).ok()?;
    let mut child = Command::new("ffmpeg")
        .args([
            "-v", "error", "-i", "-", "-f", "s16le", "-ac", "1", "-ar", "16000", "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    assert!(out.status.success(), "ffmpeg could not decode the response");
    Some((codec.trim().to_string(), out.stdout.len() / 2))
}

#[test]
fn every_response_format_decodes_with_ffmpeg_to_speech_of_the_right_length() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("skipped: ffmpeg is not installed (`make test` installs it)");
        return;
    }
    let text =
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.";
    let speak = |format: &str, rate: Option<u32>| {
        // Noise off (the `/v1` extension): every synthesis of the text is the same speech, so the
        // formats' lengths differ only by what their encoders add.
        let mut body = serde_json::json!({"model": "tts-1", "input": text, "voice": "alloy", "response_format": format, "noise_scale": 0, "noise_w": 0});
        if let Some(rate) = rate {
            body["sample_rate"] = rate.into();
        }
        app().post_json("/v1/audio/speech", &body).expect_ok(format)
    };
    let wav = speak("wav", None);
    let (codec, reference) = ffmpeg_decode(&wav.body).unwrap();
    assert_eq!(codec, "pcm_s16le");
    assert!(reference > 16_000 * 3, "{reference} samples of speech");
    for (format, rate, codec, content_type) in [
        ("mp3", None, "mp3", "audio/mpeg"),
        ("mp3", Some(44_100), "mp3", "audio/mpeg"),
        ("opus", None, "opus", "audio/ogg"),
        ("opus", Some(16_000), "opus", "audio/ogg"),
        ("flac", None, "flac", "audio/flac"),
        ("flac", Some(48_000), "flac", "audio/flac"),
        ("wav", Some(8_000), "pcm_s16le", "audio/wav"),
    ] {
        let resp = speak(format, rate);
        assert!(
            resp.header("content-type")
                .unwrap_or("")
                .starts_with(content_type),
            "{format}: {:?}",
            resp.header("content-type")
        );
        let (got_codec, samples) = ffmpeg_decode(&resp.body).unwrap();
        assert_eq!(got_codec, codec, "{format}");
        // Same speech, same length: MP3 streams keep the encoder's delay and padding (a few
        // frames of 576 or 1152 samples).
        let diff = (samples as f64 - reference as f64).abs() / 16_000.0;
        assert!(
            diff < 0.1,
            "{format} at {rate:?}: {samples} vs {reference} samples"
        );
    }
    // pcm is OpenAI's 24 kHz s16le mono.
    let pcm = speak("pcm", None);
    assert_eq!(pcm.header("x-sample-rate"), Some("24000"));
    let seconds = pcm.body.len() as f64 / 2.0 / 24_000.0;
    assert!(
        (seconds - reference as f64 / 16_000.0).abs() < 0.1,
        "pcm: {seconds} s vs {} s",
        reference as f64 / 16_000.0
    );
    // MP3 cannot carry every rate; the range is 8–48 kHz.
    for (format, rate) in [("mp3", 20_000), ("wav", 96_000)] {
        let body = serde_json::json!({"model": "tts-1", "input": "Hi", "voice": "alloy", "response_format": format, "sample_rate": rate});
        let resp = app().post(
            "/v1/audio/speech",
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(resp.status, 400, "{format} at {rate}");
        let message = resp.json()["error"]["message"].to_string();
        assert!(message.contains("Hz"), "{format} at {rate}: {message}");
    }
}

#[test]
fn native_tts_takes_format_and_sample_rate() {
    let resp = app().post(
        "/api/tts",
        "application/json",
        br#"{"text":"Hello there.","format":"flac","sample_rate":16000}"#,
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(&resp.body[..4], b"fLaC");
    assert_eq!(resp.header("x-sample-rate"), Some("16000"));
}
