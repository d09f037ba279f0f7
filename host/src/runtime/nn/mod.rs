//! `wasi:nn` for the components `vox up` runs: a wasmtime-wasi-nn backend of Vox's own that
//! loads graphs from the bytes a component passes, prepares them once on native tract (AVX2/FMA
//! kernels, matrix products over a shared thread pool) and shares them across instances.
//!
//! wasmtime-wasi-nn's bindings call [`BackendInner::load`] and [`BackendExecutionContext`]
//! synchronously from the guest's call; the work here moves off the async runtime's worker
//! (`block_in_place`): a load onto a thread of its own with a native-sized stack, a computation
//! onto one of the cache's long-lived inference threads. A graph loaded under a name is found
//! again by the component's later instances (`load-by-name`, from [`Named`]); an execution
//! context remembers its inputs between computations, and what one context holds (vox-nn's
//! `hold`) another context of the same store takes by its key ([`Holds`]). A failure — bytes
//! that do not parse, tensors of the wrong shape, a panic inside tract — is an error returned to
//! the component and logged once here, never a host crash. Once inference goes quiet, the heap's freed pages go
//! back to the system (`trim`).

mod graphs;
mod trim;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tract_onnx::prelude::{IntoTValue, TValue};
use wasmtime_wasi_nn::backend::{
    BackendError, BackendExecutionContext, BackendFromDir, BackendGraph, BackendInner, Id,
    NamedTensor,
};
use wasmtime_wasi_nn::wit::{ExecutionTarget, GraphEncoding, TensorType, WasiNnCtx};
use wasmtime_wasi_nn::{Backend, ExecutionContext, Graph, GraphRegistry, Tensor};

use self::graphs::Prepared;
pub use self::graphs::{Computed, GraphCache, MAX_CACHED_GRAPHS};

/// One store's `wasi:nn`, for an instance of `component`: the shared cache behind a backend
/// for the ONNX encoding, and the graphs the component named, for `load-by-name`.
pub fn context(cache: &Arc<GraphCache>, component: &str) -> WasiNnCtx {
    let holds = Arc::new(Holds::default());
    let backend = TractBackend {
        cache: cache.clone(),
        component: component.to_string(),
        holds: holds.clone(),
    };
    let named = cache
        .named(component)
        .into_iter()
        .map(|(name, prepared)| {
            let graph: Box<dyn BackendGraph> = Box::new(LoadedGraph {
                prepared,
                cache: cache.clone(),
                holds: holds.clone(),
            });
            (name, Graph::from(graph))
        })
        .collect();
    WasiNnCtx::new([Backend::from(backend)], Named(named).into())
}

struct TractBackend {
    cache: Arc<GraphCache>,
    component: String,
    holds: Arc<Holds>,
}

/// Values one computation held (vox-nn's `hold`), by name.
type Values = Vec<(String, TValue)>;

/// The values held by one store's contexts, by key: weakly, so they live as long as the context
/// that held them or a context that took them, and no other store can name them.
#[derive(Default)]
struct Holds(Mutex<Keyed>);

/// The last key given, and the values under each key.
#[derive(Default)]
struct Keyed {
    last: i64,
    values: Vec<(i64, Weak<Values>)>,
}

impl Holds {
    /// `values` under a new key.
    fn insert(&self, values: &Arc<Values>) -> i64 {
        let mut keyed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        keyed.last += 1;
        let key = keyed.last;
        keyed.values.retain(|(_, v)| v.strong_count() > 0);
        keyed.values.push((key, Arc::downgrade(values)));
        key
    }

    /// The values under `key`, while something holds them.
    fn get(&self, key: i64) -> Option<Arc<Values>> {
        let keyed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        keyed.values.iter().find(|(k, _)| *k == key)?.1.upgrade()
    }
}

/// The graphs a component named, as they were when its instance started (a name registered
/// later is found by the instances after it).
struct Named(HashMap<String, Graph>);

