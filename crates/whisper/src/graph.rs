//! Whisper's encoder and cached decoder step as in-memory ONNX graphs, optimised by tract.
//!
//! Two graphs are built from a [`Checkpoint`]:
//! * the audio graph: log-mel `[1, n_mels, 3000]` → cross-attention keys `[1, H, 64, 1500]` and
//!   values `[1, H, 1500, 64]` for every decoder layer (computed once per 30 s window);
//! * the decoder step: tokens `[B, S]` with a self-attention cache of `P` past positions →
//!   logits at selected positions `[B, K, V]`, the extended cache, and the cross-attention
//!   scores of the layers holding alignment heads (for word timestamps); the `B` rows (beams or
//!   samples) share one copy of the cross-attention inputs. The cache is extended in place and
//!   reordered through its `history` input ([`crate::self_attention`]). Run on the host, the
//!   step keeps its cache there ([`Cache::OnHost`]): the host carries the extended cache to the
//!   next step.
//!
//! Shapes are static apart from the symbols `B`, `S`, `P`, `K` and the cache's `R`, `C`, with
//! every position-dependent input (positions, causal mask, selected rows) supplied by the
//! caller: tract 0.23 mishandles `Shape`/slice-to-end patterns on symbolic dimensions.

use tract_onnx::pb::{
    self, tensor_proto::DataType, tensor_shape_proto::dimension::Value as DimValue,
};
use tract_onnx::prelude::*;

use crate::Error;
use crate::checkpoint::{Checkpoint, Dims};
use crate::quant::{self, ComputeType};
use crate::runner::Engine;
pub use crate::runner::{Io, Plan};
use crate::{ops, self_attention, window_product};

/// Whisper's two graphs, ready to run.
pub struct Graphs {
    /// Mel window → cross-attention K/V per decoder layer.
    pub audio: Engine,
    /// One decoder step with self-attention cache.
    pub decoder: Engine,
    /// Decoder layers whose cross-attention scores the step also outputs (for word timing).
    pub alignment_layers: Vec<usize>,
}

/// Width of every attention head in Whisper.
const HEAD: usize = 64;
/// Query rows per block of encoder self-attention (1500 frames: 10 blocks), bounding the scores
/// held at once per instance.
const ENCODER_QUERY_BLOCK: usize = 150;

impl Graphs {
    /// Build and optimise both graphs in f32.
    pub fn build(ckpt: &Checkpoint) -> Result<Graphs, Error> {
        Graphs::build_with(ckpt, ComputeType::Float32)
    }

    /// Build and optimise both graphs, their linear layers in `compute_type`.
    pub fn build_with(ckpt: &Checkpoint, compute_type: ComputeType) -> Result<Graphs, Error> {
        let alignment_layers = alignment_layers(ckpt);
        let audio = optimise(audio_graph(ckpt, compute_type)?, "audio encoder")?;
        let decoder = optimise(
            decoder_graph(ckpt, &alignment_layers, compute_type)?,
            "decoder",
        )?;
        Ok(Graphs {
            audio: Engine::Local(audio),
            decoder: Engine::Local(decoder),
            alignment_layers,
        })
    }

    /// Both graphs built here and sent to the host, which optimises the same ONNX with the same
    /// tract, natively; loaded there under `name` (`{name}/audio`, `{name}/decoder`) for
    /// [`Graphs::find_on_host`].
    #[cfg(feature = "wasi-nn")]
    pub fn load_on_host(
        ckpt: &Checkpoint,
        compute_type: ComputeType,
        name: &str,
    ) -> Result<Graphs, Error> {
        use crate::runner::Remote;
        let alignment_layers = alignment_layers(ckpt);
        let [(audio_name, audio_io), (decoder_name, decoder_io)] =
            on_host(ckpt.dims, name, &alignment_layers);
        let audio = Remote::load(audio_graph(ckpt, compute_type)?, audio_io, &audio_name)?;
        let decoder = Remote::load(
            decoder_graph(ckpt, &alignment_layers, compute_type)?,
            decoder_io,
            &decoder_name,
        )?;
        Ok(Graphs {
            audio: Engine::Remote(audio),
            decoder: Engine::Remote(decoder),
            alignment_layers,
        })
    }

