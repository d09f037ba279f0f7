//! Log-mel spectrogram, computed exactly as faster-whisper's `FeatureExtractor`.

use realfft::RealFftPlanner;

/// Sample rate Whisper expects.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT window length (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP_LENGTH: usize = 160;
/// Frames in one 30 s window.
pub const N_FRAMES: usize = 3000;

/// A log-mel spectrogram, bins × frames, row-major (one row per mel bin).
#[derive(Clone, Debug)]
pub struct LogMel {
    /// Number of mel bins.
    pub n_mels: usize,
    /// Number of frames.
    pub n_frames: usize,
    /// `n_mels * n_frames` values.
    pub data: Vec<f32>,
}

impl LogMel {
    /// Value of bin `mel` at frame `frame`.
    pub fn at(&self, mel: usize, frame: usize) -> f32 {
        self.data[mel * self.n_frames + frame]
    }

    /// Frames `[start, start + len)` padded with zeros (in feature space) to `N_FRAMES`,
    /// as faster-whisper's `pad_or_trim`; row-major `[n_mels, N_FRAMES]`.
    pub fn window(&self, start: usize, len: usize) -> Vec<f32> {
        let len = len.min(N_FRAMES).min(self.n_frames.saturating_sub(start));
        let mut out = vec![0f32; self.n_mels * N_FRAMES];
        for m in 0..self.n_mels {
            let row = &self.data[m * self.n_frames + start..m * self.n_frames + start + len];
            out[m * N_FRAMES..m * N_FRAMES + len].copy_from_slice(row);
        }
        out
    }
}

/// Slaney-style mel filterbank `[n_mels, N_FFT/2 + 1]`, identical to librosa's `filters.mel`
/// (and faster-whisper's `get_mel_filters`): computed in f64, stored as f32.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_freqs = N_FFT / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_freqs)
        .map(|i| i as f64 * SAMPLE_RATE as f64 / N_FFT as f64)
        .collect();
    let (min_mel, max_mel) = (0.0f64, 45.245640471924965f64);
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    let freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| {
            // np.linspace(min_mel, max_mel, n_mels + 2)
            let mel = min_mel + (max_mel - min_mel) * i as f64 / (n_mels + 1) as f64;
            if mel >= min_log_mel {
                min_log_hz * (logstep * (mel - min_log_mel)).exp()
            } else {
                f_sp * mel
            }
        })
        .collect();
    let mut weights = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let enorm = 2.0 / (freqs[m + 2] - freqs[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(freqs[m] - f) / (freqs[m + 1] - freqs[m]);
            let upper = (freqs[m + 2] - f) / (freqs[m + 2] - freqs[m + 1]);
            let w = 0f64.max(lower.min(upper));
            weights[m * n_freqs + k] = (w * enorm) as f32;
        }
    }
    weights
}

/// Reflect-pad index like `np.pad(mode="reflect")` (edge sample not repeated).
fn reflect(i: isize, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len as isize - 1);
    let mut j = i.rem_euclid(period);
    if j >= len as isize {
        j = period - j;
    }
    j as usize
}

