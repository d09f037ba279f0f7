//! Graphs prepared on native tract, cached by the content hash of the builders they came from,
//! and run on named tensors; the thread pool their matrix products share.

use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use tract_linalg::multithread::{Executor, multithread_tract_scope};
use tract_onnx::prelude::*;
use vox_nn::Preparation;

/// Prepared graphs kept at once. A component loads one per model or voice; past this the one
/// used longest ago and held by no instance is dropped.
pub const MAX_CACHED_GRAPHS: usize = 16;

/// Stack for the threads graphs are prepared and run on (tract's optimiser recurses).
const INFERENCE_STACK: usize = 64 << 20;

type Key = [u8; 32];
type Slot = Arc<OnceLock<Result<Arc<Prepared>, String>>>;

/// Prepared graphs by content hash, shared by every store, and the pool running them.
pub struct GraphCache {
    entries: Mutex<Vec<(Key, Slot)>>,
    executor: Executor,
}

impl GraphCache {
    /// A cache whose graphs' matrix products use up to `threads` threads.
    pub fn new(threads: usize) -> Self {
        let executor = match threads {
            0 | 1 => Executor::SingleThread,
            n => Executor::multithread_with_name(n, "vox-inference"),
        };
        Self {
            entries: Mutex::new(Vec::new()),
            executor,
        }
    }

    /// The graph the builders describe: from the cache, or prepared now (once, however many
    /// instances ask at the same time).
    pub fn load(&self, builders: &[&[u8]]) -> Result<Arc<Prepared>, String> {
        let key = content_hash(builders);
        let slot = self.slot(key);
        let prepared = slot.get_or_init(|| Prepared::new(builders).map(Arc::new));
        prepared.clone()
    }

    /// The entry for `key`, moved to the back (most recently used); room is made by dropping
    /// the oldest entry no instance holds.
    fn slot(&self, key: Key) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match entries.iter().position(|(k, _)| *k == key) {
            Some(at) => entries.remove(at).1,
            None => Arc::default(),
        };
        if entries.len() >= MAX_CACHED_GRAPHS
            && let Some(idle) = entries.iter().position(|(_, slot)| {
                Arc::strong_count(slot) == 1
                    && slot
                        .get()
                        .is_none_or(|p| p.as_ref().map_or(true, |p| Arc::strong_count(p) == 1))
            })
        {
            entries.remove(idle);
        }
        entries.push((key, slot.clone()));
        slot
    }

    /// Runs `work` off the async runtime: on a thread of its own, its matrix products on the
    /// pool. A panic inside is an error.
    pub fn blocking<R: Send>(
        &self,
        work: impl FnOnce() -> Result<R, String> + Send,
    ) -> Result<R, String> {
        let executor = self.executor.clone();
        let run = move || {
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .name("vox-inference".into())
                    .stack_size(INFERENCE_STACK)
                    .spawn_scoped(scope, move || multithread_tract_scope(executor, work))
                    .map_err(|e| format!("cannot start an inference thread: {e}"))?
                    .join()
                    .unwrap_or_else(|_| Err("the graph panicked".into()))
            })
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        }
    }

    /// Graphs held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn content_hash(builders: &[&[u8]]) -> Key {
    let mut hash = Sha256::new();
    for builder in builders {
        hash.update((builder.len() as u64).to_le_bytes());
        hash.update(builder);
    }
    hash.finalize().into()
}

/// A graph ready to run.
pub enum Prepared {
    /// A Piper voice, prepared by vox-piper as the component would (buckets, vocoder split).
    Piper(Box<vox_piper::Voice>),
    Onnx(OnnxGraph),
}

/// A plain ONNX graph, optimised, with its inputs' and outputs' names in order.
pub struct OnnxGraph {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl Prepared {
    fn new(builders: &[&[u8]]) -> Result<Self, String> {
        let (onnx, rest) = builders
            .split_first()
            .ok_or("no graph builders: the first must be the ONNX model")?;
        if rest.len() > 1 {
            return Err(format!(
                "{} graph builders: the ONNX model and at most a preparation",
                builders.len()
            ));
        }
        match Preparation::from_builder(rest.first().copied()).map_err(|e| e.to_string())? {
            Preparation::Piper { config } => {
                let options = vox_piper::VoiceOptions {
                    warm_up: true,
                    ..vox_piper::VoiceOptions::default()
                };
                vox_piper::Voice::from_bytes(onnx, &config, options)
                    .map(|voice| Prepared::Piper(Box::new(voice)))
                    .map_err(|e| e.to_string())
            }
            Preparation::Onnx => OnnxGraph::new(onnx).map(Prepared::Onnx),
        }
    }

    /// The name of input `index`, for wasi:nn's by-index calls.
    pub fn input_name(&self, index: usize) -> Option<String> {
        match self {
            Prepared::Piper(_) => ["input", "scales", "sid"].get(index).map(|s| s.to_string()),
            Prepared::Onnx(graph) => graph.inputs.get(index).cloned(),
        }
    }

