//! faster-whisper's `_split_segments_by_timestamps`: a window's tokens cut into segments at
//! consecutive timestamp tokens, and where the seek loop goes next.

use crate::alignment::Piece;
use crate::window::{INPUT_STRIDE, TIME_PRECISION, Window};

/// The segments of one decoded window.
pub(crate) struct Split {
    /// Segments in order, without words yet.
    pub pieces: Vec<Piece>,
    /// Mel frame where the next window starts.
    pub next_seek: usize,
    /// The tokens end with a single timestamp (the window's speech ended inside it).
    pub single_timestamp_ending: bool,
}

/// Split `tokens` decoded from `window`; `timestamp_begin` is `<|0.00|>`'s id.
pub(crate) fn split_by_timestamps(tokens: &[u32], window: &Window, timestamp_begin: u32) -> Split {
    let ts = timestamp_begin;
    let time_offset = window.time_offset();
    let n = tokens.len();
    let single_timestamp_ending = n >= 2 && tokens[n - 2] < ts && ts <= tokens[n - 1];
    let consecutive: Vec<usize> = (1..n)
        .filter(|&i| tokens[i] >= ts && tokens[i - 1] >= ts)
        .collect();
    let mut pieces = Vec::new();
    if !consecutive.is_empty() {
        let mut slices = consecutive;
        if single_timestamp_ending {
            slices.push(n);
        }
        let mut last = 0;
        for &current in &slices {
            let sliced = &tokens[last..current];
            let start = time_offset + (sliced[0] - ts) as f64 * TIME_PRECISION;
            let end = time_offset + (sliced[sliced.len() - 1] - ts) as f64 * TIME_PRECISION;
            pieces.push(Piece {
                start,
                end,
                tokens: sliced.to_vec(),
                words: Vec::new(),
            });
            last = current;
        }
        let next_seek = if single_timestamp_ending {
            window.end()
        } else {
            window.seek + (tokens[last - 1] - ts) as usize * INPUT_STRIDE
        };
        Split {
            pieces,
            next_seek,
            single_timestamp_ending,
        }
    } else {
        let mut duration = window.duration();
        if let Some(&last_ts) = tokens.iter().rfind(|&&t| t >= ts)
            && last_ts != ts
        {
            duration = (last_ts - ts) as f64 * TIME_PRECISION;
        }
        pieces.push(Piece {
            start: time_offset,
            end: time_offset + duration,
            tokens: tokens.to_vec(),
            words: Vec::new(),
        });
        Split {
            pieces,
            next_seek: window.end(),
            single_timestamp_ending,
        }
    }
}
