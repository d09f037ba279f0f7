//! Every language of Piper's voices phonemizes as espeak-ng itself does: the texts and espeak-ng's
//! IPA in `fixtures/espeak_reference.json` (written by `fixtures/make_espeak_reference.py` from
//! the `espeak-ng` CLI).

mod common;

use common::data_dir;
use unicode_normalization::UnicodeNormalization;
use vox_phonemizer::Phonemizer;

#[derive(serde::Deserialize)]
struct Reference {
    espeak_ng: String,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    /// A Piper voice config's `espeak.voice`.
    voice: String,
    text: String,
    /// `espeak-ng -q --ipa -v VOICE TEXT`, one line per clause.
    clauses: Vec<String>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("fixtures/espeak_reference.json")).expect("reference JSON")
}

/// The clause punctuation Piper puts back after each clause's phonemes (`sentences::assemble`);
/// espeak-ng's CLI prints phonemes only.
const CLAUSE_PUNCTUATION: &[char] = &['.', ',', ';', ':', '!', '?'];

/// The phonemized words of Piper's sentences with its clause punctuation taken out, to compare
/// with espeak's clause lines word by word.
fn words(sentences: &[String]) -> Vec<String> {
    sentences
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(|w| w.trim_end_matches(CLAUSE_PUNCTUATION).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn languages_match_espeak_ng() {
    let reference = reference();
    let mut mismatches = Vec::new();
    let mut voices = std::collections::BTreeSet::new();
    for case in &reference.cases {
        let phonemizer = Phonemizer::new(data_dir(), &case.voice).expect(&case.voice);
        let sentences: Vec<String> = phonemizer
            .phonemize(&case.text)
            .unwrap()
            .into_iter()
            .map(|s| s.phonemes)
            .collect();
        let espeak: Vec<String> = case
            .clauses
            .iter()
            .flat_map(|c| c.split_whitespace())
            // Piper decomposes its phonemes (NFD: `ç` is `c` and a cedilla), espeak does not.
            .map(|w| w.nfd().collect())
            .collect();
        if words(&sentences) != espeak {
            mismatches.push(format!(
                "{} {:?}\n  espeak-ng: {:?}\n  ours:      {:?}",
                case.voice, case.text, case.clauses, sentences
            ));
        }
        voices.insert(case.voice.as_str());
    }
    assert!(voices.len() >= 5, "too few languages: {voices:?}");
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from espeak-ng {}:\n{}",
        mismatches.len(),
        reference.cases.len(),
        reference.espeak_ng,
        mismatches.join("\n")
    );
}

/// Clauses keep Piper's form in every language: each ends in its punctuation, sentences end at
/// full stops, question and exclamation marks.
#[test]
fn clause_punctuation_is_kept_as_piper_does() {
    let phonemizer = Phonemizer::new(data_dir(), "de").unwrap();
    let sentences: Vec<String> = phonemizer
        .phonemize("Guten Morgen, wie geht es dir? Gut.")
        .unwrap()
        .into_iter()
        .map(|s| s.phonemes)
        .collect();
    assert_eq!(
        sentences,
        ["ɡˈuːtən mˈɔɾɡən, viː ɡˈeːt ɛs dˈiːɾ?", "ɡˈuːt."],
        "{sentences:?}"
    );
}

/// The `espeak.voice` names in Piper's voice catalogue (piper-voices' `voices.json`), each of
/// which must load with its dictionary.
const PIPER_VOICES: &[&str] = &[
    "ar",
    "ca",
    "cmn",
    "cs",
    "cy",
    "da",
    "de",
    "el",
    "en-gb-x-rp",
    "en-us",
    "es",
    "es-419",
    "fa",
    "fi",
    "fr",
    "hi",
    "hu",
    "id",
    "is",
    "it",
    "ka",
    "kk",
    "lb",
    "lv",
    "ml",
    "ne",
    "nl",
    "nb",
    "pl",
    "pt",
    "pt-br",
    "ro",
    "ru",
    "sk",
    "sl",
    "sr",
    "sv",
    "sw",
    "te",
    "tr",
    "uk",
    "vi",
];

#[test]
fn every_piper_voice_language_loads_and_speaks() {
    let mut failures = Vec::new();
    for voice in PIPER_VOICES {
        let phonemizer = match Phonemizer::new(data_dir(), voice) {
            Ok(p) => p,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        // A digit is read out by every dictionary (its number rules), in that language's words.
        let sentences = phonemizer.phonemize("7").unwrap();
        assert!(
            !sentences[0].phonemes.trim().is_empty() && !sentences[0].phonemes.contains('7'),
            "{voice}: {sentences:?}"
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
