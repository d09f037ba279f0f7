//! Speech recognition through the gateway, on real recordings with the bundled tiny.en model.

use vox_app_tests::{app, fixture, words};

#[test]
fn jfk_flac_is_transcribed_with_timestamps() {
    let resp = app().post("/api/asr", "audio/flac", &fixture("jfk.flac"));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let json = resp.json();
    let text = json["text"].as_str().unwrap();
    assert_eq!(
        words(text),
        words(
            "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
        ),
        "{text}"
    );
    assert_eq!(json["language"], "en");
    let duration = json["duration"].as_f64().unwrap();
    assert!((duration - 11.0).abs() < 0.1, "duration {duration}");
    let segments = json["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    let mut last_end = 0.0;
    for s in segments {
        let (start, end) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(
            start >= last_end - 0.01 && end > start && end <= duration + 0.5,
            "{s}"
        );
        last_end = end;
    }
}

#[test]
fn undecodable_audio_is_a_4xx_and_the_service_keeps_serving() {
    let resp = app().post(
        "/api/asr",
        "audio/wav",
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
    );
    assert!((400..500).contains(&resp.status), "status {}", resp.status);
    resp.error_code();
    let resp = app().post("/api/asr", "application/octet-stream", b"");
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "empty_audio");
    let (status, _) = app().get("/health");
    assert_eq!(status, 200);
}

#[test]
fn unknown_model_and_bad_options_are_4xx() {
    let audio = fixture("jfk.flac");
    let resp = app().post("/api/asr?model=no-such-model", "audio/flac", &audio);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "model_not_found");
    let resp = app().post("/api/asr?beam_size=0", "audio/flac", &audio);
    assert_eq!(resp.status, 400);
}
