//! Piper's `[[ raw phoneme ]]` blocks, as `PiperVoice.phonemize` (piper-tts 1.8) handles them.

/// Splits text like Python's `re.split(r"(\[\[.*?\]\])", text)`: the blocks are kept as parts
/// and may not span a newline.
fn split_blocks(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut part_start = 0;
    let mut search = 0;
    while let Some(offset) = text[search..].find("[[") {
        let open = search + offset;
        let body = &text[open + 2..];
        let close = body.find("]]").filter(|&end| !body[..end].contains('\n'));
        match close {
            Some(end) => {
                let block_end = open + 2 + end + 2;
                parts.push(&text[part_start..open]);
                parts.push(&text[open..block_end]);
                part_start = block_end;
                search = block_end;
            }
            // Python tries the next position; "[[" and "\n" are ASCII, so this stays on a char.
            None => search = open + 1,
        }
    }
    parts.push(&text[part_start..]);
    parts
}

/// Python's `str.strip()` whitespace, which also counts the ASCII separators 0x1C–0x1F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Phonemizes `text` into sentences: parts between blocks through `phonemize` (espeak), blocks
/// taken as phonemes as written, joined to the sentence around them; a trailing empty sentence is
/// dropped.
pub(crate) fn phonemize_with_blocks<E>(
    text: &str,
    mut phonemize: impl FnMut(&str) -> Result<Vec<String>, E>,
) -> Result<Vec<String>, E> {
    let parts = split_blocks(text);
    let mut sentences: Vec<String> = Vec::new();
    let mut after_block = false;
    for (i, part) in parts.iter().enumerate() {
        // Python tests the prefix only, so an unclosed "[[" at the start of a part counts too.
        if part.starts_with("[[") {
            after_block = true;
            if sentences.is_empty() {
                sentences.push(String::new());
            }
            let sentence = sentences.last_mut().expect("one sentence at least");
            if i > 0 && parts[i - 1].ends_with(' ') {
                sentence.push(' ');
            }
            // text_part[2:-2], by characters.
            let chars: Vec<char> = part.chars().collect();
            let inner: String = chars
                .get(2..chars.len().saturating_sub(2))
                .unwrap_or(&[])
                .iter()
                .collect();
            sentence.push_str(inner.trim_matches(is_python_space));
            if i + 1 < parts.len() && parts[i + 1].starts_with(' ') {
                sentence.push(' ');
            }
            continue;
        }
        let mut part_sentences = phonemize(part)?.into_iter();
        // The text right after a block continues the block's sentence.
        if after_block && let Some(first) = part_sentences.next() {
            sentences
                .last_mut()
                .expect("a block came first")
                .push_str(&first);
        }
        sentences.extend(part_sentences);
        after_block = false;
    }
    if sentences.last().is_some_and(String::is_empty) {
        sentences.pop();
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_python_regex() {
        assert_eq!(split_blocks("a [[x]] b"), ["a ", "[[x]]", " b"]);
        assert_eq!(split_blocks("[[x]]"), ["", "[[x]]", ""]);
        assert_eq!(split_blocks("[[[x]]]"), ["", "[[[x]]", "]"]);
        assert_eq!(split_blocks("a [[x\n]] b"), ["a [[x\n]] b"]);
        assert_eq!(split_blocks("[[a\n[[b]]"), ["[[a\n", "[[b]]", ""]);
        assert_eq!(split_blocks("no blocks"), ["no blocks"]);
    }
}
