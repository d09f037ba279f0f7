//! The two places a model runs, over real HTTP through `vox up`: on the host's native tract
//! through wasi:nn (the default) and inside the component (`--inference wasm`, what Spin
//! runs). Each says which it is, and both speak the same audio.

use vox_app_tests::{App, app, portable_app};

fn inference(app: &App) -> serde_json::Value {
    let (status, ready) = app.get_json("/ready");
    assert_eq!(status, 200, "{ready}");
    ready["inference"].clone()
}

#[test]
fn each_path_says_where_its_models_run() {
    assert_eq!(
        inference(app()),
        serde_json::json!({"asr": "in-component", "tts": "wasi-nn"})
    );
    assert_eq!(
        inference(portable_app()),
        serde_json::json!({"asr": "in-component", "tts": "in-component"})
    );
}

/// 16-bit samples of a WAV answer (its 44-byte header checked and skipped).
fn samples(app: &App, text: &str) -> Vec<f32> {
    let request = serde_json::json!({
        "text": text, "format": "wav", "noise_scale": 0.0, "noise_w": 0.0,
    });
    let resp = app.post_json("/api/tts", &request);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(&resp.body[..4], b"RIFF");
    resp.body[44..]
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32767.0)
        .collect()
}

/// Pearson correlation over the common length.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let mean = |x: &[f32]| x[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        let (x, y) = (f64::from(*x) - ma, f64::from(*y) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

#[test]
fn native_and_in_component_voices_speak_the_same_audio() {
    // Two sentences: each is synthesised on its own, so both go through the graph.
    let text =
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.";
    let native = samples(app(), text);
    let portable = samples(portable_app(), text);
    // Noise off, the same ids and buckets: the same number of frames (256 samples each).
    let (a, b) = (native.len() as f64, portable.len() as f64);
    assert!(
        (a - b).abs() <= 256.0,
        "{a} samples natively, {b} in the component"
    );
    let r = correlation(&native, &portable);
    let max_diff = native
        .iter()
        .zip(&portable)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    eprintln!("{a} samples, correlation {r:.6}, max difference {max_diff:.2e}");
    // The tolerance vox-piper's own test holds tract to against piper-tts.
    assert!(r >= 0.99, "correlation {r}");
    assert!(max_diff < 1e-3, "max sample difference {max_diff}");
    assert!(
        native.iter().any(|s| s.abs() > 0.1),
        "native audio is near-silent"
    );
}
