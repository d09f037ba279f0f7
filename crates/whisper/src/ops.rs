//! Vox's own ONNX ops, in their domain, and tract's ONNX parser that knows them: what the
//! whisper graphs are parsed with, in the component and on the host.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;

use crate::{quant, self_attention, window_product};

/// The ONNX domain of Vox's ops.
pub const DOMAIN: &str = "ai.vox";

/// How tract's ONNX parser builds a node of one op type.
type Parse =
    fn(&ParsingContext, &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// Vox's op types and their parsers: the one list both [`is_ours`] and [`onnx`] read.
const OPS: [(&str, Parse); 5] = [
    (quant::OP_TYPE, parse::<quant::Int8LinearNode>),
    (quant::GATHER_OP_TYPE, parse::<quant::Int8GatherNode>),
    (
        window_product::OP_TYPE,
        parse::<window_product::WindowProductNode>,
    ),
    (
        self_attention::SCORES_OP_TYPE,
        parse::<self_attention::CachedScoresNode>,
    ),
    (
        self_attention::WEIGHTED_OP_TYPE,
        parse::<self_attention::CachedWeightedNode>,
    ),
];

/// Whether `op` is one of Vox's op types (in [`DOMAIN`]), not a standard ONNX one.
pub fn is_ours(op: &str) -> bool {
    OPS.iter().any(|(name, _)| *name == op)
}

/// tract's ONNX parser with Vox's ops registered.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    for (name, parse) in OPS {
        onnx.op_register.insert(name, parse);
    }
    onnx
}

/// Our nodes carry no attributes: parsing one is naming its expansion.
fn parse<N: Expansion + Default>(
    _ctx: &ParsingContext,
    _node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(N::default()), vec![]))
}
