//! Piper's assembly of espeak clauses into sentences (`phonemize_espeak.py` in piper-tts 1.8).

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::engine::Clause;

/// The IPA phonemes of one sentence, as one string.
///
/// Piper feeds the model one sentence at a time, one phoneme per Unicode scalar value
/// (`phonemes.chars()`), clause punctuation and spaces included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// IPA phonemes, stress marks, spaces between words and the sentence's clause punctuation.
    pub phonemes: String,
}

impl fmt::Display for Sentence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.phonemes)
    }
}

// espeak's clause terminator flags (translate.h), as Piper's espeakbridge reads them.
const INTONATION_FULL_STOP: i32 = 0x0000_0000;
const INTONATION_COMMA: i32 = 0x0000_1000;
const INTONATION_QUESTION: i32 = 0x0000_2000;
const INTONATION_EXCLAMATION: i32 = 0x0000_3000;
const TYPE_CLAUSE: i32 = 0x0004_0000;
const TYPE_SENTENCE: i32 = 0x0008_0000;

const PERIOD: i32 = 40 | INTONATION_FULL_STOP | TYPE_SENTENCE;
const COMMA: i32 = 20 | INTONATION_COMMA | TYPE_CLAUSE;
const QUESTION: i32 = 40 | INTONATION_QUESTION | TYPE_SENTENCE;
const EXCLAMATION: i32 = 45 | INTONATION_EXCLAMATION | TYPE_SENTENCE;
const COLON: i32 = 30 | INTONATION_FULL_STOP | TYPE_CLAUSE;
const SEMICOLON: i32 = 30 | INTONATION_COMMA | TYPE_CLAUSE;

/// Joins clauses into sentences: language-switch flags dropped, the clause's punctuation kept
/// (with a space after `,` `:` `;`), decomposed to NFD so accents become phonemes of their own.
pub(crate) fn assemble(clauses: Vec<Clause>) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    let mut current = String::new();
    for clause in clauses {
        let terminator = clause.terminator & 0x000F_FFFF;
        let punctuation = punctuation(terminator);
        let mut phonemes = strip_language_switches(&clause.phonemes);
        phonemes.push_str(punctuation);
        if matches!(punctuation, "," | ":" | ";") {
            phonemes.push(' ');
        }
        current.extend(phonemes.nfd());
        if terminator & TYPE_SENTENCE == TYPE_SENTENCE {
            sentences.push(Sentence {
                phonemes: std::mem::take(&mut current),
            });
        }
    }
    // Text without a final sentence terminator.
    if !current.is_empty() {
        sentences.push(Sentence { phonemes: current });
    }
    sentences
}

fn punctuation(terminator: i32) -> &'static str {
    match terminator {
        PERIOD => ".",
        QUESTION => "?",
        EXCLAMATION => "!",
        COMMA => ",",
        COLON => ":",
        SEMICOLON => ";",
        _ => "",
    }
}

/// Removes espeak's `(en)`-style language-switch flags: Piper's `re.sub(r"\([^)]+\)", "", s)`.
fn strip_language_switches(phonemes: &str) -> String {
    let mut out = String::with_capacity(phonemes.len());
    let mut rest = phonemes;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close) if close > 0 => rest = &after[close + 1..],
            _ => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(phonemes: &str, terminator: i32) -> Clause {
        Clause {
            phonemes: phonemes.into(),
            terminator,
        }
    }

    #[test]
    fn strips_language_switches_like_the_regex() {
        assert_eq!(strip_language_switches("(fr)bɔ̃(en)ʒuːɹ"), "bɔ̃ʒuːɹ");
        assert_eq!(strip_language_switches("a()b"), "a()b");
        assert_eq!(strip_language_switches("a((x)b"), "ab");
        assert_eq!(strip_language_switches("a(b"), "a(b");
    }

    #[test]
    fn splits_sentences_and_keeps_punctuation() {
        let sentences = assemble(vec![
            clause("hɛlˈoʊ", COMMA),
            clause("wˈɜːld", PERIOD),
            clause("hˈaʊ", QUESTION | 0x0010_0000),
            clause("tɹˈeɪlɪŋ", 0),
        ]);
        let texts: Vec<_> = sentences.iter().map(|s| s.phonemes.as_str()).collect();
        assert_eq!(texts, ["hɛlˈoʊ, wˈɜːld.", "hˈaʊ?", "tɹˈeɪlɪŋ"]);
    }
}
