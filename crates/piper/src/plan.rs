//! Id-length buckets and the optimised tract plan built once per bucket.

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{PiperError, Result};
use crate::graph_fix;

/// Fixed id lengths that inputs are padded to, smallest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets(Vec<usize>);

impl Buckets {
    /// Sizes are sorted and deduplicated; at least one, none zero.
    pub fn new(sizes: impl IntoIterator<Item = usize>) -> Result<Self> {
        let mut sizes: Vec<usize> = sizes.into_iter().collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.is_empty() || sizes[0] == 0 {
            return Err(PiperError::Config(format!("bad bucket sizes {sizes:?}")));
        }
        Ok(Self(sizes))
    }

    /// Index of the smallest bucket that holds `len` ids.
    pub fn select(&self, len: usize) -> Option<usize> {
        self.0.iter().position(|&size| size >= len)
    }

    pub fn largest(&self) -> usize {
        *self.0.last().expect("at least one bucket")
    }

    pub fn sizes(&self) -> &[usize] {
        &self.0
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Self(vec![64, 128, 256, 512])
    }
}

/// How far tract transforms the graph before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimisation {
    /// Declutter, then tract's kernel selection (the fast path).
    #[default]
    Optimized,
    /// Declutter only: quicker to build, slower to run.
    Decluttered,
}

/// The model's inputs, in the order the plan takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Ids,
    Lengths,
    Scales,
    Speaker,
}

/// A runnable plan for ids padded to one bucket length. Its output is the
/// audio, or the vocoder's input when the voice is split (see [`Decoder`]).
pub(crate) struct Plan {
    runnable: Arc<TypedSimplePlan>,
    inputs: Vec<Input>,
    bucket: usize,
}

/// One model call's inputs, before padding.
pub(crate) struct Request<'a> {
    pub ids: &'a [i64],
    pub scales: [f32; 3],
    pub speaker: Option<i64>,
}

impl Plan {
    /// Fixes the parsed model to `[1, bucket]` ids and optimises it.
    pub fn build(
        model: &InferenceModel,
        bucket: usize,
        optimisation: Optimisation,
    ) -> Result<Self> {
        let mut model = model.clone();
        let mut inputs = Vec::new();
        for (ix, outlet) in model.input_outlets()?.to_vec().iter().enumerate() {
            let (input, fact) = match model.node(outlet.node).name.as_str() {
                "input" => (Input::Ids, i64::fact([1, bucket])),
                "input_lengths" => (Input::Lengths, i64::fact([1])),
                "scales" => (Input::Scales, f32::fact([3])),
                "sid" => (Input::Speaker, i64::fact([1])),
                other => {
                    return Err(PiperError::Model(format!(
                        "unexpected model input {other:?}"
                    )));
                }
            };
            model.set_input_fact(ix, fact.into())?;
            inputs.push(input);
        }
        let mut typed = model.into_typed()?.into_decluttered()?;
        graph_fix::reuse_minting_ranges(&mut typed)?;
        let typed = match optimisation {
            Optimisation::Optimized => typed.into_optimized()?,
            Optimisation::Decluttered => typed.into_decluttered()?,
        };
        Ok(Self {
            runnable: typed.into_runnable()?,
            inputs,
            bucket,
        })
    }

    pub fn takes_speaker(&self) -> bool {
        self.inputs.contains(&Input::Speaker)
    }

    /// Runs one padded model call; returns the plan's single output.
    pub fn run(&self, request: &Request) -> Result<TValue> {
        let len = request.ids.len();
        if len == 0 {
            return Err(PiperError::Empty);
        }
        if len > self.bucket {
            return Err(PiperError::TooLong {
                len,
                max: self.bucket,
            });
        }
        // Padding ids are masked out by `input_lengths`: they add no frames.
        let mut ids = request.ids.to_vec();
        ids.resize(self.bucket, 0);
        let mut values: TVec<TValue> = tvec![];
        for input in &self.inputs {
            let tensor = match input {
                Input::Ids => tensor1(&ids).into_shape(&[1, self.bucket])?,
                Input::Lengths => tensor1(&[len as i64]),
                Input::Scales => tensor1(&request.scales),
                Input::Speaker => tensor1(&[request.speaker.unwrap_or(0)]),
            };
            values.push(tensor.into());
        }
        let mut outputs = self.runnable.run(values)?;
        Ok(outputs.remove(0))
    }
}

/// Latent frames from which the vocoder's halves run at once (about 1.9 s of speech).
const SPLIT_MIN_FRAMES: usize = 160;

