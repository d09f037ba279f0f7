//! The multilingual base model: language detection and transcription.

mod common;

use common::{model_dir, read_wav};
use vox_whisper::{Model, TranscribeOptions};

fn normalise(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    kept.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn base_detects_english_and_transcribes_jfk() {
    let model = Model::load(&model_dir("base")).expect("load base");
    assert!(model.is_multilingual());
    let opts = TranscribeOptions {
        beam_size: 1,
        ..Default::default()
    };
    let transcript = model
        .transcribe(&read_wav("jfk.wav"), &opts)
        .expect("transcribe");
    assert_eq!(transcript.language, "en");
    assert!(
        transcript.language_probability > 0.9,
        "{}",
        transcript.language_probability
    );
    assert_eq!(
        normalise(&transcript.text),
        "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
    );
}
