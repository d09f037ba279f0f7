//! Graphs prepared on native tract, cached by the content hash of the builders they came from
//! (and by the names components gave them), and run on named tensors; the threads they run on
//! and the pool their matrix products share.

use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use tract_linalg::multithread::{Executor, multithread_tract_scope};
use tract_onnx::prelude::*;
use vox_nn::{Carry, Preparation};

use super::trim::Trimmer;

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
    /// The names graphs were loaded under (a third builder), per component: what
    /// `load-by-name` finds.
    names: Mutex<Vec<(Name, Key)>>,
    executor: Executor,
    workers: Workers,
    trimmer: Trimmer,
}

/// A graph's name within one component's namespace.
type Name = (String, String);

impl GraphCache {
    /// A cache whose graphs' matrix products use up to `threads` threads.
    pub fn new(threads: usize) -> Self {
        let executor = match threads {
            0 | 1 => Executor::SingleThread,
            n => Executor::multithread_with_name(n, "vox-matmul"),
        };
        Self {
            entries: Mutex::new(Vec::new()),
            names: Mutex::new(Vec::new()),
            executor,
            workers: Workers::new(threads.max(1)),
            trimmer: Trimmer::start(),
        }
    }

    /// The graph the builders describe: from the cache, or prepared now (once, however many
    /// instances ask at the same time). A third builder names it within `component`'s
    /// namespace, for [`GraphCache::named`].
    pub fn load(&self, component: &str, builders: &[&[u8]]) -> Result<Arc<Prepared>, String> {
        let (builders, name) = match builders {
            [onnx, preparation, name] => {
                let name = std::str::from_utf8(name)
                    .map_err(|_| "the graph's name (the third builder) is not UTF-8")?;
                (&[*onnx, *preparation][..], Some(name))
            }
            _ => (builders, None),
        };
        let key = content_hash(builders);
        let slot = self.slot(key);
        let prepared = slot
            .get_or_init(|| Prepared::new(builders).map(Arc::new))
            .clone()?;
        if let Some(name) = name {
            let name = (component.to_string(), name.to_string());
            let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
            names.retain(|(n, _)| *n != name);
            names.push((name, key));
        }
        Ok(prepared)
    }

    /// The prepared graphs `component` named, by name.
    pub fn named(&self, component: &str) -> Vec<(String, Arc<Prepared>)> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        names
            .iter()
            .filter(|((c, _), _)| c == component)
            .filter_map(|((_, name), key)| {
                let (_, slot) = entries.iter().find(|(k, _)| k == key)?;
                let prepared = slot.get()?.as_ref().ok()?;
                Some((name.clone(), prepared.clone()))
            })
            .collect()
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

    /// Runs `work` off the async runtime, on a thread of its own with a native-sized stack
    /// (tract's optimiser recurses deeply), its matrix products on the pool: for loading a
    /// graph, which borrows the component's bytes. A panic inside is an error.
    pub fn blocking<R: Send>(
        &self,
        work: impl FnOnce() -> Result<R, String> + Send,
    ) -> Result<R, String> {
        let executor = self.executor.clone();
        let _worked = Worked(&self.trimmer);
        off_the_runtime(move || {
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .name("vox-inference".into())
                    .stack_size(INFERENCE_STACK)
                    .spawn_scoped(scope, move || multithread_tract_scope(executor, work))
                    .map_err(|e| format!("cannot start an inference thread: {e}"))?
                    .join()
                    .unwrap_or_else(|_| Err("the graph panicked".into()))
            })
        })
    }

    /// Runs `work` off the async runtime on one of the inference threads, its matrix products
    /// on the pool: for computations, many per request. The threads live as long as the cache,
    /// so the allocator's per-thread arenas are not multiplied by every call's fresh thread;
    /// as many as the thread budget, so concurrent requests take turns. A panic is an error.
    pub fn compute<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<R, String> + Send + 'static,
    ) -> Result<R, String> {
        let executor = self.executor.clone();
        let _worked = Worked(&self.trimmer);
        off_the_runtime(|| {
            self.workers
                .run(move || multithread_tract_scope(executor, work))
        })
    }

    /// Graphs held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Tells the trimmer when a piece of work ends, however it ends.
struct Worked<'a>(&'a Trimmer);

impl Drop for Worked<'_> {
    fn drop(&mut self) {
        self.0.worked();
    }
}

/// `run` with the async runtime's worker handed over to others while it blocks.
fn off_the_runtime<R>(run: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(run)
        }
        _ => run(),
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Long-lived threads taking jobs in turn. Not a work-stealing pool: a thread waiting for its
/// matrix products must not pick up another graph's job, whose tract kernels would re-enter
/// the per-thread scratch space the first one holds.
struct Workers {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Workers {
    fn new(threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("vox-inference-{i}"))
                .stack_size(INFERENCE_STACK)
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = started {
                tracing::warn!(target: "vox::nn", "cannot start inference thread {i}: {e}");
            }
        }
        Self {
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `work` on a worker and waits for it.
    fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<R, String> + Send + 'static,
    ) -> Result<R, String> {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| Err("the graph panicked".into()));
            let _ = done.send(outcome);
        });
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| "no inference thread is running".to_string())?;
        result
            .recv()
            .unwrap_or_else(|_| Err("the inference thread ended".into()))
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

/// A plain ONNX graph, optimised, with its inputs' and outputs' names in order, the outputs
/// its execution contexts carry to their next computation, and those they hold for others.
pub struct OnnxGraph {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    carry: Vec<Carry>,
    hold: Vec<String>,
}