/// Frames each half carries past the cut. A Piper vocoder sees at most about 13 frames either
/// side of a sample (its dilated convolutions' reach, upsampled; about 11 for the medium
/// voices), so the samples kept are those the whole would give.
const OVERLAP: usize = 24;

/// The vocoder part of the graph, from the latent frames to audio.
///
/// Its frame count is only known once durations are predicted. Left symbolic,
/// tract's convolutions fall back to slow generic kernels (materialised
/// im2col over the whole output); with the count made concrete they run about
/// three times faster. So it is typed and optimised per request, for the exact
/// frame count: a small graph, quick to prepare, and no padding to trim.
pub(crate) struct Decoder {
    model: InferenceModel,
    takes_speaker: bool,
}

impl Decoder {
    /// Cuts the decoder out of the parsed model, at the `cut` node's output.
    pub fn new(model: &InferenceModel, cut: &str) -> Result<Self> {
        let takes_speaker = model.node_by_name("sid").is_ok();
        let mut inputs = vec![cut];
        if takes_speaker {
            inputs.push("sid");
        }
        let model = model
            .clone()
            .with_input_names(inputs)?
            .eliminate_dead_branches()?;
        Ok(Self {
            model,
            takes_speaker,
        })
    }

    /// Audio for the latent frames `[1, channels, frames]`. Where the matrix products have
    /// threads (the host's executor) and the sentence is long, its two halves are vocoded at
    /// once, one per thread, each carrying [`OVERLAP`] frames past the cut, and joined at the
    /// cut: tract's products split over threads row block by row block, but the vocoder's
    /// padding copies, activations and overlap-adds run on one, and its preparation too.
    pub fn run(&self, latent: TValue, speaker: Option<i64>) -> Result<Vec<f32>> {
        use tract_onnx::prelude::multithread::{Executor, current_tract_executor, par_chunks_mut};
        let frames = latent.shape()[2];
        if frames < SPLIT_MIN_FRAMES || matches!(current_tract_executor(), Executor::SingleThread) {
            return self.run_whole(latent, speaker);
        }
        let cut = frames / 2;
        let parts = [(0, cut + OVERLAP), (cut - OVERLAP, frames)];
        let mut audio: [Result<Vec<f32>>; 2] = [Ok(Vec::new()), Ok(Vec::new())];
        // One half per task; an executor of one thread runs both in turn.
        par_chunks_mut(&mut audio, 1, usize::MAX, |first, slots| {
            for (slot, &(start, end)) in slots.iter_mut().zip(&parts[first..]) {
                *slot = latent
                    .slice(2, start, end)
                    .map_err(PiperError::from)
                    .and_then(|half| self.run_whole(half.into_tvalue(), speaker));
            }
            Ok(())
        })?;
        let [first, second] = audio;
        let (mut first, second) = (first?, second?);
        // The vocoder makes the same number of samples of every frame.
        let hop = first.len() / (cut + OVERLAP);
        first.truncate(cut * hop);
        first.extend_from_slice(&second[OVERLAP * hop..]);
        Ok(first)
    }

    fn run_whole(&self, latent: TValue, speaker: Option<i64>) -> Result<Vec<f32>> {
        let mut model = self.model.clone();
        model.set_input_fact(0, f32::fact(latent.shape()).into())?;
        let mut inputs = tvec![latent];
        if self.takes_speaker {
            model.set_input_fact(1, i64::fact([1]).into())?;
            inputs.push(tensor1(&[speaker.unwrap_or(0)]).into());
        }
        let plan = model.into_typed()?.into_optimized()?.into_runnable()?;
        samples(&plan.run(inputs)?[0])
    }
}

/// The plan's output as samples, when it is the audio itself.
pub(crate) fn samples(output: &TValue) -> Result<Vec<f32>> {
    Ok(output
        .to_plain_array_view::<f32>()?
        .iter()
        .copied()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_bucket_that_fits_is_chosen() {
        let buckets = Buckets::new([256, 64, 128, 64]).unwrap();
        assert_eq!(buckets.sizes(), [64, 128, 256]);
        assert_eq!(buckets.select(1), Some(0));
        assert_eq!(buckets.select(64), Some(0));
        assert_eq!(buckets.select(65), Some(1));
        assert_eq!(buckets.select(256), Some(2));
        assert_eq!(buckets.select(257), None);
        assert_eq!(buckets.largest(), 256);
    }

    #[test]
    fn empty_or_zero_buckets_are_rejected() {
        assert!(Buckets::new([]).is_err());
        assert!(Buckets::new([0, 64]).is_err());
    }
}
