//! The project's own layer graph (IR): what import produces and every later
//! stage consumes. Nothing after import sees ONNX strings except node names.

pub mod graph;
pub mod op;
pub mod shape;

pub use graph::{Graph, GraphOutput, Node, NodeId, Value, ValueId};
pub use op::*;
