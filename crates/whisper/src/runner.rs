//! Where Whisper's graphs run: tract plans in this process, or (feature `wasi-nn`) the host's
//! native tract behind `wasi:nn`; and a [`Run`], one sequence of calls on a graph whose
//! constant inputs a remote graph receives once; and [`Held`] values, outputs one remote graph
//! leaves on the host for another (a window's cross-attention keys and values).

use tract_onnx::prelude::*;
pub use vox_nn::Inference;

use crate::Error;

/// The f32 contents of a tensor: a graph's input or output, an op's operand.
pub(crate) fn floats(t: &Tensor) -> TractResult<&[f32]> {
    t.try_as_plain_ram()?.as_slice::<f32>()
}

/// A runnable, optimised tract model.
pub type Plan = std::sync::Arc<TypedRunnableModel>;

/// The names of a graph's inputs and outputs, in order: what `graph`'s builders declare (a
/// graph loaded by name is called by these; one built is checked against them).
pub struct Io {
    /// Input names.
    pub inputs: Vec<String>,
    /// Output names.
    pub outputs: Vec<String>,
    /// Outputs a graph on the host keeps as the inputs of its next computation in the same
    /// context, instead of returning them (the decoder's self-attention cache).
    pub carry: Vec<vox_nn::Carry>,
    /// Values that stay on the host between graphs: outputs a graph there holds (returning
    /// their key, [`vox_nn::HELD`], instead), inputs it takes by that key.
    pub held: Vec<String>,
}

/// A graph ready to run.
pub enum Engine {
    /// Optimised here (in a component: by the tract compiled into it).
    Local(Plan),
    /// Loaded into the host through `wasi:nn`, with its inputs' and outputs' names in order.
    #[cfg(feature = "wasi-nn")]
    Remote(Remote),
}

/// A graph the host holds.
#[cfg(feature = "wasi-nn")]
pub struct Remote {
    graph: vox_nn::client::Graph,
    /// The inputs sent (the held ones are taken by their key, the last input).
    inputs: Vec<String>,
    /// The outputs the host returns (the carried ones stay there; the held ones too, their key
    /// returned last).
    outputs: Vec<String>,
    /// Whether the host carries some outputs to the next computation's inputs.
    carries: bool,
}

/// A computation's outputs: here, or held on the host.
pub(crate) enum Outputs {
    Here(TVec<TValue>),
    #[cfg(feature = "wasi-nn")]
    Held(Held),
}

/// Outputs a remote graph's execution context holds on the host for the instance's other
/// contexts, alive as long as a clone of this is (or a context that took them): the key a
/// graph taking them is given as its last input.
#[cfg(feature = "wasi-nn")]
#[derive(Clone)]
pub(crate) struct Held {
    pub(crate) key: TValue,
    _context: std::rc::Rc<vox_nn::client::Context>,
}

impl Engine {
    /// Runs the graph once on `inputs`, in the graph's input order.
    pub fn run(&self, inputs: TVec<TValue>) -> Result<TVec<TValue>, Error> {
        self.start().run(inputs, &[])
    }

    /// Runs the graph once on `inputs`; a remote graph's held outputs stay on the host.
    pub(crate) fn run_holding(&self, inputs: TVec<TValue>) -> Result<Outputs, Error> {
        let mut run = self.start();
        let outputs = run.run(inputs, &[])?;
        #[cfg(feature = "wasi-nn")]
        if let (Engine::Remote(remote), Some(context)) = (self, run.context)
            && remote.outputs.last().is_some_and(|o| o == vox_nn::HELD)
        {
            let key = outputs
                .last()
                .cloned()
                .ok_or_else(|| Error::Inference("the held values' key is missing".into()))?;
            return Ok(Outputs::Held(Held {
                key,
                _context: std::rc::Rc::new(context),
            }));
        }
        Ok(Outputs::Here(outputs))
    }

    /// A sequence of calls sharing an execution context.
    pub(crate) fn start(&self) -> Run<'_> {
        Run {
            engine: self,
            #[cfg(feature = "wasi-nn")]
            context: None,
        }
    }

    /// Where this graph runs.
    pub fn inference(&self) -> Inference {
        match self {
            Engine::Local(_) => Inference::InProcess,
            #[cfg(feature = "wasi-nn")]
            Engine::Remote(_) => Inference::WasiNn,
        }
    }
}

/// Calls on one graph that share an execution context (a decoder session's token steps).
pub(crate) struct Run<'a> {
    engine: &'a Engine,
    #[cfg(feature = "wasi-nn")]
    context: Option<vox_nn::client::Context>,
}