    pub fn compute(
        &self,
        inputs: Vec<(String, vox_nn::Tensor)>,
    ) -> Result<Vec<(String, vox_nn::Tensor)>, String> {
        match self {
            Prepared::Piper(voice) => piper(voice, inputs),
            Prepared::Onnx(graph) => graph.run(inputs),
        }
    }
}

fn input<'a>(inputs: &'a [(String, vox_nn::Tensor)], name: &str) -> Option<&'a vox_nn::Tensor> {
    inputs.iter().find(|(n, _)| n == name).map(|(_, t)| t)
}

/// A Piper voice called as its ONNX model is: ids, scales, speaker in; samples out.
fn piper(
    voice: &vox_piper::Voice,
    inputs: Vec<(String, vox_nn::Tensor)>,
) -> Result<Vec<(String, vox_nn::Tensor)>, String> {
    let ids = input(&inputs, "input")
        .ok_or("the voice's input `input` is missing")?
        .to_i64("input")
        .map_err(|e| e.to_string())?;
    let scales: [f32; 3] = input(&inputs, "scales")
        .ok_or("the voice's input `scales` is missing")?
        .to_f32("scales")
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "`scales` must hold 3 values")?;
    let speaker = match input(&inputs, "sid") {
        Some(t) => t.to_i64("sid").map_err(|e| e.to_string())?.first().copied(),
        None => None,
    };
    let samples = voice
        .infer(&ids, scales, speaker)
        .map_err(|e| e.to_string())?;
    let output = vox_nn::Tensor::f32(&[1, 1, samples.len()], &samples);
    Ok(vec![("output".to_string(), output)])
}

impl OnnxGraph {
    /// Parsed with vox-whisper's custom ops known (its graphs use them), then optimised.
    fn new(onnx: &[u8]) -> Result<Self, String> {
        let err = |e: TractError| format!("{e:#}");
        let model = vox_whisper::quant::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(err)?;
        let names = |outlets: &[OutletId]| -> Vec<String> {
            outlets
                .iter()
                .map(|o| model.node(o.node).name.clone())
                .collect()
        };
        let inputs = names(model.input_outlets().map_err(err)?);
        let outputs = model
            .output_outlets()
            .map_err(err)?
            .iter()
            .map(|o| {
                model
                    .outlet_label(*o)
                    .map(str::to_string)
                    .unwrap_or_else(|| model.node(o.node).name.clone())
            })
            .collect();
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self {
            plan,
            inputs,
            outputs,
        })
    }

    fn run(
        &self,
        mut given: Vec<(String, vox_nn::Tensor)>,
    ) -> Result<Vec<(String, vox_nn::Tensor)>, String> {
        let mut values: TVec<TValue> = tvec![];
        for name in &self.inputs {
            let at = given
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| format!("the graph's input `{name}` is missing"))?;
            let (_, tensor) = given.swap_remove(at);
            values.push(to_tract(name, &tensor)?.into_tvalue());
        }
        let outputs = self.plan.run(values).map_err(|e| format!("{e:#}"))?;
        self.outputs
            .iter()
            .zip(outputs)
            .map(|(name, value)| Ok((name.clone(), from_tract(name, &value)?)))
            .collect()
    }
}

fn to_tract(name: &str, t: &vox_nn::Tensor) -> Result<Tensor, String> {
    let shape = t.shape();
    let tensor = match t.element {
        vox_nn::Element::F32 => {
            Tensor::from_shape(&shape, &t.to_f32(name).map_err(|e| e.to_string())?)
        }
        vox_nn::Element::I64 => {
            Tensor::from_shape(&shape, &t.to_i64(name).map_err(|e| e.to_string())?)
        }
    };
    tensor.map_err(|e| format!("tensor {name}: {e:#}"))
}

fn from_tract(name: &str, t: &Tensor) -> Result<vox_nn::Tensor, String> {
    let err = |e: TractError| format!("output {name}: {e:#}");
    let shape = t.shape();
    match t.datum_type() {
        DatumType::F32 => Ok(vox_nn::Tensor::f32(
            shape,
            t.try_as_plain_ram()
                .and_then(|t| t.as_slice::<f32>())
                .map_err(err)?,
        )),
        DatumType::I64 => Ok(vox_nn::Tensor::i64(
            shape,
            t.try_as_plain_ram()
                .and_then(|t| t.as_slice::<i64>())
                .map_err(err)?,
        )),
        other => {
            let cast = t
                .cast_to::<f32>()
                .map_err(|e| format!("output {name} ({other:?}): {e:#}"))?;
            Ok(vox_nn::Tensor::f32(
                shape,
                cast.try_as_plain_ram()
                    .and_then(|t| t.as_slice::<f32>())
                    .map_err(err)?,
            ))
        }
    }
}
