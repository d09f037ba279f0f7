//! Whisper's byte-level BPE vocabulary: the one reader of a model's vocabulary files, special
//! token ids, decoding ids to text, and encoding text (prompts) to ids.

use std::collections::HashMap;
use std::path::Path;

use unicode_general_category::{GeneralCategory, get_general_category};

use crate::Error;
use crate::error::read_model_file;

/// Vocabulary size from which a model is multilingual (CTranslate2's `is_multilingual`:
/// English-only vocabularies have 51 864 entries, multilingual ones 51 865 or more).
const MULTILINGUAL_VOCABULARY: usize = 51_865;

/// True for a multilingual vocabulary of `size` tokens, by CTranslate2's rule.
pub fn is_multilingual_vocabulary(size: usize) -> bool {
    size >= MULTILINGUAL_VOCABULARY
}

/// Language codes in Whisper's token order (`<|en|>` is the first language token).
pub const LANGUAGES: [&str; 100] = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su", "yue",
];

/// Ids of Whisper's special tokens (English-only models use ids one lower than multilingual).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `<|endoftext|>`
    pub eot: u32,
    /// `<|startoftranscript|>`
    pub sot: u32,
    /// `<|translate|>`
    pub translate: u32,
    /// `<|transcribe|>`
    pub transcribe: u32,
    /// `<|startoflm|>`
    pub sot_lm: u32,
    /// `<|startofprev|>`
    pub sot_prev: u32,
    /// `<|nospeech|>` / `<|nocaptions|>`
    pub no_speech: u32,
    /// `<|notimestamps|>`
    pub no_timestamps: u32,
    /// `<|0.00|>`, the first timestamp token.
    pub timestamp_begin: u32,
}

/// A model directory's vocabulary: token strings (index == id) and, when `tokenizer.json` has
/// them, the BPE merges.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    /// Token strings in GPT-2 byte-level form, index == id.
    pub tokens: Vec<String>,
    /// BPE merges ("a b", best first); empty without `tokenizer.json`.
    pub merges: Vec<String>,
}

impl Vocabulary {
    /// Read the vocabulary as CTranslate2 does (`vocabulary.json`, else `vocabulary.txt`, one
    /// token per line), falling back to `tokenizer.json`'s; merges come from `tokenizer.json`.
    pub fn read(dir: &Path) -> Result<Vocabulary, Error> {
        let json = tokenizer_json(dir)?;
        let tokens = match ctranslate2_tokens(dir)? {
            Some(tokens) => tokens,
            None => tokens_of_tokenizer_json(json.as_ref().ok_or_else(|| no_vocabulary(dir))?),
        };
        let merges = json
            .as_ref()
            .map(merges_of_tokenizer_json)
            .unwrap_or_default();
        Ok(Vocabulary { tokens, merges })
    }

    /// The number of tokens, parsing `tokenizer.json` only when it is the sole vocabulary.
    pub fn read_size(dir: &Path) -> Result<usize, Error> {
        if let Some(tokens) = ctranslate2_tokens(dir)? {
            return Ok(tokens.len());
        }
        let json = tokenizer_json(dir)?.ok_or_else(|| no_vocabulary(dir))?;
        Ok(tokens_of_tokenizer_json(&json).len())
    }
}

fn no_vocabulary(dir: &Path) -> Error {
    Error::Checkpoint(format!(
        "{} has no vocabulary.json, vocabulary.txt or tokenizer.json",
        dir.display()
    ))
}

/// `tokenizer.json`, when the directory has one.
fn tokenizer_json(dir: &Path) -> Result<Option<serde_json::Value>, Error> {
    if !dir.join("tokenizer.json").exists() {
        return Ok(None);
    }
    serde_json::from_slice(&read_model_file(dir, "tokenizer.json")?)
        .map_err(|e| Error::Checkpoint(format!("tokenizer.json: {e}")))
}