impl Run<'_> {
    /// Whether the graph's execution context carries outputs to its next computation: then
    /// those outputs are not among the ones returned, and the inputs they become are sent on
    /// the first call only (given in `constant`).
    pub(crate) fn carries(&self) -> bool {
        match self.engine {
            Engine::Local(_) => false,
            #[cfg(feature = "wasi-nn")]
            Engine::Remote(remote) => remote.carries,
        }
    }

    /// Runs the graph on `inputs` (all of them, in the graph's order). The inputs at positions
    /// `constant` are the same on every call of this run: a remote graph's execution context
    /// keeps them from the first call (vox-nn's protocol), so they cross to the host once.
    #[cfg_attr(not(feature = "wasi-nn"), allow(unused_variables))]
    pub(crate) fn run(
        &mut self,
        inputs: TVec<TValue>,
        constant: &[usize],
    ) -> Result<TVec<TValue>, Error> {
        match self.engine {
            Engine::Local(plan) => Ok(plan.run(inputs)?),
            #[cfg(feature = "wasi-nn")]
            Engine::Remote(remote) => {
                let first = self.context.is_none();
                let context = match &mut self.context {
                    Some(context) => context,
                    slot => slot.insert(remote.graph.context().map_err(nn_error)?),
                };
                remote.run(context, inputs, |i| first || !constant.contains(&i))
            }
        }
    }
}

#[cfg(feature = "wasi-nn")]
impl Remote {
    /// Loads `model` into the host under `name`: its bytes, prepared as a plain ONNX graph (the
    /// host's tract knows this crate's int8 ops). `io` are its names, checked against the proto.
    pub(crate) fn load(
        model: tract_onnx::pb::ModelProto,
        io: Io,
        name: &str,
    ) -> Result<Remote, Error> {
        use prost::Message;
        io.check(&model, name)?;
        let bytes = model.encode_to_vec();
        // The proto holds every weight once more: gone before the bytes cross.
        drop(model);
        let preparation = vox_nn::Preparation::Onnx {
            carry: io.carry.clone(),
            hold: io
                .held
                .iter()
                .filter(|name| io.outputs.contains(name))
                .cloned()
                .collect(),
        };
        let builders = [bytes, preparation.to_builder(), name.as_bytes().to_vec()];
        let graph = vox_nn::client::load(&builders).map_err(nn_error)?;
        Ok(Remote::new(graph, io))
    }

    /// The graph loaded under `name` before, if the host has it.
    pub(crate) fn find(name: &str, io: Io) -> Option<Remote> {
        vox_nn::client::load_by_name(name).map(|graph| Remote::new(graph, io))
    }

    fn new(graph: vox_nn::client::Graph, io: Io) -> Remote {
        let carried = |name: &String| io.carry.iter().any(|c| c.output == *name);
        let held = |name: &String| io.held.contains(name);
        // The held values' key goes last, where any are taken or held.
        let with_key = |mut names: Vec<String>, all: &[String]| {
            if all.iter().any(held) {
                names.push(vox_nn::HELD.into());
            }
            names
        };
        Remote {
            graph,
            inputs: with_key(
                io.inputs.iter().filter(|i| !held(i)).cloned().collect(),
                &io.inputs,
            ),
            outputs: with_key(
                io.outputs
                    .iter()
                    .filter(|o| !carried(o) && !held(o))
                    .cloned()
                    .collect(),
                &io.outputs,
            ),
            carries: !io.carry.is_empty(),
        }
    }

    fn run(
        &self,
        context: &vox_nn::client::Context,
        inputs: TVec<TValue>,
        send: impl Fn(usize) -> bool,
    ) -> Result<TVec<TValue>, Error> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::Inference(format!(
                "{} inputs for a graph of {}",
                inputs.len(),
                self.inputs.len()
            )));
        }
        // Borrowed, not copied: the host reads each input out of this instance's memory, so
        // a window's cross-attention inputs are not held twice here at its first step.
        let named = inputs
            .iter()
            .enumerate()
            .filter(|&(i, _)| send(i))
            .map(|(i, value)| {
                let name = self.inputs[i].as_str();
                Ok((
                    name,
                    vox_nn::TensorView::from_tract(name, value).map_err(nn_error)?,
                ))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut outputs = context.compute_views(named).map_err(nn_error)?;
        self.outputs
            .iter()
            .map(|name| {
                // Read and converted one at a time: one output's bytes at most are held
                // beside the converted ones.
                let output = vox_nn::client::take(&mut outputs, name).map_err(nn_error)?;
                let tensor = output.read(name).map_err(nn_error)?;
                Ok(tensor.to_tract(name).map_err(nn_error)?.into_tvalue())
            })
            .collect()
    }
}

#[cfg(feature = "wasi-nn")]
fn nn_error(e: vox_nn::NnError) -> Error {
    Error::Inference(e.to_string())
}
