//! A loaded Piper voice: config, and the graph it runs — parsed here with its cached
//! per-bucket plans, or prepared by the host behind `wasi:nn`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use crate::config::VoiceConfig;
use crate::error::{PiperError, Result};
use crate::graph_fix;
use crate::params::SynthesisParams;
use crate::plan::{self, Buckets, Decoder, Optimisation, Plan, Request};

/// How a voice is prepared.
#[derive(Debug, Clone, Default)]
pub struct VoiceOptions {
    pub buckets: Buckets,
    pub optimisation: Optimisation,
    /// Build every bucket's plan while loading, so no request pays for it.
    pub warm_up: bool,
    /// Run the whole graph as one plan instead of splitting off the vocoder
    /// (slower; for comparison).
    pub single_plan: bool,
    /// Where the graph runs.
    pub inference: Inference,
}

/// Where a voice's graph runs (with `Inference::WasiNn`, the host prepares the same graph the
/// same way — buckets, vocoder split — with this crate, natively).
pub use vox_nn::Inference;

/// A Piper voice ready to synthesize. Plans are built on first use of a
/// bucket (or all at once by [`Voice::warm_up`]) and kept.
pub struct Voice {
    config: VoiceConfig,
    buckets: Buckets,
    engine: Engine,
}

enum Engine {
    Local(Box<Local>),
    #[cfg(feature = "wasi-nn")]
    WasiNn(vox_nn::client::Context),
}

/// The graph parsed here, and its plans.
struct Local {
    /// The graph up to the vocoder input, or all of it without a decoder.
    model: InferenceModel,
    decoder: Option<Decoder>,
    optimisation: Optimisation,
    plans: Vec<Mutex<Option<Arc<Plan>>>>,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| PiperError::Io {
        path: path.to_owned(),
        source,
    })
}

impl Voice {
    /// Loads `voice.onnx` and its `voice.onnx.json`.
    pub fn load(onnx_path: impl AsRef<Path>, options: VoiceOptions) -> Result<Self> {
        let onnx_path = onnx_path.as_ref();
        let config_path = VoiceConfig::path_for(onnx_path);
        let config = String::from_utf8(read(&config_path)?)
            .map_err(|e| PiperError::Config(format!("{}: {e}", config_path.display())))?;
        #[cfg(feature = "wasi-nn")]
        if options.inference == Inference::WasiNn {
            // An instance before this one may have had the host prepare the voice already:
            // then its model's bytes need not be read or sent at all.
            let name = vox_nn::graph_name(
                concat!("vox-piper@", env!("CARGO_PKG_VERSION")),
                &[onnx_path, &config_path],
            );
            let context = match vox_nn::client::load_by_name(&name) {
                Some(graph) => graph.context()?,
                None => load_remote(&read(onnx_path)?, &config, Some(&name))?,
            };
            return Self::with_engine(&config, options, Engine::WasiNn(context));
        }
        Self::from_bytes(&read(onnx_path)?, &config, options)
    }

    /// Builds a voice from the model bytes and the config's JSON text.
    pub fn from_bytes(onnx: &[u8], config_json: &str, options: VoiceOptions) -> Result<Self> {
        let engine = match options.inference {
            Inference::InProcess => Engine::Local(Box::new(Local::parse(onnx, &options)?)),
            #[cfg(feature = "wasi-nn")]
            Inference::WasiNn => Engine::WasiNn(load_remote(onnx, config_json, None)?),
            #[cfg(not(feature = "wasi-nn"))]
            Inference::WasiNn => return Err(Inference::not_built().into()),
        };
        Self::with_engine(config_json, options, engine)
    }

    fn with_engine(config_json: &str, options: VoiceOptions, engine: Engine) -> Result<Self> {
        let config = VoiceConfig::from_json(config_json)?;
        let voice = Self {
            config,
            buckets: options.buckets,
            engine,
        };
        if options.warm_up {
            voice.warm_up()?;
        }
        Ok(voice)
    }