/// CTranslate2's vocabulary file (`vocabulary.json`, else `vocabulary.txt`), when there is one.
fn ctranslate2_tokens(dir: &Path) -> Result<Option<Vec<String>>, Error> {
    if dir.join("vocabulary.json").exists() {
        let tokens = serde_json::from_slice(&read_model_file(dir, "vocabulary.json")?)
            .map_err(|e| Error::Checkpoint(format!("vocabulary.json: {e}")))?;
        return Ok(Some(tokens));
    }
    if dir.join("vocabulary.txt").exists() {
        let text = String::from_utf8(read_model_file(dir, "vocabulary.txt")?)
            .map_err(|_| Error::Checkpoint("vocabulary.txt is not UTF-8".into()))?;
        return Ok(Some(text.lines().map(str::to_owned).collect()));
    }
    Ok(None)
}

/// Vocabulary of a Hugging Face `tokenizer.json` (model vocab plus added tokens).
fn tokens_of_tokenizer_json(json: &serde_json::Value) -> Vec<String> {
    let mut pairs: Vec<(usize, String)> = Vec::new();
    if let Some(vocab) = json["model"]["vocab"].as_object() {
        pairs.extend(
            vocab
                .iter()
                .filter_map(|(k, v)| Some((v.as_u64()? as usize, k.clone()))),
        );
    }
    if let Some(added) = json["added_tokens"].as_array() {
        pairs.extend(added.iter().filter_map(|t| {
            Some((
                t["id"].as_u64()? as usize,
                t["content"].as_str()?.to_owned(),
            ))
        }));
    }
    let len = pairs.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
    let mut tokens = vec![String::new(); len];
    for (i, token) in pairs {
        tokens[i] = token;
    }
    tokens
}

/// BPE merges of a Hugging Face `tokenizer.json` ("a b" strings or `["a", "b"]` pairs).
fn merges_of_tokenizer_json(json: &serde_json::Value) -> Vec<String> {
    let Some(merges) = json["model"]["merges"].as_array() else {
        return Vec::new();
    };
    merges
        .iter()
        .filter_map(|m| match m {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(pair) => Some(format!(
                "{} {}",
                pair.first()?.as_str()?,
                pair.get(1)?.as_str()?
            )),
            _ => None,
        })
        .collect()
}

/// Token strings, special ids, and the BPE merges for encoding.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    merges: HashMap<(String, String), usize>,
    byte_to_char: [char; 256],
    char_to_byte: HashMap<char, u8>,
    /// Special token ids.
    pub special: SpecialTokens,
    /// True for multilingual vocabularies.
    pub multilingual: bool,
}

/// GPT-2's reversible byte → printable character map.
fn bytes_to_unicode() -> [char; 256] {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32).collect();
    printable.extend(0xA1u32..=0xAC);
    printable.extend(0xAEu32..=0xFF);
    let mut map = ['\0'; 256];
    let mut extra = 0;
    for b in 0..256u32 {
        map[b as usize] = if printable.contains(&b) {
            char::from_u32(b).unwrap()
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap()
        };
    }
    map
}

impl Tokenizer {
    /// A tokenizer over `tokens` (index == id) with optional BPE `merges` ("a b" lines, best
    /// first); without merges, a pair's rank is the id of its merged token (tiktoken's rule,
    /// which Whisper's vocabularies were built with).
    pub fn new(tokens: Vec<String>, merges: &[String]) -> Result<Tokenizer, Error> {
        let ids: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let id = |s: &str| {
            ids.get(s)
                .copied()
                .ok_or_else(|| Error::Checkpoint(format!("vocabulary has no {s}")))
        };
        let eot = id("<|endoftext|>")?;
        let no_timestamps = id("<|notimestamps|>")?;
        let special = SpecialTokens {
            eot,
            sot: id("<|startoftranscript|>")?,
            translate: id("<|translate|>")?,
            transcribe: id("<|transcribe|>")?,
            sot_lm: id("<|startoflm|>")?,
            sot_prev: id("<|startofprev|>")?,
            no_speech: id("<|nospeech|>").or_else(|_| id("<|nocaptions|>"))?,
            no_timestamps,
            timestamp_begin: no_timestamps + 1,
        };
        let merges = merges
            .iter()
            .enumerate()
            .filter_map(|(rank, m)| {
                let (a, b) = m.split_once(' ')?;
                Some(((a.to_owned(), b.to_owned()), rank))
            })
            .collect();
        let byte_to_char = bytes_to_unicode();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        Ok(Tokenizer {
            multilingual: is_multilingual_vocabulary(tokens.len()),
            tokens,
            ids,
            merges,
            byte_to_char,
            char_to_byte,
            special,
        })
    }

