//! Rewrites that let tract run Piper's VITS graph: on the ONNX proto, and on the typed model.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, ModelProto, TensorProto, tensor_proto::DataType};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::{array::Range, cast::cast, source::TypedSource};

/// Largest magnitude tract can carry through its i32 slice bounds.
const I32_LIMIT: i64 = i32::MAX as i64;

/// Clamps int64 constants outside the i32 range to ±(2^31−1).
///
/// Exporters write "slice to the end" as `i64::MAX`; tract narrows slice bounds
/// through i32, turning it into -1 (one element short). No tensor in a VITS
/// voice is that long, so the clamped bound still means "to the end".
/// Returns how many values were changed.
pub fn clamp_int64_constants(model: &mut ModelProto) -> usize {
    model.graph.as_mut().map_or(0, clamp_graph)
}

fn clamp_graph(graph: &mut GraphProto) -> usize {
    let mut changed = graph.initializer.iter_mut().map(clamp_tensor).sum();
    for node in &mut graph.node {
        for attr in &mut node.attribute {
            changed += attr.t.as_mut().map_or(0, clamp_tensor);
            changed += attr.tensors.iter_mut().map(clamp_tensor).sum::<usize>();
            changed += attr.g.as_mut().map_or(0, clamp_graph);
            changed += attr.graphs.iter_mut().map(clamp_graph).sum::<usize>();
        }
    }
    changed
}

fn clamp_tensor(tensor: &mut TensorProto) -> usize {
    if tensor.data_type != DataType::Int64 as i32 {
        return 0;
    }
    let mut changed = 0;
    for v in &mut tensor.int64_data {
        changed += clamp(v);
    }
    for chunk in tensor.raw_data.chunks_exact_mut(8) {
        let mut v = i64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        if clamp(&mut v) == 1 {
            chunk.copy_from_slice(&v.to_le_bytes());
            changed += 1;
        }
    }
    changed
}

fn clamp(v: &mut i64) -> usize {
    let clamped = (*v).clamp(-I32_LIMIT, I32_LIMIT);
    let changed = usize::from(clamped != *v);
    *v = clamped;
    changed
}

/// Name of the node whose output feeds the vocoder (`dec.conv_pre`), where the
/// graph is cut in two: up to there shapes follow the id count, after it the
/// frame count. `None` if the voice's graph has no such conv.
pub fn decoder_input(model: &ModelProto) -> Option<String> {
    let graph = model.graph.as_ref()?;
    let conv = graph.node.iter().find(|n| {
        n.op_type == "Conv" && n.input.get(1).is_some_and(|w| w == "dec.conv_pre.weight")
    })?;
    let tensor = conv.input.first()?;
    let producer = graph
        .node
        .iter()
        .find(|n| n.output.first() == Some(tensor))?;
    Some(producer.name.clone()).filter(|name| !name.is_empty())
}

/// Makes each `Range(0, n, 1)` whose length tract only knows as a runtime
/// symbol reuse the one Range that actually computes that length.
///
/// VITS builds the output-frame axis twice: `y_mask` from a Range over the
/// predicted durations (which binds the runtime symbol), and `generate_path`'s
/// `sequence_mask` from a Range over `Cast(Shape(mask)[2])`. tract folds that
/// Shape into a constant holding the symbol, so the second Range no longer
/// depends on the first, may be scheduled before it, and fails with
/// "Undetermined symbol". Both yield `0..n`; feeding the second from the first
/// (cast to its type) restores the dependency. Returns how many were rewired.
pub fn reuse_minting_ranges(model: &mut TypedModel) -> TractResult<usize> {
    let mut minters: HashMap<TDim, usize> = HashMap::new();
    let mut derived: Vec<(TDim, usize)> = Vec::new();
    for node in model.nodes() {
        if !node.op_is::<Range>() {
            continue;
        }
        let len = &node.outputs[0].fact.shape[0];
        let counts_up = scalar(model, node.inputs[0]) == Some(0.0)
            && scalar(model, node.inputs[2]) == Some(1.0);
        if !matches!(len, TDim::Sym(_)) || !counts_up {
            continue;
        }
        if depends_on_input(model, node.id) {
            minters.insert(len.clone(), node.id);
        } else {
            derived.push((len.clone(), node.id));
        }
    }
    let mut rewired = 0;
    for (len, id) in derived {
        let Some(&minter) = minters.get(&len) else {
            continue;
        };
        let source = OutletId::new(minter, 0);
        let datum_type = model.node(id).outputs[0].fact.datum_type;
        let mut patch = TypedModelPatch::default();
        let mut wire = patch.tap_model(model, source)?;
        if model.outlet_fact(source)?.datum_type != datum_type {
            let name = format!("{}.from_minter", model.node(id).name);
            wire = patch.wire_node(name, cast(datum_type), &[wire])?[0];
        }
        patch.shunt_outside(model, OutletId::new(id, 0), wire)?;
        patch.apply(model)?;
        rewired += 1;
    }
    Ok(rewired)
}

fn scalar(model: &TypedModel, outlet: OutletId) -> Option<f64> {
    let konst = model.outlet_fact(outlet).ok()?.konst.clone()?;
    let value = konst.cast_to::<f64>().ok()?;
    value
        .try_as_plain_ram()
        .ok()?
        .to_scalar::<f64>()
        .ok()
        .copied()
}

fn depends_on_input(model: &TypedModel, id: usize) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if model.node(n).op_is::<TypedSource>() {
            return true;
        }
        stack.extend(model.node(n).inputs.iter().map(|i| i.node));
    }
    false
}
