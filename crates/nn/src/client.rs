//! The guest's side of `wasi:nn` (wasm32 components built for `vox up`): load a graph from its
//! builders, open an execution context, run it on named tensors.

mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "ml" });
}

use bindings::wasi::nn::{errors, graph, inference, tensor};

use crate::{Element, NnError, Tensor, TensorView};

/// A graph the host has loaded (and prepared, or found prepared in its cache).
pub struct Graph(graph::Graph);

/// Loads a graph from its builders: the ONNX bytes, then a [`crate::Preparation`]'s, then
/// optionally the name [`load_by_name`] finds it by afterwards (see [`crate::graph_name`]).
pub fn load(builders: &[Vec<u8>]) -> Result<Graph, NnError> {
    graph::load(
        builders,
        graph::GraphEncoding::Onnx,
        graph::ExecutionTarget::Cpu,
    )
    .map(Graph)
    .map_err(error)
}

/// A graph some instance loaded under `name` before, already prepared on the host; `None`
/// when the host has none by that name (the caller then loads it from its builders).
pub fn load_by_name(name: &str) -> Option<Graph> {
    graph::load_by_name(name).ok().map(Graph)
}

impl Graph {
    /// A context to run the graph in; the host keeps the last value of each input between its
    /// computations (see the crate's docs).
    pub fn context(&self) -> Result<Context, NnError> {
        self.0.init_execution_context().map(Context).map_err(error)
    }
}

/// One execution context of a loaded graph.
pub struct Context(inference::GraphExecutionContext);

impl Context {
    /// Runs the graph on `inputs`; the outputs come back by name.
    pub fn compute(&self, inputs: Vec<(String, Tensor)>) -> Result<Vec<(String, Tensor)>, NnError> {
        self.compute_views(inputs.iter().map(|(name, t)| (name.as_str(), t.view())))?
            .into_iter()
            .map(|(name, output)| {
                let tensor = output.read(&name)?;
                Ok((name, tensor))
            })
            .collect()
    }

    /// Runs the graph on borrowed `inputs` (the host copies each one's bytes straight out of
    /// this component's memory); the outputs stay with the host until each is read.
    pub fn compute_views<'a>(
        &self,
        inputs: impl IntoIterator<Item = (&'a str, TensorView<'a>)>,
    ) -> Result<Vec<(String, Output)>, NnError> {
        let inputs = inputs
            .into_iter()
            .map(|(name, t)| {
                let ty = match t.element {
                    Element::F32 => tensor::TensorType::Fp32,
                    Element::I64 => tensor::TensorType::I64,
                };
                (name.to_string(), tensor::Tensor::new(&t.dims, ty, t.data))
            })
            .collect();
        let outputs = self.0.compute(inputs).map_err(error)?;
        Ok(outputs
            .into_iter()
            .map(|(name, t)| (name, Output(t)))
            .collect())
    }
}

/// A computation's output, held by the host until [`Output::read`] copies it here: reading
/// outputs one at a time, each converted before the next is read, keeps one copy of them in
/// the component at a time (a window's cross-attention keys and values are 18 MB for tiny.en).
pub struct Output(tensor::Tensor);

impl Output {
    /// The output's value, `name` naming it in errors.
    pub fn read(&self, name: &str) -> Result<Tensor, NnError> {
        let element = match self.0.ty() {
            tensor::TensorType::Fp32 => Element::F32,
            tensor::TensorType::I64 => Element::I64,
            other => {
                return Err(NnError::Tensor {
                    name: name.to_string(),
                    message: format!("unexpected element type {other:?}"),
                });
            }
        };
        Ok(Tensor {
            dims: self.0.dimensions(),
            element,
            data: self.0.data(),
        })
    }
}

/// Takes the output `name` out of a computation's outputs.
pub fn take<T>(outputs: &mut Vec<(String, T)>, name: &str) -> Result<T, NnError> {
    let at = outputs
        .iter()
        .position(|(n, _)| n == name)
        .ok_or_else(|| NnError::Tensor {
            name: name.to_string(),
            message: "missing from the graph's outputs".into(),
        })?;
    Ok(outputs.swap_remove(at).1)
}

fn error(e: errors::Error) -> NnError {
    let message = e.data();
    match e.code() {
        errors::ErrorCode::InvalidArgument | errors::ErrorCode::TooLarge => {
            NnError::InvalidArgument(message)
        }
        errors::ErrorCode::InvalidEncoding | errors::ErrorCode::UnsupportedOperation => {
            NnError::Unsupported(message)
        }
        _ => NnError::Runtime(message),
    }
}