    /// Token id of an exact token string, e.g. `<|en|>`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// Token id of a language code (`"en"` → `<|en|>`).
    pub fn language_token(&self, code: &str) -> Option<u32> {
        self.token_id(&format!("<|{code}|>"))
    }

    /// Token string of an id (byte-level form).
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Text of the tokens below `<|endoftext|>` (specials and timestamps dropped), invalid
    /// UTF-8 replaced, as the Hugging Face byte-level decoder.
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&self.decode_bytes(ids)).into_owned()
    }

    /// Raw bytes of the text tokens.
    pub fn decode_bytes(&self, ids: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &id in ids.iter().filter(|&&id| id < self.special.eot) {
            if let Some(token) = self.tokens.get(id as usize) {
                bytes.extend(
                    token
                        .chars()
                        .filter_map(|c| self.char_to_byte.get(&c).copied()),
                );
            }
        }
        bytes
    }

    /// Rank of merging `a` and `b`, lowest first: the merge's line in `tokenizer.json`, else the
    /// id of the merged token (tiktoken's `_byte_pair_merge`).
    fn merge_rank(&self, a: &str, b: &str) -> Option<usize> {
        if self.merges.is_empty() {
            self.ids.get(&format!("{a}{b}")).map(|&id| id as usize)
        } else {
            self.merges.get(&(a.to_owned(), b.to_owned())).copied()
        }
    }

    /// Encode text without special tokens (GPT-2 pre-tokenization, then BPE merges), as the
    /// Hugging Face tokenizer faster-whisper uses.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        let mut ids = Vec::new();
        for piece in pretokenize(text) {
            let mut parts: Vec<String> = piece
                .bytes()
                .map(|b| self.byte_to_char[b as usize].to_string())
                .collect();
            loop {
                let best = parts
                    .windows(2)
                    .enumerate()
                    .filter_map(|(i, w)| Some((self.merge_rank(&w[0], &w[1])?, i)))
                    .min();
                let Some((_, i)) = best else { break };
                let merged = format!("{}{}", parts[i], parts[i + 1]);
                parts[i] = merged;
                parts.remove(i + 1);
            }
            for p in parts {
                ids.push(
                    self.ids
                        .get(&p)
                        .copied()
                        .ok_or_else(|| Error::Checkpoint(format!("no token for {p:?}")))?,
                );
            }
        }
        Ok(ids)
    }
}

/// GPT-2's pre-tokenizer regex, by hand (the `regex` crate has no lookahead):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
pub fn pretokenize(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map(|&(b, _)| b).unwrap_or(text.len());
    let class = |c: char| {
        if is_letter(c) {
            1
        } else if c.is_numeric() {
            2
        } else if c.is_whitespace() {
            3
        } else {
            4
        }
    };
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = chars[i].0;
        let c = chars[i].1;
        // Contractions.
        if c == '\'' {
            let rest = &text[start + 1..];
            if let Some(suffix) = ["s", "t", "re", "ve", "m", "ll", "d"]
                .iter()
                .find(|s| rest.starts_with(*s))
            {
                let n = 1 + suffix.len();
                pieces.push(&text[start..end_of(i + n)]);
                i += n;
                continue;
            }
        }
        // Optional leading space then a run of one class.
        let (j0, cls) = if c == ' ' && i + 1 < chars.len() && class(chars[i + 1].1) != 3 {
            (i + 1, class(chars[i + 1].1))
        } else {
            (i, class(c))
        };
        if cls != 3 {
            let mut j = j0;
            while j < chars.len() && class(chars[j].1) == cls {
                j += 1;
            }
            pieces.push(&text[start..end_of(j)]);
            i = j;
            continue;
        }
        // Whitespace: `\s+(?!\S)` leaves the last space for the next word.
        let mut j = i;
        while j < chars.len() && class(chars[j].1) == 3 {
            j += 1;
        }
        if j < chars.len() && j - i > 1 {
            j -= 1;
        }
        pieces.push(&text[start..end_of(j)]);
        i = j;
    }
    pieces
}

