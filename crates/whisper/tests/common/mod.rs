//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use vox_whisper::Model;

/// Workspace-relative directory of a bundled model, or a panic telling how to get it.
pub fn model_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../models/whisper")
        .join(name);
    assert!(
        dir.join("model.bin").exists(),
        "Whisper weights not found in {}: run `make models` at the workspace root first",
        dir.display()
    );
    dir
}

/// tiny.en, loaded once per test binary.
pub fn tiny_en() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load(&model_dir("tiny.en")).expect("load tiny.en"))
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/fixtures")
        .join(name)
}

/// 16 kHz mono 16-bit WAV as f32 in [-1, 1), like faster-whisper's decode_audio.
pub fn read_wav(name: &str) -> Vec<f32> {
    let mut reader = hound::WavReader::open(fixture(name)).expect("open wav");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    reader
        .samples::<i16>()
        .map(|s| s.expect("sample") as f32 / 32768.0)
        .collect()
}

pub fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("parse reference.json")
}

/// A JSON array of token ids.
pub fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .expect("an array of ids")
        .iter()
        .map(|v| v.as_u64().expect("an id") as u32)
        .collect()
}

pub const CLIPS: [&str; 4] = [
    "librispeech-test-clean-a.wav",
    "librispeech-test-clean-b.wav",
    "librispeech-test-clean-c.wav",
    "jfk.wav",
];
