//! Running emitted ONNX graphs: one trait, so that the optimiser never knows
//! whether tract or ONNX Runtime runs them.

pub mod tensor;
pub mod tract;

pub use tensor::HostTensor;

use crate::error::Result;
use crate::lower::builder::OnnxGraph;

/// A loaded graph, ready to run on inputs in the graph's input order.
pub trait Executable: Send {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>>;
}

/// A runtime that can load emitted graphs.
pub trait Backend: Send + Sync {
    fn name(&self) -> String;
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>>;
}
