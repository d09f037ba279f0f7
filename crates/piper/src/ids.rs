//! Phonemes to ids with Piper's framing `^ _ (p _)* $`.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use crate::error::{PiperError, Result};

const BOS: &str = "^";
const EOS: &str = "$";
const PAD: &str = "_";

/// Where a sequence may be cut when it is too long for one model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Break {
    None,
    /// A word gap (space).
    Word,
    /// Clause or sentence punctuation, which espeak keeps as a phoneme.
    Clause,
}

/// One phoneme of a sentence: its ids and whether a cut may follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub ids: Vec<i64>,
    pub brk: Break,
}

/// A voice's phoneme → ids table and its framing ids.
#[derive(Debug, Clone)]
pub struct PhonemeIdMap {
    map: HashMap<String, Vec<i64>>,
    bos: Vec<i64>,
    eos: Vec<i64>,
    pad: Vec<i64>,
    /// Piper's `vowel_clusters`: codepoint runs merged into one phoneme, longest first.
    clusters: Vec<Vec<String>>,
    /// Break kind of single-id phonemes, to find cut points in raw ids.
    breaks_by_id: HashMap<i64, Break>,
}

fn break_of(phoneme: &str) -> Break {
    match phoneme {
        " " => Break::Word,
        "," | ";" | ":" | "." | "!" | "?" => Break::Clause,
        _ => Break::None,
    }
}

impl PhonemeIdMap {
    pub fn new(map: HashMap<String, Vec<i64>>, vowel_clusters: &[Vec<String>]) -> Result<Self> {
        let framing = |s: &str| {
            map.get(s)
                .filter(|ids| !ids.is_empty())
                .cloned()
                .ok_or_else(|| PiperError::Config(format!("phoneme_id_map has no {s:?}")))
        };
        let (bos, eos, pad) = (framing(BOS)?, framing(EOS)?, framing(PAD)?);
        let breaks_by_id = map
            .iter()
            .filter(|(p, ids)| ids.len() == 1 && break_of(p) != Break::None)
            .map(|(p, ids)| (ids[0], break_of(p)))
            .collect();
        let mut clusters: Vec<Vec<String>> = vowel_clusters
            .iter()
            .filter(|c| c.len() > 1)
            .cloned()
            .collect();
        clusters.sort_by_key(|c| std::cmp::Reverse(c.len()));
        Ok(Self {
            map,
            bos,
            eos,
            pad,
            clusters,
            breaks_by_id,
        })
    }