    /// The graphs an instance before this one loaded under `name`, if the host still has
    /// both; `ckpt` needs only its layout (`Checkpoint::load_layout`).
    #[cfg(feature = "wasi-nn")]
    pub fn find_on_host(ckpt: &Checkpoint, name: &str) -> Option<Graphs> {
        use crate::runner::Remote;
        let alignment_layers = alignment_layers(ckpt);
        let [(audio_name, audio_io), (decoder_name, decoder_io)] =
            on_host(ckpt.dims, name, &alignment_layers);
        let audio = Remote::find(&audio_name, audio_io)?;
        let decoder = Remote::find(&decoder_name, decoder_io)?;
        Some(Graphs {
            audio: Engine::Remote(audio),
            decoder: Engine::Remote(decoder),
            alignment_layers,
        })
    }
}

/// The audio graph's and the decoder step's names on the host, under `name`, with their inputs
/// and outputs.
#[cfg(feature = "wasi-nn")]
fn on_host(dims: Dims, name: &str, alignment_layers: &[usize]) -> [(String, Io); 2] {
    [
        (format!("{name}/audio"), audio_io(dims, Cache::OnHost)),
        (
            format!("{name}/decoder"),
            decoder_io(dims, alignment_layers, Cache::OnHost),
        ),
    ]
}

/// Where the decoder step's self-attention cache lives between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// With the caller: the step takes the past cache and returns it extended (in process).
    WithCaller,
    /// In the host's execution context: the host carries each `present_*` output to the next
    /// step's `past_*` input, so the cache never crosses to the component (vox-nn's
    /// [`vox_nn::Carry`]). The window's cross-attention keys and values stay there too: the
    /// audio graph's context holds them, and the step takes them by their key (vox-nn's
    /// [`vox_nn::HELD`]).
    OnHost,
}

impl Cache {
    /// The values the audio graph holds on the host and the decoder step takes there: the
    /// window's cross-attention keys and values with the cache on the host, else none.
    fn held(self, dims: Dims) -> Vec<String> {
        match self {
            Cache::WithCaller => Vec::new(),
            Cache::OnHost => cross_names(dims),
        }
    }
}

/// The decoder layers holding alignment heads, ascending: those whose cross-attention scores
/// the decoder step outputs.
fn alignment_layers(ckpt: &Checkpoint) -> Vec<usize> {
    let mut layers: Vec<usize> = alignment_heads(ckpt).iter().map(|&(l, _)| l).collect();
    layers.sort_unstable();
    layers.dedup();
    layers
}

/// Each decoder layer's cross-attention keys and values.
fn cross_names(dims: Dims) -> Vec<String> {
    (0..dims.n_text_layer)
        .flat_map(|l| [format!("cross_k_{l}"), format!("cross_v_{l}")])
        .collect()
}

/// The audio graph's: the mel window in, each decoder layer's cross-attention keys and values
/// out (held on the host with the decoder's cache there).
pub fn audio_io(dims: Dims, cache: Cache) -> Io {
    Io {
        inputs: vec!["mel".into()],
        outputs: cross_names(dims),
        held: cache.held(dims),
        carry: Vec::new(),
    }
}

/// The decoder step's: tokens, positions, mask, selected rows, the cache's history, then per
/// layer the cache and the cross-attention keys and values in; per layer the extended cache,
/// the logits, and the alignment layers' cross-attention scores out.
pub fn decoder_io(dims: Dims, alignment_layers: &[usize], cache: Cache) -> Io {
    let layers = 0..dims.n_text_layer;
    let mut inputs: Vec<String> = ["tokens", "positions", "mask", "select", "history"]
        .map(String::from)
        .into();
    inputs.extend(
        layers
            .clone()
            .flat_map(|l| ["past_k", "past_v", "cross_k", "cross_v"].map(|n| format!("{n}_{l}"))),
    );
    let mut outputs: Vec<String> = layers
        .flat_map(|l| [format!("present_k_{l}"), format!("present_v_{l}")])
        .collect();
    outputs.push("logits".into());
    outputs.extend(alignment_layers.iter().map(|l| format!("cross_scores_{l}")));
    let carry = match cache {
        Cache::WithCaller => Vec::new(),
        Cache::OnHost => (0..dims.n_text_layer)
            .flat_map(|l| {
                ["k", "v"].map(|kv| vox_nn::Carry {
                    output: format!("present_{kv}_{l}"),
                    input: format!("past_{kv}_{l}"),
                })
            })
            .collect(),
    };
    Io {
        inputs,
        outputs,
        carry,
        held: cache.held(dims),
    }
}