/// Log-mel features of 16 kHz mono audio: 160 zeros appended, centred STFT with a periodic
/// Hann window, the last frame dropped, `log10(max(mel, 1e-10))` floored at `max - 8` and
/// scaled `(x + 4) / 4`. The floor uses the maximum over the whole input, as faster-whisper.
pub fn log_mel_spectrogram(samples: &[f32], n_mels: usize) -> LogMel {
    let filters = mel_filters(n_mels);
    let n_freqs = N_FFT / 2 + 1;
    let mut padded = samples.to_vec();
    padded.extend(std::iter::repeat_n(0.0, HOP_LENGTH));
    let half = (N_FFT / 2) as isize;
    let len = padded.len();
    let total = len + N_FFT;
    let stft_frames = 1 + (total - N_FFT) / HOP_LENGTH;
    let n_frames = stft_frames - 1;

    let window: Vec<f32> = (0..N_FFT)
        .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32)
        .collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0f32; n_freqs];
    let mut data = vec![0f32; n_mels * n_frames];

    // Each filter's non-zero bins: the products outside them are zeros, which leave the sum
    // as it is, so skipping them gives the same bits (a filter spans a few of the 201 bins).
    let spans: Vec<std::ops::Range<usize>> = filters
        .chunks_exact(n_freqs)
        .map(|row| {
            let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
            let end = row.iter().rposition(|&w| w != 0.0).map_or(first, |i| i + 1);
            first..end
        })
        .collect();

    for t in 0..n_frames {
        let start = (t * HOP_LENGTH) as isize - half;
        // Frames away from the edges read their samples in place; the others reflect.
        let inside = start >= 0 && start as usize + N_FFT <= len;
        for (n, slot) in input.iter_mut().enumerate() {
            let x = if inside {
                padded[start as usize + n]
            } else {
                padded[reflect(start + n as isize, len)]
            };
            // The product is taken in f32 as numpy does (float32 samples × float32 window).
            *slot = (x * window[n]) as f64;
        }
        fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .expect("fft sizes match");
        for (p, c) in power.iter_mut().zip(&spectrum) {
            let (re, im) = (c.re as f32, c.im as f32);
            *p = re * re + im * im;
        }
        for (m, span) in spans.iter().enumerate() {
            let row = &filters[m * n_freqs..(m + 1) * n_freqs];
            let e: f64 = row[span.clone()]
                .iter()
                .zip(&power[span.clone()])
                .map(|(&w, &p)| w as f64 * p as f64)
                .sum();
            data[m * n_frames + t] = (e as f32).max(1e-10).log10();
        }
    }
    let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in &mut data {
        *v = ((*v).max(max - 8.0) + 4.0) / 4.0;
    }
    LogMel {
        n_mels,
        n_frames,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([0,1,2,3], 3, mode="reflect") == [3,2,1,0,1,2,3,2,1,0]
        let got: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn frame_count_and_silence() {
        let mel = log_mel_spectrogram(&vec![0.0; 16_000], 80);
        assert_eq!(mel.n_frames, 101);
        // Silence: log10(1e-10) = -10, floored at max - 8 = -10, scaled to -1.5.
        assert!(mel.data.iter().all(|&v| (v + 1.5).abs() < 1e-6));
    }

    #[test]
    fn each_value_is_the_whole_filters_sum_bit_for_bit() {
        // A chirp with noise, short enough that edge frames are a large share.
        let samples: Vec<f32> = (0..5_000)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                (t * t * 40_000.0).sin() * 0.3 + ((i * 7919 % 101) as f32 / 101.0 - 0.5) * 0.01
            })
            .collect();
        let mel = log_mel_spectrogram(&samples, 80);
        // Every frame again, reflecting every index and summing whole filter rows.
        let filters = mel_filters(80);
        let mut padded = samples.clone();
        padded.extend(std::iter::repeat_n(0.0, HOP_LENGTH));
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let (mut input, mut spectrum) = (fft.make_input_vec(), fft.make_output_vec());
        let mut raw = vec![0f32; 80 * mel.n_frames];
        for t in 0..mel.n_frames {
            for (n, slot) in input.iter_mut().enumerate() {
                let i = (t * HOP_LENGTH + n) as isize - (N_FFT / 2) as isize;
                let window = (0.5
                    - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
                    as f32;
                *slot = (padded[reflect(i, padded.len())] * window) as f64;
            }
            fft.process(&mut input, &mut spectrum).unwrap();
            let power: Vec<f32> = spectrum
                .iter()
                .map(|c| (c.re as f32) * (c.re as f32) + (c.im as f32) * (c.im as f32))
                .collect();
            for (m, row) in filters.chunks_exact(power.len()).enumerate() {
                let e: f64 = row
                    .iter()
                    .zip(&power)
                    .map(|(&w, &p)| w as f64 * p as f64)
                    .sum();
                raw[m * mel.n_frames + t] = (e as f32).max(1e-10).log10();
            }
        }
        let max = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let want: Vec<f32> = raw.iter().map(|v| (v.max(max - 8.0) + 4.0) / 4.0).collect();
        assert_eq!(mel.data, want);
    }

    #[test]
    fn filterbank_is_slaney_normalised() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        // First filter peaks at bin 1 (25 Hz wide bins, 66.7 Hz band edges), area-normalised.
        assert!(f[0].abs() < 1e-9 && f[1] > 0.0);
        assert!(f.iter().all(|&v| v >= 0.0));
    }
}
