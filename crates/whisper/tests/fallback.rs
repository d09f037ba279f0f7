//! Temperature fallback: sampling runs when greedy decoding fails the thresholds.

mod common;

use common::{read_wav, tiny_en};
use vox_whisper::TranscribeOptions;

#[test]
fn unmeetable_threshold_tries_every_temperature() {
    // No decoding has a positive average log-probability, so every temperature is tried
    // and the most probable result is kept, reported with the last temperature.
    let opts = TranscribeOptions {
        beam_size: 1,
        best_of: 3,
        log_prob_threshold: Some(0.0),
        no_speech_threshold: None,
        ..Default::default()
    };
    let transcript = tiny_en()
        .transcribe(&read_wav("librispeech-test-clean-c.wav"), &opts)
        .unwrap();
    assert!(!transcript.segments.is_empty());
    for segment in &transcript.segments {
        assert_eq!(segment.temperature, 1.0);
        assert!(segment.avg_logprob < 0.0);
    }
    // The greedy result is the most probable one here.
    let text = transcript.text.to_lowercase();
    assert!(text.contains("these thoughts affected"), "{text}");
}

#[test]
fn sampling_is_reproducible() {
    let opts = TranscribeOptions {
        beam_size: 1,
        temperatures: vec![0.8],
        ..Default::default()
    };
    let audio = read_wav("librispeech-test-clean-c.wav");
    let a = tiny_en().transcribe(&audio, &opts).unwrap();
    let b = tiny_en().transcribe(&audio, &opts).unwrap();
    assert_eq!(a, b);
    assert!(a.segments.iter().all(|s| s.temperature == 0.8));
}
