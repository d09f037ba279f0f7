//! On both inference paths — inside the asr component (`--inference wasm`, what Spin runs) and on
//! the host's native tract through wasi:nn (`vox up`'s default) — the f32 decoder gives
//! faster-whisper float32's token ids on the whisper fixtures (the reference
//! `crates/whisper/tests/fixtures/make_reference.py` wrote), and the shipped int8 one the same
//! words on them: neither wasm's kernels (relaxed SIMD's fused multiply-add included) nor the
//! native ones may move a token.

use vox_app_tests::{
    App, app, float32_app, float32_portable_app, portable_app, whisper_fixture, words,
    workspace_root,
};

const CLIPS: [&str; 4] = [
    "librispeech-test-clean-a.wav",
    "librispeech-test-clean-b.wav",
    "librispeech-test-clean-c.wav",
    "jfk.wav",
];

fn reference() -> serde_json::Value {
    let path = workspace_root().join("crates/whisper/tests/fixtures/reference.json");
    serde_json::from_slice(&std::fs::read(&path).expect("reference.json")).expect("json")
}

/// Segments' token ids and the text of `clip` through `/api/asr` at `beam`.
fn transcribe(app: &App, clip: &str, beam: usize) -> (Vec<Vec<u64>>, String) {
    let audio = whisper_fixture(clip);
    let resp = app.post(
        &format!("/api/asr?language=en&beam_size={beam}"),
        "audio/wav",
        &audio,
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let json = resp.json();
    let tokens = json["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| ids(&s["tokens"]))
        .collect();
    (tokens, json["text"].as_str().expect("text").to_string())
}

fn ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|t| t.as_u64().expect("id"))
        .collect()
}

fn reference_segments(reference: &serde_json::Value, mode: &str, clip: &str) -> Vec<Vec<u64>> {
    reference[mode][clip]
        .as_array()
        .expect("reference segments")
        .iter()
        .map(|s| ids(&s["tokens"]))
        .collect()
}

fn reference_text(reference: &serde_json::Value, mode: &str, clip: &str) -> String {
    reference[mode][clip]
        .as_array()
        .expect("reference segments")
        .iter()
        .map(|s| s["text"].as_str().expect("text"))
        .collect()
}

fn float32_tokens_match_faster_whisper(app: &App, path: &str) {
    let reference = reference();
    for (mode, beam) in [("greedy", 1), ("beam5", 5)] {
        for clip in CLIPS {
            let (tokens, text) = transcribe(app, clip, beam);
            assert_eq!(
                tokens,
                reference_segments(&reference, mode, clip),
                "{path}: {clip} beam {beam}: {text}"
            );
        }
    }
}

#[test]
fn float32_tokens_in_the_component_match_faster_whisper() {
    float32_tokens_match_faster_whisper(float32_portable_app(), "in-component");
}

#[test]
fn float32_tokens_on_native_inference_match_faster_whisper() {
    float32_tokens_match_faster_whisper(float32_app(), "wasi-nn");
}

#[test]
fn int8_words_on_both_paths_stay_faster_whisper_s() {
    for (app, path) in [(portable_app(), "in-component"), (app(), "wasi-nn")] {
        int8_words_stay_faster_whisper_s(app, path);
    }
}

fn int8_words_stay_faster_whisper_s(app: &App, path: &str) {
    let reference = reference();
    let (mut differing, mut total) = (0, 0);
    for clip in CLIPS {
        let (_, text) = transcribe(app, clip, 5);
        let (got, want) = (
            words(&text),
            words(&reference_text(&reference, "beam5", clip)),
        );
        total += want.len();
        differing += word_edits(&got, &want);
    }
    // int8 may change a word here and there (faster-whisper's own int8 does), not the text.
    assert!(
        differing * 50 <= total,
        "{path}: {differing} of {total} words differ from float32's"
    );
}

/// Word-level edit distance (substitutions, insertions, deletions), as WER counts errors.
fn word_edits(a: &[String], b: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diagonal + usize::from(x != y))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
