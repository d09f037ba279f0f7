//! Word timestamps from cross-attention: alignment heads, median filter, dynamic time warping,
//! and faster-whisper's word grouping and boundary heuristics.

use crate::Error;
use crate::decode::{AudioFeatures, Decoder};
use crate::tokenizer::Tokenizer;
use crate::window::Window;

/// One word with its time span.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    /// Text, with its leading space and merged punctuation.
    pub word: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Mean probability of its tokens.
    pub probability: f64,
}

/// Encoder positions per second.
const TOKENS_PER_SECOND: f64 = 50.0;
/// Width of the median filter over attention frames.
const MEDIAN_FILTER_WIDTH: usize = 7;

/// A word of the alignment before it is assigned to a segment.
#[derive(Clone, Debug)]
struct Timing {
    word: String,
    tokens: Vec<u32>,
    start: f64,
    end: f64,
    probability: f64,
}

/// A segment of one window being given word timestamps.
#[derive(Clone, Debug)]
pub(crate) struct Piece {
    pub start: f64,
    pub end: f64,
    pub tokens: Vec<u32>,
    pub words: Vec<Word>,
}

/// What the aligner needs of the model and of the transcription's options.
pub(crate) struct Aligner<'a> {
    pub decoder: Decoder<'a>,
    pub tokenizer: &'a Tokenizer,
    pub heads: &'a [(usize, usize)],
    pub layers: &'a [usize],
    pub language: &'a str,
    /// `<|startoftranscript|>` and, for multilingual models, language and task.
    pub sot_sequence: &'a [u32],
    /// Punctuation merged into the following word.
    pub prepend_punctuations: &'a str,
    /// Punctuation merged into the preceding word.
    pub append_punctuations: &'a str,
}

