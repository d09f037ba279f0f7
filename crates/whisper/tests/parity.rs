//! Token-for-token parity with faster-whisper (tiny.en, float32) on real speech.

mod common;

use common::{CLIPS, ids, read_wav, reference, tiny_en};
use vox_whisper::TranscribeOptions;
use vox_whisper::tokenizer::{Tokenizer, Vocabulary};

fn check_clips(mode: &str, beam_size: usize) {
    let reference = reference();
    let opts = TranscribeOptions {
        beam_size,
        ..Default::default()
    };
    for clip in CLIPS {
        check_segments(&reference[mode][clip], &read_wav(clip), &opts, clip);
    }
}

/// Token ids, timestamps (±0.02 s) and text of every segment equal the reference's.
fn check_segments(
    expected: &serde_json::Value,
    samples: &[f32],
    opts: &TranscribeOptions,
    clip: &str,
) {
    let expected = expected.as_array().expect("segments in reference");
    let got = tiny_en().transcribe(samples, opts).expect("transcribe");
    let got_tokens: Vec<Vec<u32>> = got.segments.iter().map(|s| s.tokens.clone()).collect();
    let want_tokens: Vec<Vec<u32>> = expected.iter().map(|s| ids(&s["tokens"])).collect();
    assert_eq!(got_tokens, want_tokens, "tokens of {clip}: {:?}", got.text);
    for (g, w) in got.segments.iter().zip(expected) {
        assert!(
            (g.start - w["start"].as_f64().unwrap()).abs() <= 0.02,
            "{clip} start {g:?}"
        );
        assert!(
            (g.end - w["end"].as_f64().unwrap()).abs() <= 0.02,
            "{clip} end {g:?}"
        );
        assert_eq!(g.text, w["text"].as_str().unwrap(), "{clip}");
    }
}

#[test]
fn greedy_tokens_match_faster_whisper() {
    check_clips("greedy", 1);
}

#[test]
fn beam5_tokens_match_faster_whisper() {
    check_clips("beam5", 5);
}

#[test]
fn seek_loop_over_two_windows_matches_faster_whisper() {
    let samples: Vec<f32> = CLIPS.iter().flat_map(|clip| read_wav(clip)).collect();
    let opts = TranscribeOptions {
        beam_size: 1,
        ..Default::default()
    };
    check_segments(&reference()["long"], &samples, &opts, "all clips");
}

#[test]
fn initial_prompt_matches_faster_whisper() {
    let reference = reference();
    let prompted = &reference["prompted"];
    let opts = TranscribeOptions {
        beam_size: 1,
        initial_prompt: Some(prompted["prompt"].as_str().unwrap().to_owned()),
        ..Default::default()
    };
    let clip = prompted["clip"].as_str().unwrap();
    check_segments(&prompted["segments"], &read_wav(clip), &opts, clip);
}

#[test]
fn bpe_encoding_matches_hugging_face() {
    let reference = reference();
    for (text, want) in reference["encode"].as_object().unwrap() {
        let want = ids(want);
        assert_eq!(
            tiny_en().tokenizer().encode(text).unwrap(),
            want,
            "{text:?}"
        );
        assert_eq!(tiny_en().tokenizer().decode(&want), *text);
    }
}

#[test]
fn bpe_encoding_without_tokenizer_json_matches_hugging_face() {
    // Without tokenizer.json's merges, a pair's rank is its merged token's id (tiktoken's rule),
    // which gives the same ids on the English-only vocabulary.
    let vocabulary = Vocabulary::read(&common::model_dir("tiny.en")).expect("vocabulary");
    let tokenizer = Tokenizer::new(vocabulary.tokens, &[]).expect("tokenizer");
    for (text, want) in reference()["encode"].as_object().unwrap() {
        assert_eq!(tokenizer.encode(text).unwrap(), ids(want), "{text:?}");
    }
}

