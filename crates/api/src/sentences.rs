//! Cutting a transcript that arrives segment by segment into whole sentences to speak, so the
//! end-to-end flow can synthesize what is complete while later audio is still transcribed.

/// Marks that end a sentence (Latin and CJK).
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '…', '。', '！', '？'];

/// Closing quotes and brackets that may follow a sentence's end mark.
const CLOSERS: &[char] = &['"', '\'', ')', ']', '”', '’', '»'];

/// Without any end mark, text this long (in characters) is spoken at a segment boundary
/// rather than held back: speech transcribed without punctuation still flows.
pub const MAX_PENDING_CHARS: usize = 300;

/// Text waiting for the end of its sentence.
#[derive(Debug, Default)]
pub struct SentenceBuffer {
    pending: String,
}

impl SentenceBuffer {
    /// Adds a segment's text; returns the text of the sentences it completed, if any.
    pub fn push(&mut self, text: &str) -> Option<String> {
        self.pending.push_str(text);
        let cut = last_sentence_end(&self.pending).or_else(|| {
            (self.pending.chars().count() > MAX_PENDING_CHARS).then_some(self.pending.len())
        })?;
        let rest = self.pending.split_off(cut);
        let done = std::mem::replace(&mut self.pending, rest);
        non_empty(done)
    }

    /// What is left once the transcript is complete.
    pub fn finish(&mut self) -> Option<String> {
        non_empty(std::mem::take(&mut self.pending))
    }
}

fn non_empty(text: String) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Byte offset just past the last sentence end of `text` (its end mark and any closers), where
/// whitespace or the end of the text follows.
fn last_sentence_end(text: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = chars.len();
    while i > 0 {
        i -= 1;
        let c = chars[i].1;
        if !SENTENCE_ENDS.contains(&c) {
            continue;
        }
        let mut end = i + 1;
        while end < chars.len() && CLOSERS.contains(&chars[end].1) {
            end += 1;
        }
        let followed_by_space = end == chars.len() || chars[end].1.is_whitespace();
        // "3.14" is not a sentence end.
        if followed_by_space {
            return Some(chars.get(end).map_or(text.len(), |&(pos, _)| pos));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_sentences_leave_the_rest_waits() {
        let mut b = SentenceBuffer::default();
        assert_eq!(b.push(" And so, my fellow Americans,"), None);
        assert_eq!(
            b.push(" ask not what your country can do for you. Ask what"),
            Some("And so, my fellow Americans, ask not what your country can do for you.".into())
        );
        assert_eq!(b.push(" you can do!"), Some("Ask what you can do!".into()));
        assert_eq!(
            b.push(" He said \"yes.\" Then"),
            Some("He said \"yes.\"".into())
        );
        assert_eq!(b.push(" pi is 3.14"), None);
        assert_eq!(b.finish(), Some("Then pi is 3.14".into()));
        assert_eq!(b.finish(), None);
        assert_eq!(b.push("   "), None);
        assert_eq!(b.push(" 你好。"), Some("你好。".into()));
    }

    #[test]
    fn unpunctuated_speech_is_not_held_forever() {
        let mut b = SentenceBuffer::default();
        let words = " word".repeat(MAX_PENDING_CHARS / 5);
        assert_eq!(b.push(&words), None);
        let spoken = b.push(" more").expect("flushed past the limit");
        assert!(spoken.ends_with("more") && spoken.chars().count() > MAX_PENDING_CHARS);
        assert_eq!(b.finish(), None);
    }
}
