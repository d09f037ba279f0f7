//! The pre-initialised asr and tts components (`vox preinit` snapshots, as `spin.toml` ships
//! them) against the same components initialising lazily: they start with their models in
//! memory and answer exactly as the lazy ones do. Both run the portable components
//! (`--inference wasm`): snapshots are what Spin runs; the wasi:nn builds have none.

use vox_app_tests::{App, fixture, lazy_app, portable_app};

fn loaded(app: &App) -> serde_json::Value {
    let (status, ready) = app.get_json("/ready");
    assert_eq!(status, 200, "{ready}");
    ready["loaded"].clone()
}

fn transcribe(app: &App, query: &str) -> serde_json::Value {
    let resp = app.post(
        &format!("/api/asr?{query}"),
        "audio/flac",
        &fixture("jfk.flac"),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    resp.json()
}

fn synthesize(app: &App, request: &serde_json::Value) -> Vec<u8> {
    let resp = app.post(
        "/api/tts",
        "application/json",
        request.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(
        resp.body.len() > 22050,
        "only {} bytes of audio",
        resp.body.len()
    );
    resp.body
}

// One test, in this order, because the first check needs instances that have served nothing.
#[test]
fn snapshots_start_loaded_and_answer_as_lazy_components_do() {
    // A lazy instance holds nothing until a request needs it; a snapshot starts loaded.
    assert_eq!(
        loaded(lazy_app()),
        serde_json::json!({"asr": [], "tts": []})
    );
    let preloaded = loaded(portable_app());
    assert_eq!(
        preloaded["asr"],
        serde_json::json!(["tiny.en"]),
        "{preloaded}"
    );
    assert_eq!(
        preloaded["tts"],
        serde_json::json!(["en_US-joe-medium"]),
        "{preloaded}"
    );

    for query in ["word_timestamps=true", "beam_size=1&temperature=0"] {
        let (snapshot, lazy) = (
            transcribe(portable_app(), query),
            transcribe(lazy_app(), query),
        );
        assert_eq!(snapshot, lazy, "transcripts differ for ?{query}");
        assert!(
            snapshot["text"]
                .as_str()
                .unwrap()
                .contains("ask not what your country"),
            "{snapshot}"
        );
    }

    // Long enough to use several length buckets (the snapshot built their plans ahead of
    // time); with noise off the audio is deterministic, so equal means byte for byte.
    let text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. \
                It's easy to tell the depth of a well, when the water is clear and the light falls just right \
                on the stones at the bottom, which shine like old coins.";
    let request =
        serde_json::json!({"text": text, "format": "pcm", "noise_scale": 0, "noise_w": 0});
    let (snapshot, lazy) = (
        synthesize(portable_app(), &request),
        synthesize(lazy_app(), &request),
    );
    assert_eq!(snapshot.len(), lazy.len(), "audio lengths differ");
    assert!(snapshot == lazy, "audio differs");
}
