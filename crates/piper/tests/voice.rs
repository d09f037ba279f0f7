//! Synthesis with the bundled voice, checked against piper-tts's own output.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vox_piper::{Buckets, PiperError, Speaker, SynthesisParams, Voice, VoiceOptions};

const VOICE: &str = "models/voices/en_US-joe-medium.onnx";

fn workspace_root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..")
}

/// One voice for all tests; two buckets keep plan building short.
fn voice() -> &'static Voice {
    static VOICE_ONCE: OnceLock<Voice> = OnceLock::new();
    VOICE_ONCE.get_or_init(|| {
        let path = workspace_root().join(VOICE);
        assert!(
            path.exists(),
            "{VOICE} is missing: run `make models` at the workspace root first"
        );
        let options = VoiceOptions {
            buckets: Buckets::new([128, 256]).unwrap(),
            ..Default::default()
        };
        Voice::load(&path, options).expect("loading the voice")
    })
}

struct Reference {
    phonemes: String,
    ids: Vec<i64>,
    samples: Vec<f32>,
}

fn reference() -> Reference {
    let dir = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/fixtures");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let wav = std::fs::read(dir.join("reference.wav")).unwrap();
    let data = wav
        .windows(4)
        .position(|w| w == b"data")
        .expect("data chunk")
        + 8;
    Reference {
        phonemes: meta["phonemes"].as_str().unwrap().to_owned(),
        ids: meta["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect(),
        samples: wav[data..]
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32767.0)
            .collect(),
    }
}

fn quiet() -> SynthesisParams {
    voice().default_params().without_noise()
}

