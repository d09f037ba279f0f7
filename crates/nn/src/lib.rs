//! The inference protocol Vox's components speak to `vox up` over `wasi:nn`: how a graph is
//! described to the host, tensors as bytes, the errors, and (with `client`) the guest's calls.
//!
//! A graph is loaded from builders: the ONNX model's bytes first, then optionally a
//! [`Preparation`] as JSON saying how the host's tract prepares it (plainly, or as a Piper
//! voice, with vox-piper's own length buckets and vocoder split). The host caches a prepared
//! graph by the builders' content hash, so every instance loading the same bytes shares it.
//! An execution context remembers the last value given for each input: a computation that
//! leaves an input out runs on that value, so what stays the same over many calls (a window's
//! cross-attention keys and values over its token steps) crosses to the host once. A graph may
//! also name [`Carry`]s: outputs the context keeps as the next computation's inputs instead of
//! returning them (a decoder's self-attention cache stays on the host between token steps).
//! And it may name outputs to `hold`: the context keeps them for the instance's other contexts
//! and returns in their place one output, [`HELD`], an i64 key; a computation given that key as
//! its input [`HELD`] takes every input it is not given from the held values (an encoder's
//! cross-attention keys and values stay on the host for the decoder steps of their window).
//! Held values live as long as the context holding them, or a context that took them; the key
//! means nothing to another instance.
//! This mirrors wasmtime-wasi-nn's own split between its `wit` bindings and its backends: the
//! bindings are wasi:nn's, the backend (host/src/runtime/nn) is Vox's.

#[cfg(feature = "client")]
pub mod client;
mod error;
mod tensor;

pub use error::NnError;
pub use tensor::{Element, Tensor, TensorView};

use serde::{Deserialize, Serialize};

/// The name a graph is loaded under (the third builder) so that later instances of the same
/// component find it prepared with `load-by-name` instead of building and sending it again:
/// what it is (`what`: the building library and its version, the model, its compute type) and a
/// stamp of the files it was built from (their sizes and modification times), so a changed file
/// is a new name. The host keeps names per component.
pub fn graph_name(what: &str, files: &[&std::path::Path]) -> String {
    let mut name = what.to_string();
    for file in files {
        let stamp = std::fs::metadata(file).ok().map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            (m.len(), modified)
        });
        let (len, modified) = stamp.unwrap_or_default();
        name.push_str(&format!(" {}:{len}:{modified}", file.display()));
    }
    name
}

/// How the host prepares a graph's ONNX bytes (the second builder, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "prepare", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preparation {
    /// Parsed and optimised as it is; symbolic dimensions stay symbolic. Graphs may use
    /// vox-whisper's custom-domain ops (its int8 matrix products). The outputs in `carry` stay
    /// in the execution context as inputs of its next computation, and are not returned; the
    /// outputs in `hold` stay on the host for the instance's other contexts, returned as a
    /// [`HELD`] key instead.
    Onnx {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        carry: Vec<Carry>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hold: Vec<String>,
    },
    /// A Piper voice: `config` is its `.onnx.json` text. Inputs `input` (i64 ids `[1, n]`),
    /// `scales` (f32 `[3]`) and, for multi-speaker voices, `sid` (i64 `[1]`); output `output`,
    /// the f32 samples.
    Piper { config: String },
}

impl Preparation {
    /// A plain ONNX graph with nothing carried.
    pub const ONNX: Preparation = Preparation::Onnx {
        carry: Vec::new(),
        hold: Vec::new(),
    };

    /// The second builder's bytes.
    pub fn to_builder(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a preparation always serialises")
    }

    /// Reads the second builder; none means [`Preparation::ONNX`].
    pub fn from_builder(bytes: Option<&[u8]>) -> Result<Self, NnError> {
        match bytes {
            None => Ok(Self::ONNX),
            Some(bytes) => serde_json::from_slice(bytes)
                .map_err(|e| NnError::InvalidArgument(format!("graph preparation: {e}"))),
        }
    }
}

/// The output a computation holding values returns in their place, and the input naming them
/// to another context of the same instance: an i64 `[1]` key.
pub const HELD: &str = "vox:held";

/// State an execution context carries from one computation to the next: after each, the value
/// of output `output` becomes input `input`'s remembered value (as if the caller had sent it),
/// and the output is not returned to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carry {
    pub output: String,
    pub input: String,
}

/// Where a library runs its graphs: chosen when a model or voice is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inference {
    /// tract in this process (in a component: compiled into it; what `spin up` runs).
    #[default]
    InProcess,
    /// The host's native tract, through `wasi:nn` (`vox up`'s default). Only a library built
    /// with its `wasi-nn` feature can load a graph this way; others answer with an error.
    WasiNn,
}

impl Inference {
    /// The error of a library asked for [`Inference::WasiNn`] but built without it.
    pub fn not_built() -> NnError {
        NnError::Unsupported("this build runs its graphs in process: it has no wasi:nn".into())
    }

    /// As a component's health check says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProcess => "in-component",
            Self::WasiNn => "wasi-nn",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preparations_round_trip_and_default_to_onnx() {
        let piper = Preparation::Piper {
            config: "{}".into(),
        };
        assert_eq!(
            Preparation::from_builder(Some(&piper.to_builder())).unwrap(),
            piper
        );
        assert_eq!(Preparation::from_builder(None).unwrap(), Preparation::ONNX);
        assert_eq!(
            String::from_utf8(Preparation::ONNX.to_builder()).unwrap(),
            r#"{"prepare":"onnx"}"#
        );
        let carried = Preparation::Onnx {
            carry: vec![Carry {
                output: "present".into(),
                input: "past".into(),
            }],
            hold: vec!["cross".into()],
        };
        assert_eq!(
            Preparation::from_builder(Some(&carried.to_builder())).unwrap(),
            carried
        );
    }

    #[test]
    fn unknown_preparations_are_invalid_arguments() {
        for bad in [&b"{}"[..], b"{\"prepare\":\"tflite\"}", b"not json"] {
            let err = Preparation::from_builder(Some(bad)).unwrap_err();
            assert!(matches!(err, NnError::InvalidArgument(_)), "{err}");
        }
    }
}
