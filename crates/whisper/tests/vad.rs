//! Silero VAD against faster-whisper 1.2.0 (the release that ships the v5 model).

mod common;

use std::path::PathBuf;

use common::read_wav;
use vox_whisper::{TranscribeOptions, Vad, VadOptions};

fn reference() -> serde_json::Value {
    let text =
        std::fs::read_to_string(common::fixture("vad_reference.json")).expect("vad_reference.json");
    serde_json::from_str(&text).expect("parse vad_reference.json")
}

fn vad() -> Vad {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../models/vad");
    assert!(
        dir.join("silero_encoder_v5.onnx").exists(),
        "Silero VAD not found in {}: run `make models` at the workspace root first",
        dir.display()
    );
    Vad::load(&dir).expect("load VAD")
}

/// The fixture clips with digital silence before each and after the last.
fn audio(reference: &serde_json::Value) -> Vec<f32> {
    let clips = reference["clips"].as_array().unwrap();
    let silences = reference["silence_s"].as_array().unwrap();
    let mut audio = Vec::new();
    for (i, silence) in silences.iter().enumerate() {
        audio.extend(std::iter::repeat_n(
            0.0,
            (silence.as_f64().unwrap() * 16_000.0) as usize,
        ));
        if let Some(clip) = clips.get(i) {
            audio.extend(read_wav(clip.as_str().unwrap()));
        }
    }
    audio
}

#[test]
fn speech_probabilities_and_chunks_match_faster_whisper() {
    let reference = reference();
    let audio = audio(&reference);
    let vad = vad();
    let probs = vad.speech_probabilities(&audio).unwrap();
    let want: Vec<f64> = reference["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(probs.len(), want.len());
    let max_diff = probs
        .iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(max_diff < 1e-3, "max probability difference {max_diff}");

    let chunks = vad.speech_chunks(&audio, &VadOptions::default()).unwrap();
    let got: Vec<(u64, u64)> = chunks
        .iter()
        .map(|c| (c.start as u64, c.end as u64))
        .collect();
    let want: Vec<(u64, u64)> = reference["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["start"].as_u64().unwrap(), c["end"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn vad_filter_transcribes_speech_at_original_times() {
    let reference = reference();
    let audio = audio(&reference);
    let model = vox_whisper::Model::load(&common::model_dir("tiny.en"))
        .unwrap()
        .with_vad(vad());
    let opts = TranscribeOptions {
        beam_size: 1,
        vad_filter: true,
        ..Default::default()
    };
    let got = model.transcribe(&audio, &opts).unwrap();
    let want = reference["segments"].as_array().unwrap();
    assert_eq!(got.segments.len(), want.len(), "{:?}", got.text);
    for (g, w) in got.segments.iter().zip(want) {
        assert_eq!(g.tokens, common::ids(&w["tokens"]));
        assert!(
            (g.start - w["start"].as_f64().unwrap()).abs() <= 0.02,
            "{g:?}"
        );
        assert!((g.end - w["end"].as_f64().unwrap()).abs() <= 0.02, "{g:?}");
    }
}
