//! Input mutation in the manner of libFuzzer's default mutators (`MutationDispatcher`): one to a
//! few edits per input, chosen by a seeded SplitMix64 so every run can be repeated.

/// SplitMix64: small, fast, and good enough to pick edits.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Values that sit on the edges of length and count fields (libFuzzer's "interesting" ints).
const INTERESTING: [u32; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

pub struct Mutator {
    rng: Rng,
    /// Inputs never grow past this.
    max_len: usize,
}

impl Mutator {
    pub fn new(seed: u64, max_len: usize) -> Self {
        Self {
            rng: Rng::new(seed),
            max_len,
        }
    }

    /// A new input from `seed`, with `other` (another corpus entry) for splicing.
    pub fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        let edits = 1 + self.rng.below(4);
        for _ in 0..edits {
            self.edit(&mut data, other);
        }
        data.truncate(self.max_len);
        data
    }

    fn edit(&mut self, data: &mut Vec<u8>, other: &[u8]) {
        let rng = &mut self.rng;
        if data.is_empty() {
            data.push(rng.next_u64() as u8);
            return;
        }
        let at = rng.below(data.len());
        match rng.below(9) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next_u64() as u8,
            2 => {
                let n = 1 + rng.below(8.min(data.len() - at));
                data.drain(at..at + n);
            }
            3 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                data.splice(at..at, bytes);
            }
            4 => data.truncate(at),
            5 => {
                // Overwrite with an interesting value, little- or big-endian, 1/2/4 bytes wide.
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4][rng.below(3)];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                for (i, b) in bytes.iter().take(width).enumerate() {
                    if let Some(slot) = data.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            6 => {
                // Copy a chunk of the input over another place of it.
                let n = 1 + rng.below(64.min(data.len()));
                let from = rng.below(data.len() - n + 1);
                let chunk = data[from..from + n].to_vec();
                let to = rng.below(data.len() - n + 1);
                data[to..to + n].copy_from_slice(&chunk);
            }
            7 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let from = rng.below(other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                // Duplicate a chunk in place (repeated boxes, chunks, parts).
                let n = 1 + rng.below(256.min(data.len() - at));
                let chunk = data[at..at + n].to_vec();
                data.splice(at..at, chunk);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let seed = b"RIFF\x24\x00\x00\x00WAVEfmt ";
        let run = |s| {
            let mut m = Mutator::new(s, 64);
            (0..50)
                .map(|_| m.mutate(seed, b"other"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|d| d.len() <= 64));
        assert!(run(7).iter().any(|d| d.as_slice() != seed));
    }
}
