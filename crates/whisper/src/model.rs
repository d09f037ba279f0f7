//! A loaded Whisper model: checkpoint, optimised graphs, tokenizer, optional VAD; the encoder
//! run and the decoder and language detector over its graphs.

use std::path::Path;

use tract_onnx::prelude::*;

use crate::Error;
use crate::checkpoint::{Checkpoint, Config, Dims};
use crate::decode::Cross;
use crate::decode::{AudioFeatures, Decoder};
use crate::graph::{self, Graphs};
use crate::language::LanguageDetector;
use crate::mel::N_FRAMES;
use crate::quant::ComputeType;
use crate::runner::{Inference, Outputs};
use crate::tokenizer::Tokenizer;
use crate::vad::Vad;

/// A loaded Whisper model, reusable across calls and threads.
pub struct Model {
    pub(crate) dims: Dims,
    pub(crate) config: Config,
    pub(crate) alignment_heads: Vec<(usize, usize)>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) graphs: Graphs,
    pub(crate) vad: Option<Vad>,
    compute_type: ComputeType,
}

impl Model {
    /// Load a faster-whisper model directory and optimise its graphs in f32 (faster-whisper's
    /// `compute_type="default"` for these float16 checkpoints on a CPU).
    pub fn load(dir: &Path) -> Result<Model, Error> {
        Model::load_with(dir, ComputeType::Float32)
    }

    /// Load a faster-whisper model directory, its linear layers in `compute_type`.
    pub fn load_with(dir: &Path, compute_type: ComputeType) -> Result<Model, Error> {
        Model::load_on(dir, compute_type, Inference::InProcess)
    }

    /// The same, its graphs run where `inference` says (the decoding loop, beam search, VAD
    /// and timestamps stay here either way).
    pub fn load_on(
        dir: &Path,
        compute_type: ComputeType,
        inference: Inference,
    ) -> Result<Model, Error> {
        let (ckpt, graphs) = match inference {
            Inference::InProcess => {
                let ckpt = Checkpoint::load(dir)?;
                let graphs = Graphs::build_with(&ckpt, compute_type)?;
                (ckpt, graphs)
            }
            #[cfg(feature = "wasi-nn")]
            Inference::WasiNn => on_host(dir, compute_type)?,
            #[cfg(not(feature = "wasi-nn"))]
            Inference::WasiNn => return Err(Error::Graph(Inference::not_built().to_string())),
        };
        let tokenizer = Tokenizer::new(ckpt.vocabulary.clone(), &ckpt.merges)?;
        let alignment_heads = graph::alignment_heads(&ckpt);
        Ok(Model {
            dims: ckpt.dims,
            config: ckpt.config,
            alignment_heads,
            tokenizer,
            graphs,
            vad: None,
            compute_type,
        })
    }

    /// Use `vad` for `vad_filter`.
    pub fn with_vad(mut self, vad: Vad) -> Model {
        self.vad = Some(vad);
        self
    }

    /// Where the graphs run.
    pub fn inference(&self) -> Inference {
        self.graphs.decoder.inference()
    }

    /// How the linear layers compute.
    pub fn compute_type(&self) -> ComputeType {
        self.compute_type
    }

    /// Architecture sizes.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The vocabulary.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// True for multilingual models (the same answer as `vox_whisper::is_multilingual`).
    pub fn is_multilingual(&self) -> bool {
        self.tokenizer.multilingual
    }

    /// Run the encoder on one `[n_mels, 3000]` window (its outputs stay on the host when the
    /// graphs run there).
    pub fn encode(&self, window: &[f32]) -> Result<AudioFeatures, Error> {
        let input = Tensor::from_shape(&[1, self.dims.n_mels, N_FRAMES], window)?;
        let cross = match self.graphs.audio.run_holding(tvec![input.into_tvalue()])? {
            Outputs::Here(outputs) => Cross::Here(
                outputs
                    .chunks(2)
                    .map(|kv| (kv[0].clone(), kv[1].clone()))
                    .collect(),
            ),
            #[cfg(feature = "wasi-nn")]
            Outputs::Held(held) => Cross::Held(held),
        };
        Ok(AudioFeatures { cross })
    }

    /// The decoder over this model's step graph.
    pub(crate) fn decoder(&self) -> Decoder<'_> {
        Decoder::new(&self.graphs.decoder, self.dims, self.tokenizer.special)
    }

    /// The language detector, or an error for English-only models.
    pub(crate) fn language_detector(&self) -> Result<LanguageDetector<'_>, Error> {
        if !self.is_multilingual() {
            return Err(Error::InvalidOption(
                "language detection needs a multilingual model".into(),
            ));
        }
        Ok(LanguageDetector::new(
            self.decoder(),
            &self.tokenizer,
            &self.config.lang_ids,
        ))
    }

    /// Language probabilities (code, probability), best first, of an encoded window.
    pub fn detect_language_features(
        &self,
        audio: &AudioFeatures,
    ) -> Result<Vec<(String, f32)>, Error> {
        self.language_detector()?.probabilities(audio)
    }
}

/// The checkpoint and graphs of a model whose graphs run on the host: found there by name when
/// an instance before this one loaded them (only the checkpoint's layout is read, not its
/// weights), else built here and sent.
#[cfg(feature = "wasi-nn")]
fn on_host(dir: &Path, compute_type: ComputeType) -> Result<(Checkpoint, Graphs), Error> {
    let name = vox_nn::graph_name(
        &format!("vox-whisper@{} {compute_type:?}", env!("CARGO_PKG_VERSION")),
        &[&dir.join("model.bin")],
    );
    let layout = Checkpoint::load_layout(dir)?;
    if let Some(graphs) = Graphs::find_on_host(&layout, &name) {
        return Ok((layout, graphs));
    }
    drop(layout);
    let ckpt = Checkpoint::load(dir)?;
    let graphs = Graphs::load_on_host(&ckpt, compute_type, &name)?;
    Ok((ckpt, graphs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_shareable_across_threads() {
        fn check<T: Send + Sync>() {}
        check::<Model>();
    }
}
