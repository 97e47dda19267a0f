//! The project's own layer graph (IR): what import produces and every later
//! stage consumes. Nothing after import reads ONNX protobufs; nodes keep
//! their ONNX name and op type for messages and `inspect`.

pub mod graph;
pub mod op;
pub mod shape;
pub mod spec;

pub use graph::{Graph, GraphOutput, Node, NodeId, Value, ValueId};
pub use op::*;
pub use spec::OpSpec;