    /// Splits a phoneme string the way Piper does (NFD codepoints, then known
    /// vowel clusters merged) and maps each phoneme to its ids. Phonemes missing
    /// from the map are skipped, as Piper does; they are returned separately.
    pub(crate) fn tokens(&self, phonemes: &str) -> (Vec<Token>, Vec<String>) {
        let chars: Vec<String> = phonemes.nfd().map(String::from).collect();
        let mut tokens = Vec::with_capacity(chars.len());
        let mut missing = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let cluster = self.clusters.iter().find(|c| {
                chars
                    .get(i..i + c.len())
                    .is_some_and(|run| run == c.as_slice())
            });
            let (phoneme, used) = match cluster {
                Some(c) => (c.concat(), c.len()),
                None => (chars[i].clone(), 1),
            };
            i += used;
            match self.map.get(&phoneme) {
                Some(ids) => tokens.push(Token {
                    ids: ids.clone(),
                    brk: break_of(&phoneme),
                }),
                None => missing.push(phoneme),
            }
        }
        (tokens, missing)
    }

    /// Recovers tokens from ids framed as `^ _ (p _)* $` with single-id phonemes,
    /// so raw ids can be cut like phoneme strings. `None` if not framed that way.
    pub(crate) fn tokens_from_framed(&self, ids: &[i64]) -> Option<Vec<Token>> {
        let single = |v: &[i64]| (v.len() == 1).then(|| v[0]);
        let (bos, eos, pad) = (single(&self.bos)?, single(&self.eos)?, single(&self.pad)?);
        let inner = ids.strip_prefix(&[bos, pad])?.strip_suffix(&[eos])?;
        if inner.len() % 2 != 0 || inner.chunks(2).any(|pair| pair[1] != pad) {
            return None;
        }
        Some(
            inner
                .chunks(2)
                .map(|pair| Token {
                    ids: vec![pair[0]],
                    brk: self
                        .breaks_by_id
                        .get(&pair[0])
                        .copied()
                        .unwrap_or(Break::None),
                })
                .collect(),
        )
    }

    /// Frames tokens as `^ _ (p _)* $`.
    pub(crate) fn frame(&self, tokens: &[Token]) -> Vec<i64> {
        let mut ids = Vec::with_capacity(self.framed_len(tokens));
        ids.extend(&self.bos);
        ids.extend(&self.pad);
        for t in tokens {
            ids.extend(&t.ids);
            ids.extend(&self.pad);
        }
        ids.extend(&self.eos);
        ids
    }

    /// Length of `frame(tokens)` without building it.
    pub(crate) fn framed_len(&self, tokens: &[Token]) -> usize {
        self.bos.len()
            + self.pad.len()
            + tokens
                .iter()
                .map(|t| t.ids.len() + self.pad.len())
                .sum::<usize>()
            + self.eos.len()
    }

    /// Phonemes of the string that the voice has no ids for (synthesis skips them).
    pub fn unknown_phonemes(&self, phonemes: &str) -> Vec<String> {
        self.tokens(phonemes).1
    }

    /// Ids for one sentence's phoneme string, framed as Piper frames them.
    pub fn encode(&self, phonemes: &str) -> Vec<i64> {
        self.frame(&self.tokens(phonemes).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> PhonemeIdMap {
        let ids = [
            ("_", vec![0]),
            ("^", vec![1]),
            ("$", vec![2]),
            (" ", vec![3]),
            (",", vec![8]),
            (".", vec![10]),
            ("a", vec![14]),
            ("b", vec![15]),
            ("c", vec![16]),
            ("ç", vec![40]),
            ("ɪ", vec![74]),
            ("aɪ", vec![161]),
            ("ˈ", vec![120]),
            ("\u{327}", vec![140]),
            ("x", vec![20, 21]),
        ];
        let ids = ids
            .into_iter()
            .map(|(p, ids)| (p.to_string(), ids))
            .collect();
        PhonemeIdMap::new(ids, &[vec!["a".into(), "ɪ".into()]]).unwrap()
    }

    #[test]
    fn framing_is_bos_pad_phoneme_pad_eos() {
        let ids = map().encode("ab c.");
        assert_eq!(ids, [1, 0, 14, 0, 15, 0, 3, 0, 16, 0, 10, 0, 2]);
        assert_eq!(map().encode(""), [1, 0, 2]);
    }

    #[test]
    fn multi_id_phonemes_get_one_pad() {
        assert_eq!(map().encode("x"), [1, 0, 20, 21, 0, 2]);
    }

    #[test]
    fn phonemes_are_nfd_codepoints_and_unknowns_are_skipped() {
        let map = map();
        // Precomposed ç decomposes to c + combining cedilla, as in Piper.
        assert_eq!(map.encode("ç"), [1, 0, 16, 0, 140, 0, 2]);
        assert_eq!(map.encode("aqb"), [1, 0, 14, 0, 15, 0, 2]);
        assert_eq!(map.unknown_phonemes("aqb"), ["q"]);
    }

    #[test]
    fn vowel_clusters_merge() {
        assert_eq!(map().encode("ˈaɪ"), [1, 0, 120, 0, 161, 0, 2]);
    }

    #[test]
    fn framed_ids_round_trip_to_tokens() {
        let map = map();
        let ids = map.encode("ab, c.");
        let tokens = map.tokens_from_framed(&ids).unwrap();
        assert_eq!(tokens, map.tokens("ab, c.").0);
        assert_eq!(map.frame(&tokens), ids);
        assert!(map.tokens_from_framed(&[1, 0, 14, 2]).is_none());
    }
}
