//! Band-limited sample-rate conversion and channel down-mixing.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, SincInterpolationParameters, WindowFunction,
};

use crate::ResampleError;

/// Lowest sample rate accepted anywhere in this crate.
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate accepted anywhere in this crate.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Input frames per resampler call: small enough to keep latency and scratch memory low.
const CHUNK_FRAMES: usize = 1024;
/// Above this reduced-fraction size the FFT resampler's block grows too big; use sinc instead.
const MAX_FFT_BLOCK: u32 = 8192;

/// Averages interleaved channels into one; a trailing partial frame is dropped.
pub fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    let mut mono = Vec::new();
    downmix_into(interleaved, channels, &mut mono);
    mono
}

/// Like [`downmix`], appending to `out` so the decoder can reuse one buffer.
pub(crate) fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    match channels {
        0 => {}
        1 => out.extend_from_slice(interleaved),
        _ => {
            let scale = 1.0 / channels as f32;
            out.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// Resamples a whole mono clip from `from_hz` to `to_hz`.
///
/// The output has `round(len * to_hz / from_hz)` samples and no added delay; equal rates copy.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    let mut resampler = Resampler::new(from_hz, to_hz)?;
    let expected = expected_len(samples.len() as u64, from_hz, to_hz);
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    resampler.process(samples, &mut out)?;
    resampler.finish(&mut out)?;
    Ok(out)
}

/// Streaming mono resampler: feed chunks of any size, then [`finish`](Self::finish).
///
/// Anti-aliased (windowed-sinc low-pass at the lower Nyquist rate). Common rate pairs use an FFT
/// resampler (exact rational ratio); unusual ones fall back to an asynchronous sinc resampler.
/// The filter delay is trimmed, so output sample `n` lines up with input time `n / to_hz`.
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    /// `None` when the rates are equal.
    inner: Option<Box<dyn rubato::Resampler<f32>>>,
    /// Input not yet forming a whole chunk.
    pending: Vec<f32>,
    scratch: Vec<f32>,
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// Builds a resampler; rates must lie in [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        for rate in [from_hz, to_hz] {
            if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
                return Err(ResampleError::UnsupportedRate(rate));
            }
        }
        let inner: Option<Box<dyn rubato::Resampler<f32>>> = if from_hz == to_hz {
            None
        } else {
            let g = gcd(from_hz, to_hz);
            let built = if from_hz / g <= MAX_FFT_BLOCK && to_hz / g <= MAX_FFT_BLOCK {
                Fft::<f32>::new(
                    from_hz as usize,
                    to_hz as usize,
                    CHUNK_FRAMES,
                    1,
                    FixedSync::Input,
                )
                .map(|r| Box::new(r) as Box<dyn rubato::Resampler<f32>>)
            } else {
                let params = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2)
                    .oversampling_factor(256);
                Async::<f32>::new_sinc(
                    f64::from(to_hz) / f64::from(from_hz),
                    1.0,
                    &params,
                    CHUNK_FRAMES,
                    1,
                    FixedAsync::Input,
                )
                .map(|r| Box::new(r) as Box<dyn rubato::Resampler<f32>>)
            };
            Some(built.map_err(|e| ResampleError::Internal(e.to_string()))?)
        };
        let delay_left = inner.as_ref().map_or(0, |r| r.output_delay());
        Ok(Self {
            from_hz,
            to_hz,
            inner,
            pending: Vec::new(),
            scratch: Vec::new(),
            delay_left,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Input rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Input samples consumed so far.
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Resamples `input`, appending whatever output is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.frames_in += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let mut pending = std::mem::take(&mut self.pending);
        let mut offset = 0;
        let result = loop {
            let need = self.chunk_len();
            if pending.len() - offset < need {
                break Ok(());
            }
            if let Err(e) = self.run(&pending[offset..offset + need], None, out) {
                break Err(e);
            }
            offset += need;
        };
        pending.drain(..offset);
        self.pending = pending;
        result
    }

    /// Flushes buffered input and the filter tail; `out` ends with exactly
    /// `round(frames_in * to_hz / from_hz)` samples written over this resampler's lifetime.
    pub fn finish(mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        if self.inner.is_none() {
            return Ok(());
        }
        let expected = expected_len(self.frames_in, self.from_hz, self.to_hz);
        let pending = std::mem::take(&mut self.pending);
        if !pending.is_empty() {
            let mut chunk = pending;
            let valid = chunk.len();
            chunk.resize(self.chunk_len(), 0.0);
            self.run(&chunk, Some(valid), out)?;
        }
        // Pump silence through until the delayed tail is out; bounded in case of a bug.
        let silence = vec![0.0; self.chunk_len()];
        for _ in 0..64 {
            if self.frames_out >= expected {
                break;
            }
            self.run(&silence, Some(0), out)?;
        }
        let extra = self.frames_out.saturating_sub(expected);
        out.truncate(out.len().saturating_sub(extra as usize));
        Ok(())
    }

    fn chunk_len(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(CHUNK_FRAMES, |r| r.input_frames_next())
    }

    fn run(
        &mut self,
        input: &[f32],
        partial: Option<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        let internal = |e: &dyn std::fmt::Display| ResampleError::Internal(e.to_string());
        self.scratch.resize(inner.output_frames_max(), 0.0);
        let frames_out = self.scratch.len();
        let buf_in = InterleavedSlice::new(input, 1, input.len()).map_err(|e| internal(&e))?;
        let mut buf_out = InterleavedSlice::new_mut(&mut self.scratch, 1, frames_out)
            .map_err(|e| internal(&e))?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, produced) = inner
            .process_into_buffer(&buf_in, &mut buf_out, indexing.as_ref())
            .map_err(|e| internal(&e))?;
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        out.extend_from_slice(&self.scratch[skip..produced]);
        self.frames_out += (produced - skip) as u64;
        Ok(())
    }
}

/// Output length for `frames` input frames, rounded to the nearest frame.
pub(crate) fn expected_len(frames: u64, from_hz: u32, to_hz: u32) -> u64 {
    let from = u128::from(from_hz.max(1));
    ((u128::from(frames) * u128::from(to_hz) + from / 2) / from) as u64
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_and_drops_partial_frame() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5, 9.0], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.3, 0.6, 0.9], 3), vec![0.6]);
        assert!(downmix(&[1.0], 0).is_empty());
    }

    #[test]
    fn lengths_are_exact_for_any_chunking() {
        for (from, to) in [
            (44_100, 16_000),
            (16_000, 22_050),
            (48_000, 16_000),
            (44_101, 16_000),
        ] {
            for len in [0usize, 1, 5, 1023, 1024, 1025, 30_001] {
                let input = vec![0.25f32; len];
                let out = resample(&input, from, to).unwrap();
                assert_eq!(
                    out.len() as u64,
                    expected_len(len as u64, from, to),
                    "{from}->{to} {len}"
                );

                let mut streamed = Vec::new();
                let mut r = Resampler::new(from, to).unwrap();
                for chunk in input.chunks(333) {
                    r.process(chunk, &mut streamed).unwrap();
                }
                r.finish(&mut streamed).unwrap();
                assert_eq!(streamed, out);
            }
        }
    }

    #[test]
    fn rejects_out_of_range_rates() {
        assert_eq!(
            resample(&[0.0], 0, 16_000),
            Err(ResampleError::UnsupportedRate(0))
        );
        assert!(Resampler::new(16_000, u32::MAX).is_err());
    }
}
