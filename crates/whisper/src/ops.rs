//! Vox's own ONNX ops, in their domain, and tract's ONNX parser that knows them: what the
//! whisper graphs are parsed with, in the component and on the host.

use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;

use crate::{quant, window_product};

/// The ONNX domain of Vox's ops.
pub const DOMAIN: &str = "ai.vox";

/// Whether `op` is one of Vox's op types (in [`DOMAIN`]), not a standard ONNX one.
pub fn is_ours(op: &str) -> bool {
    [
        quant::OP_TYPE,
        quant::GATHER_OP_TYPE,
        window_product::OP_TYPE,
    ]
    .contains(&op)
}

/// tract's ONNX parser with Vox's ops registered.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    let register = &mut onnx.op_register;
    register.insert(quant::OP_TYPE, parse::<quant::Int8LinearNode>);
    register.insert(quant::GATHER_OP_TYPE, parse::<quant::Int8GatherNode>);
    register.insert(
        window_product::OP_TYPE,
        parse::<window_product::WindowProductNode>,
    );
    onnx
}

/// Our nodes carry no attributes: parsing one is naming its expansion.
fn parse<N: Expansion + Default>(
    _ctx: &tract_onnx::model::ParsingContext,
    _node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(N::default()), vec![]))
}