impl GraphRegistry for Named {
    fn get(&self, name: &str) -> Option<&Graph> {
        self.0.get(name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Graph> {
        self.0.get_mut(name)
    }
}

/// A failure reported to the component; the detail goes to the host's log (wasmtime-wasi-nn
/// hands the guest only the error's kind).
fn fail(what: &str, message: String) -> BackendError {
    tracing::warn!(target: "vox::nn", "wasi:nn {what} failed: {message}");
    BackendError::BackendAccess(wasmtime::Error::msg(format!("{what}: {message}")))
}

impl BackendInner for TractBackend {
    fn encoding(&self) -> GraphEncoding {
        GraphEncoding::Onnx
    }

    fn load(
        &mut self,
        builders: &[&[u8]],
        _target: ExecutionTarget,
    ) -> Result<Graph, BackendError> {
        let (cache, component) = (self.cache.clone(), self.component.as_str());
        let prepared = cache
            .blocking(|| cache.load(component, builders))
            .map_err(|e| fail("load", e))?;
        let graph: Box<dyn BackendGraph> = Box::new(LoadedGraph {
            prepared,
            cache: self.cache.clone(),
            holds: self.holds.clone(),
        });
        Ok(graph.into())
    }

    fn as_dir_loadable(&mut self) -> Option<&mut dyn BackendFromDir> {
        None
    }
}

struct LoadedGraph {
    prepared: Arc<Prepared>,
    cache: Arc<GraphCache>,
    holds: Arc<Holds>,
}

impl BackendGraph for LoadedGraph {
    fn init_execution_context(&self) -> Result<ExecutionContext, BackendError> {
        let context: Box<dyn BackendExecutionContext> = Box::new(Context {
            prepared: self.prepared.clone(),
            cache: self.cache.clone(),
            holds: self.holds.clone(),
            remembered: Vec::new(),
            held: None,
            taken: None,
            outputs: Vec::new(),
        });
        Ok(context.into())
    }
}

/// One execution context: the last value given for each input, which a computation that leaves
/// the input out runs on (vox-nn's protocol: a decoder session sends its window's cross-attention
/// inputs once), the graph's carried outputs stored as those inputs (its self-attention cache
/// stays here between token steps), the values its last computation held for other contexts
/// and those it took from another (an encoder's window, for a decoder's steps), and the last
/// computation's returned outputs (for the by-index calls).
struct Context {
    prepared: Arc<Prepared>,
    cache: Arc<GraphCache>,
    holds: Arc<Holds>,
    remembered: Values,
    held: Option<Arc<Values>>,
    taken: Option<Arc<Values>>,
    outputs: Vec<(String, vox_nn::Tensor)>,
}

impl Context {
    fn remember(&mut self, name: String, tensor: Tensor, call: &str) -> Result<(), BackendError> {
        let tensor = from_wasi(tensor).map_err(|e| fail(call, e))?;
        if name == vox_nn::HELD {
            let key = match tensor.to_i64(&name).as_deref() {
                Ok([key]) => *key,
                _ => return Err(fail(call, format!("`{name}` must be one i64 key"))),
            };
            let values = self
                .holds
                .get(key)
                .ok_or_else(|| fail(call, format!("no values are held under key {key}")))?;
            self.taken = Some(values);
            return Ok(());
        }
        let value = tensor
            .to_tract(&name)
            .map_err(|e| fail(call, e.to_string()))?;
        self.keep(name, value.into_tvalue());
        Ok(())
    }

    fn keep(&mut self, name: String, value: TValue) {
        match self.remembered.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = value,
            None => self.remembered.push((name, value)),
        }
    }

    /// Runs the graph on the remembered inputs, the taken values standing in for those never
    /// given; keeps what it carries and holds, returns the rest (a [`vox_nn::HELD`] key for
    /// the held values).
    fn run(&mut self) -> Result<Vec<(String, vox_nn::Tensor)>, BackendError> {
        // Moved into the job and back, not copied: a carried value (the decoder's cache) must
        // be held only once when the next step's graph extends it.
        let (prepared, mut inputs) = (self.prepared.clone(), std::mem::take(&mut self.remembered));
        let given = inputs.len();
        for (name, value) in self.taken.iter().flat_map(|taken| taken.iter()) {
            if !inputs[..given].iter().any(|(n, _)| n == name) {
                inputs.push((name.clone(), value.clone()));
            }
        }
        let (mut inputs, computed) = self
            .cache
            .compute(move || {
                let computed = prepared.compute(&mut inputs);
                Ok((inputs, computed))
            })
            .map_err(|e| fail("compute", e))?;
        inputs.truncate(given);
        self.remembered = inputs;
        let Computed {
            mut returned,
            carried,
            held,
        } = computed.map_err(|e| fail("compute", e))?;
        for (input, value) in carried {
            self.keep(input, value);
        }
        if !held.is_empty() {
            let held = Arc::new(held);
            let key = self.holds.insert(&held);
            self.held = Some(held);
            returned.push((vox_nn::HELD.into(), vox_nn::Tensor::i64(&[1], &[key])));
        }
        Ok(returned)
    }
}

impl BackendExecutionContext for Context {
    fn set_input(&mut self, id: Id, tensor: &Tensor) -> Result<(), BackendError> {
        let name = match id {
            Id::Name(name) => name,
            Id::Index(ix) => self
                .prepared
                .input_name(ix as usize)
                .ok_or_else(|| fail("set-input", format!("the graph has no input {ix}")))?,
        };
        self.remember(name, tensor.clone(), "set-input")
    }

