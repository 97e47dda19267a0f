//! The registry of ONNX op builders: one function per ONNX op type, grouped
//! by family, each lowering a node into IR ops.

mod activation;
mod conv;
mod elementwise;
mod layout;
mod linear;
mod norm;
mod pool;
mod window;

use tract_onnx::pb::NodeProto;

use super::context::ImportCtx;

/// Lowers one node into the IR, binding its outputs, or says why it cannot.
pub type Builder = fn(&mut ImportCtx, &NodeProto) -> Result<(), String>;

const FAMILIES: &[&[(&str, Builder)]] =
    &[activation::OPS, conv::OPS, elementwise::OPS, layout::OPS, linear::OPS, norm::OPS, pool::OPS];

/// The builder registered for an ONNX op type.
pub fn builder(op_type: &str) -> Option<Builder> {
    FAMILIES.iter().flat_map(|f| f.iter()).find(|(name, _)| *name == op_type).map(|(_, b)| *b)
}
