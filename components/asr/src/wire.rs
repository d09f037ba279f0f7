//! The transcript as the API shows it: vox-whisper's segments in `vox-api`'s wire types.

use vox_api::transcript::{Segment, Transcript, Word};

/// `detected`: the language was detected, so its probability is worth showing.
pub fn wire(t: vox_whisper::Transcript, detected: bool) -> Transcript {
    Transcript {
        text: t.text,
        language: Some(t.language),
        language_probability: detected.then_some(f64::from(t.language_probability)),
        duration: t.duration,
        segments: t.segments.into_iter().map(wire_segment).collect(),
    }
}

/// A segment as the API shows it.
pub fn wire_segment(s: vox_whisper::Segment) -> Segment {
    Segment {
        id: s.id as u32,
        start: s.start,
        end: s.end,
        text: s.text,
        avg_logprob: s.avg_logprob,
        no_speech_prob: s.no_speech_prob as f64,
        seek: Some(s.seek as u64),
        tokens: Some(s.tokens),
        temperature: Some(s.temperature as f64),
        compression_ratio: Some(s.compression_ratio),
        // Present only when word timestamps were asked for.
        words: (!s.words.is_empty()).then(|| {
            s.words
                .into_iter()
                .map(|w| Word {
                    start: w.start,
                    end: w.end,
                    word: w.word,
                    probability: w.probability,
                })
                .collect()
        }),
    }
}