impl Aligner<'_> {
    /// faster-whisper's `find_alignment` (CTranslate2's `align`): token-level DTW path over the
    /// alignment heads' attention, grouped into words.
    fn find_alignment(
        &self,
        audio: &AudioFeatures,
        text: &[u32],
        num_frames: usize,
    ) -> Result<Vec<Timing>, Error> {
        let sot_sequence = self.sot_sequence;
        let sp = self.tokenizer.special;
        let frames = (num_frames / 2).min(1500);
        if text.is_empty() || frames == 0 {
            return Ok(Vec::new());
        }
        let mut tokens = sot_sequence.to_vec();
        tokens.push(sp.no_timestamps);
        tokens.extend(text);
        tokens.push(sp.eot);
        let offset = sot_sequence.len();
        let select: Vec<usize> = (offset..offset + text.len()).collect();
        let (logits, scores) = self.decoder.forward(audio, &tokens, &select)?;

        // Probability of each text token among text tokens only.
        let n_vocab = logits.len() / text.len();
        let eot = sp.eot as usize;
        let probs: Vec<f64> = text
            .iter()
            .enumerate()
            .map(|(t, &id)| {
                let row = &logits[t * n_vocab..t * n_vocab + eot];
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
                ((row[id as usize] - max) as f64).exp() / sum
            })
            .collect();

        // Per head: softmax over content frames, z-score over tokens, median filter over time.
        let n = tokens.len();
        let mut matrix = vec![0f64; n * frames];
        for &(layer, head) in self.heads {
            let Some(index) = self.layers.iter().position(|&l| l == layer) else {
                continue;
            };
            let t = &scores[index];
            let shape = t.shape();
            let (heads, rows, total) = (shape[1], shape[2], shape[3]);
            if head >= heads || rows != n {
                return Err(Error::Inference("unexpected cross-attention shape".into()));
            }
            let data = t
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>().map(|s| s.to_vec()))?;
            let mut w = vec![0f64; n * frames];
            for r in 0..n {
                let row = &data[(head * rows + r) * total..(head * rows + r) * total + frames];
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f64> = row.iter().map(|&v| ((v - max) as f64).exp()).collect();
                let sum: f64 = exp.iter().sum();
                for (f, e) in exp.iter().enumerate() {
                    w[r * frames + f] = e / sum;
                }
            }
            for f in 0..frames {
                let mean = (0..n).map(|r| w[r * frames + f]).sum::<f64>() / n as f64;
                let var = (0..n)
                    .map(|r| (w[r * frames + f] - mean).powi(2))
                    .sum::<f64>()
                    / n as f64;
                let std = var.sqrt();
                for r in 0..n {
                    w[r * frames + f] = (w[r * frames + f] - mean) / std;
                }
            }
            for r in 0..n {
                let filtered = median_filter(&w[r * frames..(r + 1) * frames], MEDIAN_FILTER_WIDTH);
                for (f, v) in filtered.into_iter().enumerate() {
                    matrix[r * frames + f] += v / self.heads.len() as f64;
                }
            }
        }
        // Rows from <|notimestamps|> (predicting the first text token) to the last text token.
        let rows = text.len() + 1;
        let cost: Vec<f64> = matrix[offset * frames..(offset + rows) * frames]
            .iter()
            .map(|v| -v)
            .collect();
        let (text_indices, time_indices) = dtw(&cost, rows, frames);

        let mut with_eot = text.to_vec();
        with_eot.push(sp.eot);
        let (words, word_tokens) = self.split_to_word_tokens(&with_eot);
        if word_tokens.len() <= 1 {
            return Ok(Vec::new());
        }
        let mut boundaries = vec![0usize];
        for t in &word_tokens[..word_tokens.len() - 1] {
            boundaries.push(boundaries.last().unwrap() + t.len());
        }
        let jump_times: Vec<f64> = (0..text_indices.len())
            .filter(|&i| i == 0 || text_indices[i] != text_indices[i - 1])
            .map(|i| time_indices[i] as f64 / TOKENS_PER_SECOND)
            .collect();
        Ok((0..boundaries.len() - 1)
            .map(|k| {
                let (i, j) = (boundaries[k], boundaries[k + 1]);
                Timing {
                    word: words[k].clone(),
                    tokens: word_tokens[k].clone(),
                    start: jump_times[i],
                    end: jump_times[j],
                    probability: probs[i..j].iter().sum::<f64>() / (j - i) as f64,
                }
            })
            .collect())
    }

    /// Words and their tokens: split at spaces and punctuation, or at character boundaries
    /// for languages written without spaces.
    fn split_to_word_tokens(&self, tokens: &[u32]) -> (Vec<String>, Vec<Vec<u32>>) {
        let (subwords, subword_tokens) = self.split_on_unicode(tokens);
        if ["zh", "ja", "th", "lo", "my", "yue"].contains(&self.language) {
            return (subwords, subword_tokens);
        }
        const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        let mut words: Vec<String> = Vec::new();
        let mut word_tokens: Vec<Vec<u32>> = Vec::new();
        for (subword, toks) in subwords.into_iter().zip(subword_tokens) {
            let special = toks[0] >= self.tokenizer.special.eot;
            let with_space = subword.starts_with(' ');
            // Python's `in` on strings: a substring test.
            let punctuation = PUNCTUATION.contains(subword.trim());
            if special || with_space || punctuation || words.is_empty() {
                words.push(subword);
                word_tokens.push(toks);
            } else {
                words.last_mut().unwrap().push_str(&subword);
                word_tokens.last_mut().unwrap().extend(toks);
            }
        }
        (words, word_tokens)
    }

    /// Group tokens so that each group decodes to whole characters.
    fn split_on_unicode(&self, tokens: &[u32]) -> (Vec<String>, Vec<Vec<u32>>) {
        let full: Vec<char> = self.tokenizer.decode(tokens).chars().collect();
        let mut words = Vec::new();
        let mut word_tokens = Vec::new();
        let mut current = Vec::new();
        let mut offset = 0;
        for &t in tokens {
            current.push(t);
            let decoded = self.tokenizer.decode(&current);
            let replacement = decoded
                .chars()
                .position(|c| c == '\u{fffd}')
                .map(|i| i + offset);
            if replacement.is_none_or(|i| i < full.len() && full[i] == '\u{fffd}') {
                offset += decoded.chars().count();
                words.push(decoded);
                word_tokens.push(std::mem::take(&mut current));
            }
        }
        (words, word_tokens)
    }

    /// faster-whisper's `add_word_timestamps` for the segments of one window.
    pub(crate) fn add_word_timestamps(
        &self,
        pieces: &mut [Piece],
        window: &Window,
        mut last_speech_timestamp: f64,
    ) -> Result<(), Error> {
        if pieces.is_empty() {
            return Ok(());
        }
        let eot = self.tokenizer.special.eot;
        let text_per_piece: Vec<Vec<u32>> = pieces
            .iter()
            .map(|p| p.tokens.iter().copied().filter(|&t| t < eot).collect())
            .collect();
        let text: Vec<u32> = text_per_piece.concat();
        let mut alignment = self.find_alignment(&window.audio, &text, window.num_frames)?;

        let mut durations: Vec<f64> = alignment
            .iter()
            .map(|w| w.end - w.start)
            .filter(|&d| d != 0.0)
            .collect();
        let median = median(&mut durations).min(0.7);
        let max_duration = median * 2.0;
        if !durations.is_empty() {
            // Words at sentence boundaries are no longer than twice the median word duration.
            const SENTENCE_END: &str = ".。!！?？";
            for i in 1..alignment.len() {
                if alignment[i].end - alignment[i].start > max_duration {
                    if SENTENCE_END.contains(alignment[i].word.as_str()) {
                        alignment[i].end = alignment[i].start + max_duration;
                    } else if SENTENCE_END.contains(alignment[i - 1].word.as_str()) {
                        alignment[i].start = alignment[i].end - max_duration;
                    }
                }
            }
        }
        merge_punctuations(
            &mut alignment,
            self.prepend_punctuations,
            self.append_punctuations,
        );

        let time_offset = window.seek as f64 / 100.0;
        let mut word_index = 0;
        for (piece, piece_text) in pieces.iter_mut().zip(&text_per_piece) {
            let mut saved_tokens = 0;
            let mut words: Vec<Word> = Vec::new();
            while word_index < alignment.len() && saved_tokens < piece_text.len() {
                let timing = &alignment[word_index];
                if !timing.word.is_empty() {
                    words.push(Word {
                        word: timing.word.clone(),
                        start: round2(time_offset + timing.start),
                        end: round2(time_offset + timing.end),
                        probability: timing.probability,
                    });
                }
                saved_tokens += timing.tokens.len();
                word_index += 1;
            }
            if !words.is_empty() {
                // The first words after a pause are no longer than twice the median.
                if words[0].end - last_speech_timestamp > median * 4.0
                    && (words[0].end - words[0].start > max_duration
                        || (words.len() > 1 && words[1].end - words[0].start > max_duration * 2.0))
                {
                    if words.len() > 1 && words[1].end - words[1].start > max_duration {
                        let boundary = (words[1].end / 2.0).max(words[1].end - max_duration);
                        words[0].end = boundary;
                        words[1].start = boundary;
                    }
                    words[0].start = (words[0].end - max_duration).max(0.0);
                }
                // Prefer the segment's timestamps when the first/last word is too long.
                if piece.start < words[0].end && piece.start - 0.5 > words[0].start {
                    words[0].start = (words[0].end - median).min(piece.start).max(0.0);
                } else {
                    piece.start = words[0].start;
                }
                let last = words.len() - 1;
                if piece.end > words[last].start && piece.end + 0.5 < words[last].end {
                    words[last].end = (words[last].start + median).max(piece.end);
                } else {
                    piece.end = words[last].end;
                }
                last_speech_timestamp = piece.end;
            }
            piece.words = words;
        }
        Ok(())
    }
}

