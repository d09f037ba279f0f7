//! `wasi:nn` for the components `vox up` runs: a wasmtime-wasi-nn backend of Vox's own that
//! loads graphs from the bytes a component passes, prepares them once on native tract (AVX2/FMA
//! kernels, matrix products over a shared thread pool) and shares them across instances.
//!
//! wasmtime-wasi-nn's bindings call [`BackendInner::load`] and [`BackendExecutionContext`]
//! synchronously from the guest's call; the work here moves off the async runtime's worker
//! (`block_in_place`) onto a thread of its own with a native-sized stack. A failure — bytes that
//! do not parse, tensors of the wrong shape, a panic inside tract — is an error returned to the
//! component and logged once here, never a host crash.

mod graphs;

use std::sync::Arc;

use wasmtime_wasi_nn::backend::{
    BackendError, BackendExecutionContext, BackendFromDir, BackendGraph, BackendInner, Id,
    NamedTensor,
};
use wasmtime_wasi_nn::wit::{ExecutionTarget, GraphEncoding, TensorType, WasiNnCtx};
use wasmtime_wasi_nn::{Backend, ExecutionContext, Graph, InMemoryRegistry, Tensor};

use self::graphs::Prepared;
pub use self::graphs::{GraphCache, MAX_CACHED_GRAPHS};

/// One store's `wasi:nn`: the shared cache behind a backend for the ONNX encoding.
pub fn context(cache: &Arc<GraphCache>) -> WasiNnCtx {
    let backend = TractBackend {
        cache: cache.clone(),
    };
    WasiNnCtx::new([Backend::from(backend)], InMemoryRegistry::new().into())
}

struct TractBackend {
    cache: Arc<GraphCache>,
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
        let cache = self.cache.clone();
        let prepared = cache
            .blocking(|| cache.load(builders))
            .map_err(|e| fail("load", e))?;
        let graph: Box<dyn BackendGraph> = Box::new(LoadedGraph {
            prepared,
            cache: self.cache.clone(),
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
}

impl BackendGraph for LoadedGraph {
    fn init_execution_context(&self) -> Result<ExecutionContext, BackendError> {
        let context: Box<dyn BackendExecutionContext> = Box::new(Context {
            prepared: self.prepared.clone(),
            cache: self.cache.clone(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        });
        Ok(context.into())
    }
}

/// One execution context: its inputs (for the older set-input/get-output calls) and the last
/// computation's outputs.
struct Context {
    prepared: Arc<Prepared>,
    cache: Arc<GraphCache>,
    inputs: Vec<(String, vox_nn::Tensor)>,
    outputs: Vec<(String, vox_nn::Tensor)>,
}

impl Context {
    fn run(
        &self,
        inputs: Vec<(String, vox_nn::Tensor)>,
    ) -> Result<Vec<(String, vox_nn::Tensor)>, BackendError> {
        let prepared = &self.prepared;
        self.cache
            .blocking(|| prepared.compute(inputs))
            .map_err(|e| fail("compute", e))
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
        let tensor = from_wasi(tensor.clone()).map_err(|e| fail("set-input", e))?;
        self.inputs.retain(|(n, _)| *n != name);
        self.inputs.push((name, tensor));
        Ok(())
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
                let inputs = inputs
                    .into_iter()
                    .map(|t| Ok((t.name, from_wasi(t.tensor)?)))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|e| fail("compute", e))?;
                let outputs = self.run(inputs)?;
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
                let inputs = std::mem::take(&mut self.inputs);
                self.outputs = self.run(inputs)?;
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