/// The largest difference between two signals' samples.
fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Pearson correlation over the common length.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let mean = |x: &[f32]| x[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (f64::from(a[i]) - ma, f64::from(b[i]) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

#[test]
fn phoneme_ids_match_piper() {
    let reference = reference();
    assert_eq!(voice().phoneme_ids(&reference.phonemes), reference.ids);
    let config = voice().config();
    assert_eq!((config.sample_rate, config.num_speakers), (22050, 1));
    assert_eq!(config.espeak_voice, "en-us");
}

#[test]
fn audio_matches_piper_with_noise_off() {
    let reference = reference();
    let audio = voice().synthesize_ids(&reference.ids, &quiet()).unwrap();
    // The ids are padded to the 256 bucket; the reference ran them unpadded.
    // A frame is 256 samples: the lengths must agree to within one.
    let (len, expected) = (audio.len() as f64, reference.samples.len() as f64);
    assert!(
        (len - expected).abs() <= 256.0,
        "{len} samples, piper-tts made {expected}"
    );
    assert!((len - expected).abs() / expected < 0.01);
    let r = correlation(&audio, &reference.samples);
    let max_diff = max_difference(&audio, &reference.samples);
    eprintln!(
        "{len} samples (piper-tts {expected}), correlation {r:.6}, max difference {max_diff:.2e}"
    );
    assert!(r >= 0.99, "correlation {r}");
    // 16-bit quantisation of the reference is 1.5e-5; tract vs onnxruntime adds about as much.
    assert!(max_diff < 1e-3, "max sample difference {max_diff}");
}

/// On the host's threads a long sentence's vocoder runs as two halves joined at the cut: the
/// samples are the ones the whole vocoder gives, bar rounding.
#[test]
fn vocoder_halves_on_threads_give_the_whole_audio() {
    use tract_linalg::multithread::{Executor, multithread_tract_scope};
    let reference = reference();
    let whole = voice().synthesize_ids(&reference.ids, &quiet()).unwrap();
    // 414 frames of 256 samples: long enough to be split.
    assert!(whole.len() / 256 > 200, "{} samples", whole.len());
    let halves = multithread_tract_scope(Executor::multithread(2), || {
        voice().synthesize_ids(&reference.ids, &quiet()).unwrap()
    });
    assert_eq!(halves.len(), whole.len());
    let max_diff = max_difference(&halves, &whole);
    eprintln!("halves against whole: max difference {max_diff:.2e}");
    assert!(max_diff < 1e-5, "max sample difference {max_diff}");
}

#[test]
fn noise_off_is_deterministic() {
    let ids = voice().phoneme_ids("hˈɛloʊ, ðɛɹ.");
    let first = voice().synthesize_ids(&ids, &quiet()).unwrap();
    let second = voice().synthesize_ids(&ids, &quiet()).unwrap();
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn default_noise_still_speaks() {
    let ids = voice().phoneme_ids("hˈɛloʊ, ðɛɹ.");
    let quiet_len = voice().synthesize_ids(&ids, &quiet()).unwrap().len() as f64;
    let audio = voice()
        .synthesize_ids(&ids, &voice().default_params())
        .unwrap();
    let len = audio.len() as f64;
    assert!(
        (len - quiet_len).abs() / quiet_len < 0.5,
        "{len} vs {quiet_len} samples"
    );
    assert!(audio.iter().all(|s| s.is_finite()) && audio.iter().any(|&s| s.abs() > 0.01));
}

#[test]
fn speed_changes_duration() {
    let ids = voice().phoneme_ids("hˈɛloʊ, ðɛɹ.");
    let normal = voice().synthesize_ids(&ids, &quiet()).unwrap().len() as f64;
    let fast = voice()
        .synthesize_ids(&ids, &quiet().with_speed(2.0))
        .unwrap()
        .len() as f64;
    assert!(fast < 0.7 * normal, "speed 2: {fast} samples vs {normal}");
}

#[test]
fn long_sentences_are_cut_at_clauses_and_joined() {
    let reference = reference();
    // Twice the reference as one sentence: 397 ids, over the 256 bucket.
    let doubled = format!("{} {}", reference.phonemes, reference.phonemes);
    assert!(voice().phoneme_ids(&doubled).len() > voice().buckets().largest());
    let audio = voice().synthesize_phonemes(&doubled, &quiet()).unwrap();
    let single = voice().synthesize_ids(&reference.ids, &quiet()).unwrap();
    // Cut after the first "." the first piece is exactly the reference sentence.
    assert_eq!(audio.len(), 2 * single.len());
    assert_eq!(&audio[..single.len()], &single[..]);
}

#[test]
fn overlong_unframed_ids_are_an_error() {
    let ids = vec![5; 300];
    let err = voice().synthesize_ids(&ids, &quiet()).unwrap_err();
    assert!(
        matches!(err, PiperError::TooLong { len: 300, max: 256 }),
        "{err}"
    );
}

#[test]
fn streaming_yields_first_clause_then_sentences_with_silence() {
    let reference = reference();
    let sentences = [reference.phonemes.as_str(), "hˈɛloʊ."];
    let params = SynthesisParams {
        sentence_silence: 0.1,
        ..quiet()
    };
    let chunks: Vec<_> = voice()
        .synthesizer(sentences, params)
        .first_clause_early(true)
        .collect::<Result<_, _>>()
        .unwrap();
    let shape: Vec<_> = chunks
        .iter()
        .map(|c| (c.sentence, c.sentence_end))
        .collect();
    assert_eq!(shape, [(0, false), (0, true), (1, true)]);
    let silence = 2205;
    let whole = reference.samples.len() as f64;
    assert!(
        (chunks[0].samples.len() as f64) < 0.7 * whole,
        "the first chunk is only the first clause"
    );
    for chunk in &chunks[1..] {
        let tail = &chunk.samples[chunk.samples.len() - silence..];
        assert!(
            tail.iter().all(|&s| s == 0.0),
            "sentence {} ends in silence",
            chunk.sentence
        );
    }
    // Cut at its comma, the first sentence lasts about as long as in one piece.
    let pieces = (chunks[0].samples.len() + chunks[1].samples.len() - silence) as f64;
    assert!(
        (pieces - whole).abs() / whole < 0.1,
        "{pieces} vs {whole} samples"
    );
}

#[test]
fn unknown_speaker_is_a_typed_error() {
    let ids = voice().phoneme_ids("hˈɛloʊ.");
    for speaker in [Speaker::Name("nobody".into()), Speaker::Id(3)] {
        let params = SynthesisParams {
            speaker: Some(speaker.clone()),
            ..quiet()
        };
        let err = voice().synthesize_ids(&ids, &params).unwrap_err();
        assert!(
            matches!(err, PiperError::UnknownSpeaker(_)),
            "{speaker:?}: {err}"
        );
    }
}

#[test]
fn voices_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Voice>();
}