    pub fn config(&self) -> &VoiceConfig {
        &self.config
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// Builds every bucket's plan now (behind `wasi:nn` the host did so when it loaded).
    pub fn warm_up(&self) -> Result<()> {
        match &self.engine {
            Engine::Local(local) => {
                (0..local.plans.len()).try_for_each(|ix| self.plan(local, ix).map(drop))
            }
            #[cfg(feature = "wasi-nn")]
            Engine::WasiNn(_) => Ok(()),
        }
    }

    /// Where this voice's graph runs.
    pub fn inference(&self) -> Inference {
        match &self.engine {
            Engine::Local(_) => Inference::InProcess,
            #[cfg(feature = "wasi-nn")]
            Engine::WasiNn(_) => Inference::WasiNn,
        }
    }

    /// The voice's inference defaults, Piper's 0.2 s sentence silence, default speaker.
    pub fn default_params(&self) -> SynthesisParams {
        SynthesisParams {
            noise_scale: self.config.noise_scale,
            length_scale: self.config.length_scale,
            noise_w: self.config.noise_w,
            speaker: None,
            sentence_silence: 0.2,
        }
    }

    /// A sentence's phoneme string as framed ids, exactly as Piper maps it.
    pub fn phoneme_ids(&self, phonemes: &str) -> Vec<i64> {
        self.config.phoneme_ids.encode(phonemes)
    }

    /// One model call on framed ids that fit a bucket.
    pub(crate) fn run(&self, ids: &[i64], params: &SynthesisParams) -> Result<Vec<f32>> {
        let speaker = self.config.speaker_id(params.speaker.as_ref())?;
        let scales = [params.noise_scale, params.length_scale, params.noise_w];
        self.infer(ids, scales, speaker)
    }

    /// The model itself on framed ids that fit a bucket: `scales` are noise, length and
    /// noise_w, as Piper's ONNX `scales` input; `speaker` its `sid`.
    pub fn infer(&self, ids: &[i64], scales: [f32; 3], speaker: Option<i64>) -> Result<Vec<f32>> {
        let bucket = self.buckets.select(ids.len()).ok_or(PiperError::TooLong {
            len: ids.len(),
            max: self.buckets.largest(),
        })?;
        match &self.engine {
            Engine::Local(local) => self.infer_local(local, bucket, ids, scales, speaker),
            #[cfg(feature = "wasi-nn")]
            Engine::WasiNn(context) => infer_remote(context, ids, scales, speaker),
        }
    }

    fn infer_local(
        &self,
        local: &Local,
        bucket: usize,
        ids: &[i64],
        scales: [f32; 3],
        speaker: Option<i64>,
    ) -> Result<Vec<f32>> {
        let output = self.plan(local, bucket)?.run(&Request {
            ids,
            scales,
            speaker,
        })?;
        match &local.decoder {
            Some(decoder) => decoder.run(output, speaker),
            None => plan::samples(&output),
        }
    }

    fn plan(&self, local: &Local, bucket: usize) -> Result<Arc<Plan>> {
        let mut slot = local.plans[bucket]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = slot.as_ref() {
            return Ok(plan.clone());
        }
        let size = self.buckets.sizes()[bucket];
        let plan = Arc::new(Plan::build(&local.model, size, local.optimisation)?);
        if plan.takes_speaker() != self.config.is_multi_speaker() {
            return Err(PiperError::Config(format!(
                "num_speakers is {} but the model {} a sid input",
                self.config.num_speakers,
                if plan.takes_speaker() {
                    "has"
                } else {
                    "has no"
                }
            )));
        }
        *slot = Some(plan.clone());
        Ok(plan)
    }
}

impl Local {
    /// Parses the model, fixes what tract needs fixed and splits off the vocoder.
    fn parse(onnx: &[u8], options: &VoiceOptions) -> Result<Self> {
        let onnx_framework = tract_onnx::onnx().with_ignore_value_info(true);
        let mut proto = onnx_framework.proto_model_for_read(&mut &onnx[..])?;
        graph_fix::clamp_int64_constants(&mut proto);
        let mut model = onnx_framework.model_for_proto_model(&proto)?;
        let cut = graph_fix::decoder_input(&proto).filter(|_| !options.single_plan);
        drop(proto);
        let decoder = match &cut {
            Some(cut) => {
                let decoder = Decoder::new(&model, cut)?;
                model.select_outputs_by_name([cut.as_str()])?;
                model = model.eliminate_dead_branches()?;
                Some(decoder)
            }
            None => None,
        };
        let plans = options
            .buckets
            .sizes()
            .iter()
            .map(|_| Mutex::new(None))
            .collect();
        Ok(Self {
            model,
            decoder,
            optimisation: options.optimisation,
            plans,
        })
    }
}

/// Hands the model and its config to the host, which prepares it as [`Local::parse`] does
/// (loaded there under `name`, when given).
#[cfg(feature = "wasi-nn")]
fn load_remote(
    onnx: &[u8],
    config_json: &str,
    name: Option<&str>,
) -> Result<vox_nn::client::Context> {
    let preparation = vox_nn::Preparation::Piper {
        config: config_json.to_string(),
    };
    let mut builders = vec![onnx.to_vec(), preparation.to_builder()];
    if let Some(name) = name {
        builders.push(name.as_bytes().to_vec());
    }
    let graph = vox_nn::client::load(&builders)?;
    Ok(graph.context()?)
}

/// One model call on the host: the ONNX model's own inputs and output.
#[cfg(feature = "wasi-nn")]
fn infer_remote(
    context: &vox_nn::client::Context,
    ids: &[i64],
    scales: [f32; 3],
    speaker: Option<i64>,
) -> Result<Vec<f32>> {
    use vox_nn::Tensor;
    let mut inputs = vec![
        ("input".to_string(), Tensor::i64(&[1, ids.len()], ids)),
        ("scales".to_string(), Tensor::f32(&[3], &scales)),
    ];
    if let Some(speaker) = speaker {
        inputs.push(("sid".to_string(), Tensor::i64(&[1], &[speaker])));
    }
    let mut outputs = context.compute(inputs)?;
    Ok(vox_nn::client::take(&mut outputs, "output")?.to_f32("output")?)
}
