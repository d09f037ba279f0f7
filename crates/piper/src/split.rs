//! Cutting a sentence that is too long for one model call, at clause breaks first.

use std::ops::Range;

use crate::ids::{Break, PhonemeIdMap, Token};

/// Cuts `tokens` into ranges whose framed ids fit `limit`: whole clauses packed
/// together where they fit, then words, then (only for a giant word) phonemes.
/// Word gaps at the edges of a range are dropped.
pub fn split(map: &PhonemeIdMap, tokens: &[Token], limit: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    split_at(
        map,
        tokens,
        trim(tokens, 0..tokens.len()),
        limit,
        Break::Clause,
        &mut out,
    );
    out
}

/// End of the first clause, if anything but word gaps follows it.
pub fn first_clause_end(tokens: &[Token]) -> Option<usize> {
    let end = tokens.iter().position(|t| t.brk == Break::Clause)? + 1;
    tokens[end..]
        .iter()
        .any(|t| t.brk != Break::Word)
        .then_some(end)
}

fn split_at(
    map: &PhonemeIdMap,
    tokens: &[Token],
    range: Range<usize>,
    limit: usize,
    level: Break,
    out: &mut Vec<Range<usize>>,
) {
    let fits = |r: &Range<usize>| map.framed_len(&tokens[r.clone()]) <= limit;
    if range.is_empty() {
        return;
    }
    if fits(&range) || range.len() == 1 {
        out.push(range);
        return;
    }
    let lower = match level {
        Break::Clause => Break::Word,
        _ => Break::None,
    };
    let mut current: Option<Range<usize>> = None;
    let mut start = range.start;
    for end in range.clone() {
        let at_cut = level == Break::None || tokens[end].brk >= level;
        if !at_cut && end + 1 != range.end {
            continue;
        }
        let piece = trim(tokens, start..end + 1);
        start = end + 1;
        if piece.is_empty() {
            continue;
        }
        let joined = current
            .as_ref()
            .map_or(piece.clone(), |c| c.start..piece.end);
        if fits(&joined) {
            current = Some(joined);
            continue;
        }
        if let Some(c) = current.take() {
            out.push(c);
        }
        if fits(&piece) {
            current = Some(piece);
        } else {
            split_at(map, tokens, piece, limit, lower, out);
        }
    }
    out.extend(current);
}

/// Drops word gaps at both ends of a range.
fn trim(tokens: &[Token], mut r: Range<usize>) -> Range<usize> {
    while r.start < r.end && tokens[r.start].brk == Break::Word {
        r.start += 1;
    }
    while r.end > r.start && tokens[r.end - 1].brk == Break::Word {
        r.end -= 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn map() -> PhonemeIdMap {
        let mut ids: HashMap<String, Vec<i64>> = [
            ("_", 0),
            ("^", 1),
            ("$", 2),
            (" ", 3),
            (",", 8),
            (".", 10),
            (";", 12),
        ]
        .into_iter()
        .map(|(p, id)| (p.to_string(), vec![id]))
        .collect();
        for (i, c) in ('a'..='z').enumerate() {
            ids.insert(c.to_string(), vec![20 + i as i64]);
        }
        PhonemeIdMap::new(ids, &[]).unwrap()
    }

    fn pieces(phonemes: &str, limit: usize) -> Vec<String> {
        let map = map();
        let (tokens, _) = map.tokens(phonemes);
        let chars: Vec<char> = phonemes.chars().collect();
        split(&map, &tokens, limit)
            .into_iter()
            .map(|r| chars[r].iter().collect())
            .collect()
    }

    #[test]
    fn short_input_is_one_piece() {
        assert_eq!(pieces("ab cd, ef.", 100), ["ab cd, ef."]);
    }

    #[test]
    fn long_input_is_cut_after_clause_punctuation() {
        // framed length = 3 + 2 * phonemes: 23 fits 10 phonemes.
        assert_eq!(
            pieces("abc def, ghi; jkl mno.", 23),
            ["abc def,", "ghi;", "jkl mno."]
        );
        // Clauses are packed together while they fit.
        assert_eq!(pieces("ab, cd, ef, gh.", 23), ["ab, cd,", "ef, gh."]);
    }

    #[test]
    fn overlong_clauses_fall_back_to_words_then_phonemes() {
        assert_eq!(pieces("abcd efgh ijkl.", 23), ["abcd efgh", "ijkl."]);
        assert_eq!(pieces("abcdefghijklmn", 13), ["abcde", "fghij", "klmn"]);
    }

    #[test]
    fn every_piece_fits() {
        let text = "the quick brown fox, jumps over; the lazy dog. and again, and again and again.";
        for limit in [9, 15, 31, 64] {
            let map = map();
            let (tokens, _) = map.tokens(text);
            let ranges = split(&map, &tokens, limit);
            for r in &ranges {
                assert!(
                    map.framed_len(&tokens[r.clone()]) <= limit,
                    "limit {limit}: {r:?}"
                );
            }
            let kept: usize = ranges.iter().map(|r| r.len()).sum();
            let gaps = tokens.iter().filter(|t| t.brk == Break::Word).count();
            assert!(
                kept + gaps >= tokens.len(),
                "limit {limit}: only word gaps are dropped"
            );
        }
    }

    #[test]
    fn first_clause_needs_something_after_it() {
        let map = map();
        let (tokens, _) = map.tokens("ab cd, ef.");
        assert_eq!(first_clause_end(&tokens), Some(6));
        let (tokens, _) = map.tokens("ab cd. ");
        assert_eq!(first_clause_end(&tokens), None);
    }
}