    fn get_output(&mut self, id: Id) -> Result<Tensor, BackendError> {
        let found = match &id {
            Id::Name(name) => self.outputs.iter().find(|(n, _)| n == name),
            Id::Index(ix) => self.outputs.get(*ix as usize),
        };
        found
            .map(|(_, t)| to_wasi(t.clone()))
            .ok_or_else(|| fail("get-output", format!("no output {id:?}")))
    }

    fn compute(
        &mut self,
        inputs: Option<Vec<NamedTensor>>,
    ) -> Result<Option<Vec<NamedTensor>>, BackendError> {
        match inputs {
            Some(inputs) => {
                for input in inputs {
                    self.remember(input.name, input.tensor, "compute")?;
                }
                let outputs = self.run()?;
                Ok(Some(
                    outputs
                        .into_iter()
                        .map(|(name, t)| NamedTensor {
                            name,
                            tensor: to_wasi(t),
                        })
                        .collect(),
                ))
            }
            None => {
                self.outputs = self.run()?;
                Ok(None)
            }
        }
    }
}

fn from_wasi(t: Tensor) -> Result<vox_nn::Tensor, String> {
    let element = match t.ty {
        TensorType::Fp32 => vox_nn::Element::F32,
        TensorType::I64 => vox_nn::Element::I64,
        other => {
            return Err(format!(
                "unsupported tensor type {other:?} (fp32 and i64 are)"
            ));
        }
    };
    Ok(vox_nn::Tensor {
        dims: t.dimensions,
        element,
        data: t.data,
    })
}

fn to_wasi(t: vox_nn::Tensor) -> Tensor {
    let ty = match t.element {
        vox_nn::Element::F32 => TensorType::Fp32,
        vox_nn::Element::I64 => TensorType::I64,
    };
    Tensor::new(t.dims, ty, t.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_values_live_as_long_as_a_holder() {
        let holds = Holds::default();
        let value = tract_onnx::prelude::tensor1(&[1f32]).into_tvalue();
        let held = Arc::new(vec![("y".to_string(), value)]);
        let key = holds.insert(&held);
        let taken = holds.get(key).expect("held");
        assert_eq!(taken[0].0, "y");
        assert!(holds.get(key + 1).is_none());
        drop(held);
        assert!(holds.get(key).is_some(), "the taker still holds them");
        drop(taken);
        assert!(holds.get(key).is_none());
        let next = Arc::new(Vec::new());
        assert_ne!(holds.insert(&next), key, "keys are not reused");
    }
}