impl Io {
    /// `model`'s own names, checked against these.
    pub fn check(&self, model: &pb::ModelProto, what: &str) -> Result<(), Error> {
        let names = |values: &[pb::ValueInfoProto]| -> Vec<String> {
            values.iter().map(|v| v.name.clone()).collect()
        };
        let graph = model.graph.as_ref();
        let inputs = graph.map(|g| names(&g.input)).unwrap_or_default();
        let outputs = graph.map(|g| names(&g.output)).unwrap_or_default();
        if inputs != self.inputs || outputs != self.outputs {
            return Err(Error::Graph(format!(
                "{what}: built with inputs {inputs:?} and outputs {outputs:?}, declared {:?} and {:?}",
                self.inputs, self.outputs
            )));
        }
        Ok(())
    }
}

/// (layer, head) pairs of cross-attention aligned with time: `config.json`'s list, or
/// every head of the second half of the decoder (openai-whisper's default).
pub fn alignment_heads(ckpt: &Checkpoint) -> Vec<(usize, usize)> {
    let Dims {
        n_text_layer,
        n_text_head,
        ..
    } = ckpt.dims;
    let valid: Vec<(usize, usize)> = ckpt
        .config
        .alignment_heads
        .iter()
        .copied()
        .filter(|&(l, h)| l < n_text_layer && h < n_text_head)
        .collect();
    if !valid.is_empty() {
        return valid;
    }
    (n_text_layer / 2..n_text_layer)
        .flat_map(|l| (0..n_text_head).map(move |h| (l, h)))
        .collect()
}

/// Parse `model` and optimise it. The proto (every weight once more) is dropped before tract
/// optimises: the peak of a load is what a pre-initialised snapshot keeps.
fn optimise(model: pb::ModelProto, what: &str) -> Result<Plan, Error> {
    let parsed = ops::onnx().model_for_proto_model(&model);
    drop(model);
    plan(parsed, what)
}

/// Optimise a parsed ONNX graph into a runnable plan; a failure names the graph `what`.
pub(crate) fn plan(parsed: TractResult<InferenceModel>, what: &str) -> Result<Plan, Error> {
    let err = |e: TractError| Error::Graph(format!("{what}: {e:#}"));
    parsed
        .map_err(err)?
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)
}

/// Accumulates nodes and constants of one ONNX graph.
struct Builder {
    graph: pb::GraphProto,
    next_id: usize,
    /// How the linear layers built from here on compute.
    compute_type: ComputeType,
}

enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

impl Builder {
    fn new(name: &str) -> Builder {
        Builder {
            graph: pb::GraphProto {
                name: name.into(),
                ..Default::default()
            },
            next_id: 0,
            compute_type: ComputeType::Float32,
        }
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.next_id += 1;
        format!("{hint}_{}", self.next_id)
    }

    fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(op);
        self.node_named(op, inputs, attrs, &out);
        out
    }

    fn node_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, output: &str) {
        self.node_with_outputs(op, inputs, attrs, &[output]);
    }

    /// A node of `op` with two outputs (Vox's cached self-attention ops).
    fn node_pair(&mut self, op: &str, inputs: &[&str]) -> (String, String) {
        let (first, second) = (self.fresh(op), self.fresh(op));
        self.node_with_outputs(op, inputs, vec![], &[&first, &second]);
        (first, second)
    }

    fn node_with_outputs(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
        outputs: &[&str],
    ) {
        let domain = if ops::is_ours(op) { ops::DOMAIN } else { "" };
        let attribute = attrs
            .into_iter()
            .map(|(name, a)| {
                let mut p = pb::AttributeProto {
                    name: name.into(),
                    ..Default::default()
                };
                match a {
                    Attr::Int(i) => {
                        p.i = i;
                        p.r#type = pb::attribute_proto::AttributeType::Int as i32;
                    }
                    Attr::Ints(v) => {
                        p.ints = v;
                        p.r#type = pb::attribute_proto::AttributeType::Ints as i32;
                    }
                    Attr::Float(f) => {
                        p.f = f;
                        p.r#type = pb::attribute_proto::AttributeType::Float as i32;
                    }
                }
                p
            })
            .collect();
        self.graph.node.push(pb::NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|o| o.to_string()).collect(),
            name: outputs[0].into(),
            domain: domain.into(),
            attribute,
            ..Default::default()
        });
    }

    fn constant(
        &mut self,
        hint: &str,
        dims: &[usize],
        data_type: DataType,
        raw: Vec<u8>,
    ) -> String {
        let name = self.fresh(hint);
        self.graph.initializer.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type as i32,
            raw_data: raw,
            ..Default::default()
        });
        name
    }

    fn f32(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "{hint}");
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(hint, dims, DataType::Float, raw)
    }

    fn f16(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "{hint}");
        let raw = data
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        self.constant(hint, dims, DataType::Float16, raw)
    }

    fn i64s(&mut self, data: &[i64]) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant("shape", &[data.len()], DataType::Int64, raw)
    }

    fn io(name: &str, data_type: DataType, dims: &[Dim]) -> pb::ValueInfoProto {
        let dim = dims
            .iter()
            .map(|d| pb::tensor_shape_proto::Dimension {
                value: Some(match d {
                    Dim::Fixed(n) => DimValue::DimValue(*n as i64),
                    Dim::Symbol(s) => DimValue::DimParam((*s).into()),
                }),
                ..Default::default()
            })
            .collect();
        pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: data_type as i32,
                    shape: Some(pb::TensorShapeProto { dim }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn input(&mut self, name: &str, data_type: DataType, dims: &[Dim]) -> String {
        self.graph.input.push(Builder::io(name, data_type, dims));
        name.into()
    }

    /// Expose `value` as graph output `name`.
    fn output(&mut self, value: &str, name: &str) {
        self.node_named("Identity", &[value], vec![], name);
        self.graph.output.push(pb::ValueInfoProto {
            name: name.into(),
            ..Default::default()
        });
    }

    fn finish(self) -> pb::ModelProto {
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![
                pb::OperatorSetIdProto {
                    domain: String::new(),
                    version: 17,
                },
                pb::OperatorSetIdProto {
                    domain: ops::DOMAIN.into(),
                    version: 1,
                },
            ],
            producer_name: "vox-whisper".into(),
            graph: Some(self.graph),
            ..Default::default()
        }
    }

    // ---- layers ----

    fn layer_norm(&mut self, ckpt: &Checkpoint, x: &str, prefix: &str) -> Result<String, Error> {
        let d = ckpt.dims.d_model;
        let gamma = self.f32("gamma", &[d], &ckpt.f32(&format!("{prefix}/gamma"))?);
        let beta = self.f32("beta", &[d], &ckpt.f32(&format!("{prefix}/beta"))?);
        Ok(self.node(
            "LayerNormalization",
            &[x, &gamma, &beta],
            vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(1e-5))],
        ))
    }

    /// `x @ w^T + b` for a weight stored `(out, in)`, using rows `rows` of it and scaling by `scale`.
    fn linear_rows(
        &mut self,
        ckpt: &Checkpoint,
        x: &str,
        prefix: &str,
        rows: std::ops::Range<usize>,
        scale: f32,
    ) -> Result<String, Error> {
        let var = ckpt.get(&format!("{prefix}/weight"))?;
        let (out_all, inp) = (var.shape[0], var.shape[1]);
        let w = ckpt.f32(&format!("{prefix}/weight"))?;
        debug_assert!(rows.end <= out_all);
        let bias = match ckpt.get(&format!("{prefix}/bias")) {
            Ok(_) => {
                let b = ckpt.f32(&format!("{prefix}/bias"))?;
                let b: Vec<f32> = b[rows.clone()].iter().map(|v| v * scale).collect();
                Some(b).filter(|b| b.iter().any(|&v| v != 0.0))
            }
            Err(_) => None,
        };
        let w: Vec<f32> = w[rows.start * inp..rows.end * inp]
            .iter()
            .map(|v| v * scale)
            .collect();
        Ok(self.matmul_rows(x, &w, rows.len(), inp, bias.as_deref()))
    }

    /// `w` (`(out, in)` row-major) quantized per row: the i8 constant and its scales' constant.
    fn int8_rows(&mut self, w: &[f32], out: usize, inp: usize) -> (String, String) {
        let mut q = vec![0i8; out * inp];
        let scales: Vec<f32> = w
            .chunks_exact(inp)
            .zip(q.chunks_exact_mut(inp))
            .map(|(row, q)| quant::quantize_row(row, q))
            .collect();
        let raw = q.iter().map(|&v| v as u8).collect();
        let wq = self.constant("weight_i8", &[out, inp], DataType::Int8, raw);
        let sc = self.f32("weight_scale", &[out], &scales);
        (wq, sc)
    }

    /// `x @ w^T + b` for `w` given `(out, in)` row-major, in the builder's compute type.
    fn matmul_rows(
        &mut self,
        x: &str,
        w: &[f32],
        out: usize,
        inp: usize,
        bias: Option<&[f32]>,
    ) -> String {
        if self.compute_type == ComputeType::Int8 {
            let (wq, sc) = self.int8_rows(w, out, inp);
            let mut inputs = vec![x.to_owned(), wq, sc];
            if let Some(b) = bias {
                inputs.push(self.f32("bias", &[out], b));
            }
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            return self.node(quant::OP_TYPE, &inputs, vec![]);
        }
        // Pre-transposed [in, out] so tract's MatMul packs it once.
        let mut wt = vec![0f32; inp * out];
        for (o, row) in w.chunks_exact(inp).enumerate() {
            for (i, v) in row.iter().enumerate() {
                wt[i * out + o] = *v;
            }
        }
        let wt = self.f32("weight", &[inp, out], &wt);
        let y = self.node("MatMul", &[x, &wt], vec![]);
        match bias {
            Some(b) => {
                let b = self.f32("bias", &[out], b);
                self.node("Add", &[&y, &b], vec![])
            }
            None => y,
        }
    }

    fn linear(&mut self, ckpt: &Checkpoint, x: &str, prefix: &str) -> Result<String, Error> {
        let rows = ckpt.get(&format!("{prefix}/weight"))?.shape[0];
        self.linear_rows(ckpt, x, prefix, 0..rows, 1.0)
    }

    /// `[b, t, H*64]` → `[b, H, t, 64]` (or `[b, H, 64, t]` when `transposed`).
    fn split_heads(&mut self, x: &str, heads: usize, transposed: bool) -> String {
        let shape = self.i64s(&[0, 0, heads as i64, HEAD as i64]);
        let r = self.node("Reshape", &[x, &shape], vec![]);
        let perm = if transposed {
            vec![0, 2, 3, 1]
        } else {
            vec![0, 2, 1, 3]
        };
        self.node("Transpose", &[&r], vec![("perm", Attr::Ints(perm))])
    }

    /// `[b, H, t, 64]` → `[b, t, H*64]`.
    fn merge_heads(&mut self, x: &str, d: usize) -> String {
        let t = self.node(
            "Transpose",
            &[x],
            vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))],
        );
        let shape = self.i64s(&[0, 0, d as i64]);
        self.node("Reshape", &[&t, &shape], vec![])
    }

    /// Attention over `rows` query rows, `block` rows at a time: a row's softmax needs only its
    /// own scores, so the whole `[b, H, rows, frames]` score matrix (54 MB per encoder layer for
    /// tiny's 6 heads × 1500 × 1500) is never held at once; each row is computed as before.
    fn attention_in_blocks(
        &mut self,
        q: &str,
        kt: &str,
        v: &str,
        rows: usize,
        block: usize,
    ) -> String {
        let axes = self.i64s(&[2]);
        let mut parts = Vec::new();
        for start in (0..rows).step_by(block) {
            let end = (start + block).min(rows);
            let (starts, ends) = (self.i64s(&[start as i64]), self.i64s(&[end as i64]));
            let q_block = self.node("Slice", &[q, &starts, &ends, &axes], vec![]);
            let scores = self.node("MatMul", &[&q_block, kt], vec![]);
            let probs = self.softmax(&scores);
            parts.push(self.node("MatMul", &[&probs, v], vec![]));
        }
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        self.node("Concat", &parts, vec![("axis", Attr::Int(2))])
    }

    fn softmax(&mut self, x: &str) -> String {
        self.node("Softmax", &[x], vec![("axis", Attr::Int(-1))])
    }

    fn ffn(&mut self, ckpt: &Checkpoint, x: &str, prefix: &str) -> Result<String, Error> {
        let h = self.layer_norm(ckpt, x, &format!("{prefix}/ffn/layer_norm"))?;
        let h = self.linear(ckpt, &h, &format!("{prefix}/ffn/linear_0"))?;
        let h = self.node("Gelu", &[&h], vec![]);
        let h = self.linear(ckpt, &h, &format!("{prefix}/ffn/linear_1"))?;
        Ok(self.node("Add", &[x, &h], vec![]))
    }
}