#[test]
fn log_mel_matches_faster_whisper() {
    let reference = reference();
    let mel_ref = &reference["mel"];
    let clip = mel_ref["clip"].as_str().unwrap();
    let mel = vox_whisper::mel::log_mel_spectrogram(&read_wav(clip), 80);
    let shape: Vec<usize> = mel_ref["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(shape, vec![mel.n_mels, mel.n_frames]);
    let mut max_diff = 0f32;
    for (frame, values) in mel_ref["frames"].as_object().unwrap() {
        let frame: usize = frame.parse().unwrap();
        for (m, v) in values.as_array().unwrap().iter().enumerate() {
            max_diff = max_diff.max((mel.at(m, frame) - v.as_f64().unwrap() as f32).abs());
        }
    }
    for (m, mean) in mel_ref["bin_means"].as_array().unwrap().iter().enumerate() {
        let ours =
            (0..mel.n_frames).map(|t| mel.at(m, t) as f64).sum::<f64>() / mel.n_frames as f64;
        max_diff = max_diff.max((ours - mean.as_f64().unwrap()).abs() as f32);
    }
    assert!(max_diff <= 1e-4, "max abs diff {max_diff}");
}

#[test]
fn word_timestamps_match_faster_whisper() {
    let reference = reference();
    let opts = TranscribeOptions {
        beam_size: 1,
        word_timestamps: true,
        ..Default::default()
    };
    for clip in CLIPS {
        let expected = reference["words"][clip].as_array().unwrap();
        let got = tiny_en()
            .transcribe(&read_wav(clip), &opts)
            .expect("transcribe");
        assert_eq!(got.segments.len(), expected.len(), "{clip}: {:?}", got.text);
        for (segment, want) in got.segments.iter().zip(expected) {
            let want_words = want["words"].as_array().unwrap();
            let words: Vec<&str> = segment.words.iter().map(|w| w.word.as_str()).collect();
            let want_text: Vec<&str> = want_words
                .iter()
                .map(|w| w["word"].as_str().unwrap())
                .collect();
            assert_eq!(words, want_text, "{clip}");
            for (w, ww) in segment.words.iter().zip(want_words) {
                assert!(
                    (w.start - ww["start"].as_f64().unwrap()).abs() <= 0.02,
                    "{clip} {w:?} vs {ww}"
                );
                assert!(
                    (w.end - ww["end"].as_f64().unwrap()).abs() <= 0.02,
                    "{clip} {w:?} vs {ww}"
                );
                assert!(
                    (w.probability - ww["probability"].as_f64().unwrap()).abs() <= 0.01,
                    "{clip} {w:?} vs {ww}"
                );
            }
            assert!(
                (segment.start - want["start"].as_f64().unwrap()).abs() <= 0.02,
                "{clip} {segment:?}"
            );
            assert!(
                (segment.end - want["end"].as_f64().unwrap()).abs() <= 0.02,
                "{clip} {segment:?}"
            );
        }
    }
}

/// The incremental API, window by window, over two windows of speech: the segments that leave
/// after each window are the batch API's, token for token and to the timestamp, and the
/// faster-whisper reference's.
#[test]
fn segments_leave_window_by_window_with_the_batch_tokens() {
    let samples: Vec<f32> = CLIPS.iter().flat_map(|clip| read_wav(clip)).collect();
    let model = tiny_en();
    for word_timestamps in [false, true] {
        let opts = TranscribeOptions {
            beam_size: 1,
            word_timestamps,
            ..Default::default()
        };
        let mut transcription = model.transcription(&samples, &opts).expect("start");
        assert_eq!(transcription.language(), "en");
        let mut steps = Vec::new();
        for decoded in &mut transcription {
            steps.push(decoded.expect("window"));
        }
        let duration = transcription.duration();
        let incremental: Vec<_> = steps.iter().flat_map(|s| s.segments.clone()).collect();
        let batch = model.transcribe(&samples, &opts).expect("transcribe");
        assert_eq!(
            incremental, batch.segments,
            "word_timestamps={word_timestamps}"
        );
        assert_eq!(transcription.into_transcript(incremental), batch);

        let with_speech = steps.iter().filter(|s| !s.segments.is_empty()).count();
        assert!(with_speech >= 2, "{} windows with speech", with_speech);
        let ends: Vec<f64> = steps.iter().map(|s| s.end).collect();
        assert!(ends.windows(2).all(|w| w[0] < w[1]), "{ends:?}");
        assert_eq!(*ends.last().unwrap(), duration);
        for step in &steps {
            assert!(
                step.segments.iter().all(|s| s.end <= step.end + 0.02),
                "{step:?}"
            );
        }
        if !word_timestamps {
            let want: Vec<Vec<u32>> = reference()["long"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| ids(&s["tokens"]))
                .collect();
            let got: Vec<Vec<u32>> = batch.segments.iter().map(|s| s.tokens.clone()).collect();
            assert_eq!(got, want);
        }
    }
}