/// What one computation gives: the outputs returned to the component, the carried ones (by the
/// input they become) and the held ones, which stay on the host.
#[derive(Default)]
pub struct Computed {
    pub returned: Vec<(String, vox_nn::Tensor)>,
    pub carried: Vec<(String, TValue)>,
    pub held: Vec<(String, TValue)>,
}

impl Prepared {
    fn new(builders: &[&[u8]]) -> Result<Self, String> {
        let (onnx, rest) = builders
            .split_first()
            .ok_or("no graph builders: the first must be the ONNX model")?;
        if rest.len() > 1 {
            return Err(format!(
                "{} graph builders: the ONNX model, then at most a preparation and a name",
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
            Preparation::Onnx { carry, hold } => {
                OnnxGraph::new(onnx, carry, hold).map(Prepared::Onnx)
            }
        }
    }

    /// The name of input `index`, for wasi:nn's by-index calls.
    pub fn input_name(&self, index: usize) -> Option<String> {
        match self {
            Prepared::Piper(_) => ["input", "scales", "sid"].get(index).map(|s| s.to_string()),
            Prepared::Onnx(graph) => graph.inputs.get(index).cloned(),
        }
    }

    /// Runs the graph on the named `inputs`; those its outputs are carried to are moved out
    /// of them (see [`OnnxGraph::run`]).
    pub fn compute(&self, inputs: &mut [(String, TValue)]) -> Result<Computed, String> {
        match self {
            Prepared::Piper(voice) => Ok(Computed {
                returned: piper(voice, inputs)?,
                ..Computed::default()
            }),
            Prepared::Onnx(graph) => graph.run(inputs),
        }
    }
}

fn input<'a>(inputs: &'a [(String, TValue)], name: &str) -> Option<&'a TValue> {
    inputs.iter().find(|(n, _)| n == name).map(|(_, t)| t)
}

/// The values of input `name`, of type `D`.
fn values<'a, D: Datum>(inputs: &'a [(String, TValue)], name: &str) -> Result<&'a [D], String> {
    let value =
        input(inputs, name).ok_or_else(|| format!("the voice's input `{name}` is missing"))?;
    value
        .try_as_plain_ram()
        .and_then(|v| v.as_slice::<D>())
        .map_err(|e| format!("tensor {name}: {e:#}"))
}

/// A Piper voice called as its ONNX model is: ids, scales, speaker in; samples out.
fn piper(
    voice: &vox_piper::Voice,
    inputs: &[(String, TValue)],
) -> Result<Vec<(String, vox_nn::Tensor)>, String> {
    let ids = values::<i64>(inputs, "input")?;
    let scales: [f32; 3] = values::<f32>(inputs, "scales")?
        .try_into()
        .map_err(|_| "`scales` must hold 3 values")?;
    let speaker = match input(inputs, "sid") {
        Some(_) => values::<i64>(inputs, "sid")?.first().copied(),
        None => None,
    };
    let samples = voice
        .infer(ids, scales, speaker)
        .map_err(|e| e.to_string())?;
    let output = vox_nn::Tensor::f32(&[1, 1, samples.len()], &samples);
    Ok(vec![("output".to_string(), output)])
}

impl OnnxGraph {
    /// Parsed with vox-whisper's custom ops known (its graphs use them), then optimised; each
    /// carry must name one of its outputs and one of its inputs, each held value an output.
    fn new(onnx: &[u8], carry: Vec<Carry>, hold: Vec<String>) -> Result<Self, String> {
        let err = |e: TractError| format!("{e:#}");
        let model = vox_whisper::ops::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(err)?;
        let names = |outlets: &[OutletId]| -> Vec<String> {
            outlets
                .iter()
                .map(|o| model.node(o.node).name.clone())
                .collect()
        };
        let inputs = names(model.input_outlets().map_err(err)?);
        let outputs: Vec<String> = model
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
        for Carry { output, input } in &carry {
            if !outputs.contains(output) || !inputs.contains(input) {
                return Err(format!(
                    "carry `{output}` → `{input}`: the graph has no such output or input"
                ));
            }
        }
        if let Some(missing) = hold.iter().find(|name| !outputs.contains(name)) {
            return Err(format!("hold `{missing}`: the graph has no such output"));
        }
        let plan = model
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self {
            plan,
            inputs,
            outputs,
            carry,
            hold,
        })
    }

    /// Runs on the inputs `given` by name. A carried input is moved into the graph, an empty
    /// tensor left in its place until the output carried to it replaces it: the op extending
    /// the decoder's cache does so in place only as the value's one holder (vox-whisper's
    /// `self_attention`); a clone left here would make it copy the whole cache every step.
    fn run(&self, given: &mut [(String, TValue)]) -> Result<Computed, String> {
        let values = self
            .inputs
            .iter()
            .map(|name| {
                let (_, value) = given
                    .iter_mut()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| format!("the graph's input `{name}` is missing"))?;
                Ok(if self.carry.iter().any(|c| c.input == *name) {
                    std::mem::replace(value, tensor0(0f32).into_tvalue())
                } else {
                    value.clone()
                })
            })
            .collect::<Result<TVec<TValue>, String>>()?;
        let outputs = self.plan.run(values).map_err(|e| format!("{e:#}"))?;
        let mut computed = Computed::default();
        for (name, value) in self.outputs.iter().zip(outputs) {
            match self.carry.iter().find(|c| c.output == *name) {
                Some(carry) => computed.carried.push((carry.input.clone(), value)),
                None if self.hold.contains(name) => computed.held.push((name.clone(), value)),
                None => {
                    let tensor =
                        vox_nn::Tensor::from_tract(name, &value).map_err(|e| e.to_string())?;
                    computed.returned.push((name.clone(), tensor));
                }
            }
        }
        Ok(computed)
    }
}