#[derive(Clone)]
enum Dim {
    Fixed(usize),
    Symbol(&'static str),
}

/// Scale applied to queries: 1/sqrt(head width), folded into the query weights.
fn query_scale() -> f32 {
    1.0 / (HEAD as f32).sqrt()
}

/// The encoder and each decoder layer's cross-attention projections; their linear layers in
/// `compute_type` (CTranslate2's int8 quantizes the encoder's too), the convolutions in f32.
fn audio_graph(ckpt: &Checkpoint, compute_type: ComputeType) -> Result<pb::ModelProto, Error> {
    let Dims {
        n_mels,
        n_audio_ctx,
        d_model: d,
        n_audio_head: heads,
        n_audio_layer,
        n_text_head,
        n_text_layer,
        ..
    } = ckpt.dims;
    let frames = n_audio_ctx * 2;
    let mut b = Builder::new("whisper_audio");
    b.compute_type = compute_type;
    let mel = b.input(
        "mel",
        DataType::Float,
        &[Dim::Fixed(1), Dim::Fixed(n_mels), Dim::Fixed(frames)],
    );

    let mut x = mel;
    for (conv, stride) in [("conv1", 1), ("conv2", 2)] {
        let w = ckpt.get(&format!("encoder/{conv}/weight"))?.shape.clone();
        let wv = b.f32("conv_w", &w, &ckpt.f32(&format!("encoder/{conv}/weight"))?);
        let bv = b.f32(
            "conv_b",
            &[w[0]],
            &ckpt.f32(&format!("encoder/{conv}/bias"))?,
        );
        let y = b.node(
            "Conv",
            &[&x, &wv, &bv],
            vec![
                ("kernel_shape", Attr::Ints(vec![3])),
                ("pads", Attr::Ints(vec![1, 1])),
                ("strides", Attr::Ints(vec![stride])),
            ],
        );
        x = b.node("Gelu", &[&y], vec![]);
    }
    let x_t = b.node(
        "Transpose",
        &[&x],
        vec![("perm", Attr::Ints(vec![0, 2, 1]))],
    );
    let pos = b.f32(
        "audio_pos",
        &[n_audio_ctx, d],
        &ckpt.f32("encoder/position_encodings/encodings")?,
    );
    let mut x = b.node("Add", &[&x_t, &pos], vec![]);

    for l in 0..n_audio_layer {
        let p = format!("encoder/layer_{l}");
        let h = b.layer_norm(ckpt, &x, &format!("{p}/self_attention/layer_norm"))?;
        let fused = format!("{p}/self_attention/linear_0");
        let q = b.linear_rows(ckpt, &h, &fused, 0..d, query_scale())?;
        let k = b.linear_rows(ckpt, &h, &fused, d..2 * d, 1.0)?;
        let v = b.linear_rows(ckpt, &h, &fused, 2 * d..3 * d, 1.0)?;
        let q = b.split_heads(&q, heads, false);
        let k = b.split_heads(&k, heads, true);
        let v = b.split_heads(&v, heads, false);
        let att = b.attention_in_blocks(&q, &k, &v, n_audio_ctx, ENCODER_QUERY_BLOCK);
        let att = b.merge_heads(&att, d);
        let att = b.linear(ckpt, &att, &format!("{p}/self_attention/linear_1"))?;
        let x1 = b.node("Add", &[&x, &att], vec![]);
        x = b.ffn(ckpt, &x1, &p)?;
    }
    let enc = b.layer_norm(ckpt, &x, "encoder/layer_norm")?;

    for l in 0..n_text_layer {
        let fused = format!("decoder/layer_{l}/attention/linear_1");
        let k = b.linear_rows(ckpt, &enc, &fused, 0..d, 1.0)?;
        let v = b.linear_rows(ckpt, &enc, &fused, d..2 * d, 1.0)?;
        let k = b.split_heads(&k, n_text_head, true);
        let v = b.split_heads(&v, n_text_head, false);
        b.output(&k, &format!("cross_k_{l}"));
        b.output(&v, &format!("cross_v_{l}"));
    }
    Ok(b.finish())
}

fn decoder_graph(
    ckpt: &Checkpoint,
    alignment_layers: &[usize],
    compute_type: ComputeType,
) -> Result<pb::ModelProto, Error> {
    let Dims {
        n_audio_ctx,
        d_model: d,
        n_text_ctx,
        n_text_head: heads,
        n_text_layer,
        n_vocab,
        ..
    } = ckpt.dims;
    let mut b = Builder::new("whisper_decoder_step");
    b.compute_type = compute_type;
    let tokens = b.input(
        "tokens",
        DataType::Int64,
        &[Dim::Symbol("B"), Dim::Symbol("S")],
    );
    let positions = b.input("positions", DataType::Int64, &[Dim::Symbol("S")]);
    // Additive causal mask among the new positions; past positions are all visible.
    let mask = b.input(
        "mask",
        DataType::Float,
        &[Dim::Symbol("S"), Dim::Symbol("S")],
    );
    let select = b.input("select", DataType::Int64, &[Dim::Symbol("K")]);
    // For each past position and row, the cache row holding that row's key and value there
    // (beams are reordered by this table, not by moving the cache: `self_attention`).
    let history = b.input(
        "history",
        DataType::Int64,
        &[Dim::Symbol("P"), Dim::Symbol("B")],
    );

    let embeddings = ckpt.f32("decoder/embeddings/weight")?;
    let pos = b.f32(
        "text_pos",
        &[n_text_ctx, d],
        &ckpt.f32("decoder/position_encodings/encodings")?,
    );
    // The projection is tied to the embeddings (an alias in model.bin) unless it is stored.
    let tied = ckpt
        .aliases
        .get("decoder/projection/weight")
        .is_some_and(|target| target == "decoder/embeddings/weight")
        || ckpt.get("decoder/projection/weight").is_err();
    let projection = if tied {
        None
    } else {
        Some(ckpt.f32("decoder/projection/weight")?)
    };
    let (x, int8_table) = if compute_type == ComputeType::Int8 {
        // As CTranslate2's int8: one quantized table for the lookup and the (tied) projection.
        let (wq, sc) = b.int8_rows(&embeddings, n_vocab, d);
        let x = b.node(quant::GATHER_OP_TYPE, &[&wq, &sc, &tokens], vec![]);
        (x, projection.is_none().then_some((wq, sc)))
    } else {
        // Stored f16 (the checkpoint's own precision, so exact) and widened after the Gather:
        // a token reads one row, and the table is the model's largest after the projection.
        let emb = b.f16("embeddings", &[n_vocab, d], &embeddings);
        let x = b.node("Gather", &[&emb, &tokens], vec![("axis", Attr::Int(0))]);
        let x = b.node(
            "Cast",
            &[&x],
            vec![("to", Attr::Int(DataType::Float as i64))],
        );
        (x, None)
    };
    let pe = b.node("Gather", &[&pos, &positions], vec![("axis", Attr::Int(0))]);
    let mut x = b.node("Add", &[&x, &pe], vec![]);
    let mut alignment_scores = Vec::new();

    for l in 0..n_text_layer {
        let pfx = format!("decoder/layer_{l}");
        // The cache: `R` rows with room for `C` positions (`self_attention`).
        let cache = [
            Dim::Symbol("R"),
            Dim::Fixed(heads),
            Dim::Symbol("C"),
            Dim::Fixed(HEAD),
        ];
        let past_k = b.input(&format!("past_k_{l}"), DataType::Float, &cache);
        let past_v = b.input(&format!("past_v_{l}"), DataType::Float, &cache);
        let cross_k = b.input(
            &format!("cross_k_{l}"),
            DataType::Float,
            &[
                Dim::Fixed(1),
                Dim::Fixed(heads),
                Dim::Fixed(HEAD),
                Dim::Fixed(n_audio_ctx),
            ],
        );
        let cross_v = b.input(
            &format!("cross_v_{l}"),
            DataType::Float,
            &[
                Dim::Fixed(1),
                Dim::Fixed(heads),
                Dim::Fixed(n_audio_ctx),
                Dim::Fixed(HEAD),
            ],
        );

        // Causal self-attention over the cache's past positions and the new ones.
        let h = b.layer_norm(ckpt, &x, &format!("{pfx}/self_attention/layer_norm"))?;
        let fused = format!("{pfx}/self_attention/linear_0");
        let q = b.linear_rows(ckpt, &h, &fused, 0..d, query_scale())?;
        let kn = b.linear_rows(ckpt, &h, &fused, d..2 * d, 1.0)?;
        let vn = b.linear_rows(ckpt, &h, &fused, 2 * d..3 * d, 1.0)?;
        let q = b.split_heads(&q, heads, false);
        let kn = b.split_heads(&kn, heads, false);
        let vn = b.split_heads(&vn, heads, false);
        let (scores, present_k) = b.node_pair(
            self_attention::SCORES_OP_TYPE,
            &[&q, &kn, &mask, &past_k, &history],
        );
        let probs = b.softmax(&scores);
        let (att, present_v) = b.node_pair(
            self_attention::WEIGHTED_OP_TYPE,
            &[&probs, &vn, &past_v, &history],
        );
        let att = b.merge_heads(&att, d);
        let att = b.linear(ckpt, &att, &format!("{pfx}/self_attention/linear_1"))?;
        let x1 = b.node("Add", &[&x, &att], vec![]);
        b.output(&present_k, &format!("present_k_{l}"));
        b.output(&present_v, &format!("present_v_{l}"));

        // Cross-attention on the precomputed audio keys/values, shared (broadcast) by all rows.
        let h = b.layer_norm(ckpt, &x1, &format!("{pfx}/attention/layer_norm"))?;
        let rows = ckpt.get(&format!("{pfx}/attention/linear_0/weight"))?.shape[0];
        let q = b.linear_rows(
            ckpt,
            &h,
            &format!("{pfx}/attention/linear_0"),
            0..rows,
            query_scale(),
        )?;
        let q = b.split_heads(&q, heads, false);
        let scores = b.node(window_product::OP_TYPE, &[&q, &cross_k], vec![]);
        if alignment_layers.contains(&l) {
            alignment_scores.push((l, scores.clone()));
        }
        let probs = b.softmax(&scores);
        let att = b.node(window_product::OP_TYPE, &[&probs, &cross_v], vec![]);
        let att = b.merge_heads(&att, d);
        let att = b.linear(ckpt, &att, &format!("{pfx}/attention/linear_2"))?;
        let x2 = b.node("Add", &[&x1, &att], vec![]);
        x = b.ffn(ckpt, &x2, &pfx)?;
    }
    let x = b.layer_norm(ckpt, &x, "decoder/layer_norm")?;
    let rows = b.node("Gather", &[&x, &select], vec![("axis", Attr::Int(1))]);
    let logits = match int8_table {
        Some((wq, sc)) => b.node(quant::OP_TYPE, &[&rows, &wq, &sc], vec![]),
        None => {
            // A separate f32 projection constant: sharing the embedding table, or transposing
            // or widening it at run time, stops tract from pre-packing it (10x slower per token).
            let tied = projection.unwrap_or(embeddings);
            b.matmul_rows(&rows, &tied, n_vocab, d, None)
        }
    };
    b.output(&logits, "logits");
    // Pre-softmax cross-attention scores [B, H, S, frames] of the alignment layers.
    for (l, scores) in alignment_scores {
        b.output(&scores, &format!("cross_scores_{l}"));
    }
    Ok(b.finish())
}
