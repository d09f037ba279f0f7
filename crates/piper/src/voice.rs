//! A loaded Piper voice: config, parsed graph, and its cached per-bucket plans.

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
}

/// A Piper voice ready to synthesize. Plans are built on first use of a
/// bucket (or all at once by [`Voice::warm_up`]) and kept.
pub struct Voice {
    config: VoiceConfig,
    /// The graph up to the vocoder input, or all of it without a decoder.
    model: InferenceModel,
    decoder: Option<Decoder>,
    buckets: Buckets,
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
        Self::from_bytes(&read(onnx_path)?, &config, options)
    }

    /// Builds a voice from the model bytes and the config's JSON text.
    pub fn from_bytes(onnx: &[u8], config_json: &str, options: VoiceOptions) -> Result<Self> {
        let config = VoiceConfig::from_json(config_json)?;
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
        let voice = Self {
            config,
            model,
            decoder,
            buckets: options.buckets,
            optimisation: options.optimisation,
            plans,
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

    /// Builds every bucket's plan now.
    pub fn warm_up(&self) -> Result<()> {
        (0..self.plans.len()).try_for_each(|ix| self.plan(ix).map(drop))
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
        let bucket = self.buckets.select(ids.len()).ok_or(PiperError::TooLong {
            len: ids.len(),
            max: self.buckets.largest(),
        })?;
        let speaker = self.config.speaker_id(params.speaker.as_ref())?;
        let scales = [params.noise_scale, params.length_scale, params.noise_w];
        let output = self.plan(bucket)?.run(&Request {
            ids,
            scales,
            speaker,
        })?;
        match &self.decoder {
            Some(decoder) => decoder.run(output, speaker),
            None => plan::samples(&output),
        }
    }

    fn plan(&self, bucket: usize) -> Result<Arc<Plan>> {
        let mut slot = self.plans[bucket].lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = slot.as_ref() {
            return Ok(plan.clone());
        }
        let size = self.buckets.sizes()[bucket];
        let plan = Arc::new(Plan::build(&self.model, size, self.optimisation)?);
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