/// End of the last word of the pieces, else the end of the last piece.
pub(crate) fn last_end(pieces: &[Piece]) -> Option<f64> {
    pieces
        .iter()
        .rev()
        .flat_map(|p| p.words.iter().rev())
        .map(|w| w.end)
        .next()
        .or(pieces.last().map(|p| p.end))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// numpy's median (mean of the two middle values), 0 for no values.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median filter with reflected edges; rows no longer than half the width are left as is.
fn median_filter(row: &[f64], width: usize) -> Vec<f64> {
    let rank = width / 2;
    let depth = row.len();
    if depth <= rank {
        return row.to_vec();
    }
    let mut window = vec![0f64; width];
    (0..depth)
        .map(|j| {
            for (k, slot) in window.iter_mut().enumerate() {
                let mut read = (j as isize + k as isize - rank as isize).unsigned_abs();
                if read >= depth {
                    read = 2 * depth - read - 2;
                }
                *slot = row[read];
            }
            window.sort_by(f64::total_cmp);
            window[rank]
        })
        .collect()
}

/// Dynamic time warping of a `rows × cols` cost matrix: the monotonic path of least total
/// cost from (0, 0) to the last cell, as (row indices, column indices).
fn dtw(cost: &[f64], rows: usize, cols: usize) -> (Vec<usize>, Vec<usize>) {
    let w = cols + 1;
    let mut acc = vec![f64::INFINITY; (rows + 1) * w];
    let mut trace = vec![-1i8; (rows + 1) * w];
    acc[0] = 0.0;
    for j in 1..=cols {
        for i in 1..=rows {
            let c0 = acc[(i - 1) * w + j - 1];
            let c1 = acc[(i - 1) * w + j];
            let c2 = acc[i * w + j - 1];
            let (c, t) = if c0 < c1 && c0 < c2 {
                (c0, 0)
            } else if c1 < c0 && c1 < c2 {
                (c1, 1)
            } else {
                (c2, 2)
            };
            // openai-whisper accumulates in float32.
            acc[i * w + j] = (cost[(i - 1) * cols + j - 1] as f32 + c as f32) as f64;
            trace[i * w + j] = t;
        }
    }
    trace[..w].fill(2);
    for i in 0..=rows {
        trace[i * w] = 1;
    }
    let (mut i, mut j) = (rows, cols);
    let mut path = Vec::new();
    while i > 0 || j > 0 {
        path.push((i - 1, j - 1));
        match trace[i * w + j] {
            0 => {
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    path.reverse();
    path.into_iter().unzip()
}

/// Attach leading punctuation to the next word and trailing punctuation to the previous one.
fn merge_punctuations(alignment: &mut [Timing], prepended: &str, appended: &str) {
    if alignment.len() >= 2 {
        let mut i = alignment.len() as isize - 2;
        let mut j = alignment.len() - 1;
        while i >= 0 {
            let iu = i as usize;
            let previous = &alignment[iu];
            if previous.word.starts_with(' ') && prepended.contains(previous.word.trim()) {
                let (word, tokens) = (previous.word.clone(), previous.tokens.clone());
                let following = &mut alignment[j];
                following.word = word + &following.word;
                following.tokens = [tokens, std::mem::take(&mut following.tokens)].concat();
                alignment[iu].word.clear();
                alignment[iu].tokens.clear();
            } else {
                j = iu;
            }
            i -= 1;
        }
    }
    let (mut i, mut j) = (0, 1);
    while j < alignment.len() {
        if !alignment[i].word.ends_with(' ') && appended.contains(alignment[j].word.as_str()) {
            let (word, tokens) = (
                std::mem::take(&mut alignment[j].word),
                std::mem::take(&mut alignment[j].tokens),
            );
            alignment[i].word.push_str(&word);
            alignment[i].tokens.extend(tokens);
        } else {
            i = j;
        }
        j += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(word: &str) -> Timing {
        Timing {
            word: word.into(),
            tokens: vec![1],
            start: 0.0,
            end: 0.0,
            probability: 1.0,
        }
    }

    #[test]
    fn dtw_follows_the_cheap_diagonal() {
        // 3 tokens over 6 frames, free where frame / 2 == token.
        let cost: Vec<f64> = (0..3)
            .flat_map(|r| (0..6).map(move |c| if c / 2 == r { 0.0 } else { 1.0 }))
            .collect();
        let (rows, cols) = dtw(&cost, 3, 6);
        assert_eq!(cols, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(rows, vec![0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn median_filter_reflects_edges() {
        assert_eq!(
            median_filter(&[5.0, 1.0, 1.0, 1.0, 9.0], 3),
            vec![1.0, 1.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(median_filter(&[3.0, 1.0], 7), vec![3.0, 1.0]);
    }

    #[test]
    fn punctuation_joins_neighbouring_words() {
        let mut words = vec![
            timing(" \""),
            timing(" Hello"),
            timing(","),
            timing(" world"),
            timing("."),
        ];
        merge_punctuations(&mut words, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、");
        let texts: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(texts, vec!["", " \" Hello,", "", " world.", ""]);
        assert_eq!(words[1].tokens.len(), 3);
    }
}