/// `\p{L}`: the letter categories only. `char::is_alphabetic` also takes combining marks
/// (Devanagari vowel signs, Arabic harakat, Thai vowels), which the regex leaves to
/// `[^\s\p{L}\p{N}]`.
fn is_letter(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::UppercaseLetter
            | GeneralCategory::LowercaseLetter
            | GeneralCategory::TitlecaseLetter
            | GeneralCategory::ModifierLetter
            | GeneralCategory::OtherLetter
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_roundtrips() {
        let map = bytes_to_unicode();
        assert_eq!(map[b' ' as usize], 'Ġ');
        assert_eq!(map[b'\n' as usize], 'Ċ');
        assert_eq!(map[b'a' as usize], 'a');
        let mut sorted: Vec<char> = map.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }

    #[test]
    fn pretokenize_like_gpt2() {
        assert_eq!(
            pretokenize("Hello world's  end!!"),
            vec!["Hello", " world", "'s", " ", " end", "!!"]
        );
        assert_eq!(pretokenize(" 123abc"), vec![" 123", "abc"]);
        assert_eq!(pretokenize("a  "), vec!["a", "  "]);
        // Combining marks are not letters: "नमस्ते" is न म (letters), ् (virama), ते...
        assert_eq!(
            pretokenize(" नमस्ते"),
            vec![" नमस", "\u{94d}", "त", "\u{947}"]
        );
    }

    fn toy() -> Tokenizer {
        let mut tokens: Vec<String> = ["a", "b", "Ġ", "ab", "Ġab", "Ã©", "Ã", "©"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for s in [
            "<|endoftext|>",
            "<|startoftranscript|>",
            "<|translate|>",
            "<|transcribe|>",
            "<|startoflm|>",
            "<|startofprev|>",
            "<|nocaptions|>",
            "<|notimestamps|>",
        ] {
            tokens.push(s.to_string());
        }
        let merges = vec!["a b".to_string(), "Ġ ab".to_string(), "Ã ©".to_string()];
        Tokenizer::new(tokens, &merges).unwrap()
    }

    #[test]
    fn special_ids_follow_vocabulary() {
        let t = toy();
        assert_eq!(t.special.eot, 8);
        assert_eq!(t.special.no_speech, 14);
        assert_eq!(t.special.timestamp_begin, 16);
        assert!(!t.multilingual);
    }

    #[test]
    fn vocabulary_ids_rank_merges_without_tokenizer_json() {
        let mut t = toy();
        t.merges.clear();
        // "ab" (3) before "Ġab" (4): the same merges as the listed ones.
        assert_eq!(t.encode("ab ab é").unwrap(), vec![3, 4, 2, 5]);
    }

    #[test]
    fn bpe_roundtrip() {
        let t = toy();
        let ids = t.encode("ab ab é").unwrap();
        assert_eq!(ids, vec![3, 4, 2, 5]);
        // Specials and timestamps are dropped from text.
        assert_eq!(t.decode(&[3, 4, 9, 2, 5, 20]), "ab ab é");
        // A lone UTF-8 lead byte decodes to the replacement character.
        assert_eq!(t.decode(&[6]), "\u{fffd}");
    }
}
