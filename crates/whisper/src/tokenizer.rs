//! Whisper's byte-level BPE vocabulary: special token ids, decoding ids to text, and
//! encoding text (prompts) to ids.

use std::collections::HashMap;

use crate::Error;

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
    /// A tokenizer over `tokens` (index == id) with optional BPE `merges` ("a b" lines, best first).
    pub fn new(tokens: Vec<String>, merges: &[String], n_vocab: usize) -> Result<Tokenizer, Error> {
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
            tokens,
            ids,
            merges,
            byte_to_char,
            char_to_byte,
            special,
            // CTranslate2's rule: the multilingual vocabulary has 51865+ entries.
            multilingual: n_vocab >= 51865,
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

    /// Encode text without special tokens (GPT-2 pre-tokenization, then BPE merges).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        if self.merges.is_empty() {
            return Err(Error::Checkpoint(
                "tokenizer.json with BPE merges is needed to encode text".into(),
            ));
        }
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
                    .filter_map(|(i, w)| {
                        self.merges
                            .get(&(w[0].clone(), w[1].clone()))
                            .map(|&r| (r, i))
                    })
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
        if c.is_alphabetic() {
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
        Tokenizer::new(tokens, &merges, 16).unwrap()
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
