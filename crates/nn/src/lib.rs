//! The inference protocol Vox's components speak to `vox up` over `wasi:nn`: how a graph is
//! described to the host, tensors as bytes, the errors, and (with `client`) the guest's calls.
//!
//! A graph is loaded from builders: the ONNX model's bytes first, then optionally a
//! [`Preparation`] as JSON saying how the host's tract prepares it (plainly, or as a Piper
//! voice, with vox-piper's own length buckets and vocoder split). The host caches a prepared
//! graph by the builders' content hash, so every instance loading the same bytes shares it.
//! This mirrors wasmtime-wasi-nn's own split between its `wit` bindings and its backends: the
//! bindings are wasi:nn's, the backend (host/src/runtime/nn) is Vox's.

#[cfg(feature = "client")]
pub mod client;
mod error;
mod tensor;

pub use error::NnError;
pub use tensor::{Element, Tensor};

use serde::{Deserialize, Serialize};

/// How the host prepares a graph's ONNX bytes (the second builder, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "prepare", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preparation {
    /// Parsed and optimised as it is; symbolic dimensions stay symbolic. Graphs may use
    /// vox-whisper's custom-domain ops (its int8 matrix products).
    Onnx,
    /// A Piper voice: `config` is its `.onnx.json` text. Inputs `input` (i64 ids `[1, n]`),
    /// `scales` (f32 `[3]`) and, for multi-speaker voices, `sid` (i64 `[1]`); output `output`,
    /// the f32 samples.
    Piper { config: String },
}

impl Preparation {
    /// The second builder's bytes.
    pub fn to_builder(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a preparation always serialises")
    }

    /// Reads the second builder; none means [`Preparation::Onnx`].
    pub fn from_builder(bytes: Option<&[u8]>) -> Result<Self, NnError> {
        match bytes {
            None => Ok(Self::Onnx),
            Some(bytes) => serde_json::from_slice(bytes)
                .map_err(|e| NnError::InvalidArgument(format!("graph preparation: {e}"))),
        }
    }
}

/// Where a component's models run, as its health check reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferencePath {
    /// tract compiled into the component (what `spin up` runs).
    InComponent,
    /// The host's native tract, through `wasi:nn` (`vox up`'s default).
    WasiNn,
}

impl InferencePath {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InComponent => "in-component",
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
        assert_eq!(Preparation::from_builder(None).unwrap(), Preparation::Onnx);
        assert_eq!(
            String::from_utf8(Preparation::Onnx.to_builder()).unwrap(),
            r#"{"prepare":"onnx"}"#
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
