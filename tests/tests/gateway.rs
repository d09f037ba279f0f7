//! The gateway's public API over the real asr and tts services: listings, the OpenAI-compatible
//! routes, and the streamed end-to-end flow.

use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use vox_app_tests::{app, fixture, multipart};

#[test]
fn voices_and_models_are_listed() {
    let (status, voices) = app().get_json("/api/voices");
    assert_eq!(status, 200);
    let joe = voices["voices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "en_US-joe-medium");
    assert_eq!(joe.expect("bundled voice listed")["sample_rate"], 22050);

    let (status, models) = app().get_json("/api/models");
    assert_eq!(status, 200);
    assert_eq!(models["default"], "tiny.en");
    let ids: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"tiny.en") && ids.contains(&"base"), "{ids:?}");

    let (status, list) = app().get_json("/v1/models");
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
}

#[test]
fn openapi_document_is_served() {
    let (status, doc) = app().get_json("/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/v1/audio/transcriptions"].is_object());
}

#[test]
fn openai_transcription_in_every_format() {
    let audio = fixture("jfk.flac");
    let transcribe = |format: &str| {
        let (ct, body) = multipart(
            &[("model", "whisper-1"), ("response_format", format)],
            ("file", "jfk.flac", &audio),
        );
        let resp = app().post("/v1/audio/transcriptions", &ct, &body);
        assert_eq!(
            resp.status,
            200,
            "{format}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        resp
    };
    let json = transcribe("json").json();
    let text = json["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("ask not what your country can do for you"),
        "{text}"
    );
    let plain = String::from_utf8(transcribe("text").body).unwrap();
    assert_eq!(plain.trim(), text.trim());
    let srt = String::from_utf8(transcribe("srt").body).unwrap();
    assert!(srt.starts_with("1\n00:00:00,000 --> "), "{srt}");
    let vtt = String::from_utf8(transcribe("vtt").body).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    let verbose = transcribe("verbose_json").json();
    assert_eq!(verbose["language"], "english");
    assert!(!verbose["segments"].as_array().unwrap().is_empty());

    let (ct, body) = multipart(&[("response_format", "mp4")], ("file", "jfk.flac", &audio));
    let resp = app().post("/v1/audio/transcriptions", &ct, &body);
    assert_eq!(resp.status, 400);
    assert!(
        resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("response_format")
    );
}

#[test]
fn openai_speech_streams_wav() {
    let body = serde_json::json!({"model": "tts-1", "input": "Hello from Vox.", "voice": "echo", "response_format": "wav"});
    let resp = app().post(
        "/v1/audio/speech",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(&resp.body[..4], b"RIFF");
    let seconds = (resp.body.len() - 44) as f64 / 2.0 / 22050.0;
    assert!((0.5..4.0).contains(&seconds), "{seconds}");

    let bad = serde_json::json!({"model": "tts-1", "input": "Hi", "voice": "echo", "response_format": "mp3"});
    let resp = app().post(
        "/v1/audio/speech",
        "application/json",
        bad.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn e2e_streams_speech_of_the_transcript() {
    let started = Instant::now();
    let mut resp = app()
        .agent()
        .post(&app().url("/api/e2e"))
        .header("content-type", "audio/flac")
        .send(&fixture("jfk.flac")[..])
        .unwrap();
    assert_eq!(resp.status(), 200);
    let transcript = resp
        .headers()
        .get("x-transcript")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(transcript.contains("country"), "{transcript}");
    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 4096];
    let mut chunks = Vec::new();
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        chunks.push((started.elapsed(), n));
    }
    let total: usize = chunks.iter().map(|c| c.1).sum();
    assert!(
        total > 22050 * 2 * 3,
        "{total} bytes of speech for an 11 s transcript"
    );
    let (first, last) = (chunks.first().unwrap().0, chunks.last().unwrap().0);
    assert!(first < last, "audio arrived all at once");
}

#[test]
fn e2e_event_stream_orders_transcript_audio_done() {
    let mut resp = app()
        .agent()
        .post(&app().url("/api/e2e"))
        .header("content-type", "audio/flac")
        .header("accept", "text/event-stream")
        .send(&fixture("jfk.flac")[..])
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events: Vec<String> = BufReader::new(resp.body_mut().as_reader())
        .lines()
        .map(Result::unwrap)
        .filter_map(|l| l.strip_prefix("event: ").map(str::to_string))
        .collect();
    assert_eq!(
        events.first().map(String::as_str),
        Some("transcript"),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("done"),
        "{events:?}"
    );
    assert!(
        events[1..events.len() - 1].iter().all(|e| e == "audio") && events.len() > 3,
        "{events:?}"
    );
}

#[test]
fn e2e_rejects_bad_audio() {
    let resp = app().post("/api/e2e", "audio/wav", b"not audio at all");
    assert!((400..500).contains(&resp.status));
    resp.error_code();
}
