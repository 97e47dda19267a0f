//! The tract backend: pure Rust, always built, the static binary's engine.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{Backend, Executable, HostTensor};
use crate::error::{Error, Result};
use crate::writer::builder::OnnxGraph;

#[derive(Debug, Clone, Copy, Default)]
pub struct TractBackend;

struct TractExecutable {
    graph: String,
    plan: Arc<TypedRunnableModel>,
}

/// tract's error on `graph`, in one line.
fn runtime_error(graph: &str, e: TractError) -> Error {
    Error::Runtime { backend: "tract".into(), graph: graph.to_string(), message: format!("{e:#}").replace('\n', " ") }
}

impl TractBackend {
    /// Loads `graph` in one piece.
    pub fn load_whole(graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        let plan = tract_onnx::onnx()
            .model_for_proto_model(&graph.model)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| runtime_error(&graph.name, e))?;
        Ok(Box::new(TractExecutable { graph: graph.name.clone(), plan }))
    }
}

impl Backend for TractBackend {
    /// Large graphs load in segments ([`super::segmented`]).
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        super::segmented::load_with(graph, TractBackend::load_whole)
    }
}

fn to_tvalue(t: HostTensor) -> TValue {
    match t {
        HostTensor::F32(a) => Tensor::from(a).into_tvalue(),
        HostTensor::F64(a) => Tensor::from(a).into_tvalue(),
        HostTensor::I64(a) => Tensor::from(a).into_tvalue(),
    }
}

fn from_tvalue(graph: &str, v: TValue) -> Result<HostTensor> {
    let t = v.into_tensor();
    let err = |e| runtime_error(graph, e);
    Ok(match t.datum_type() {
        DatumType::F32 => HostTensor::F32(t.into_plain_array::<f32>().map_err(err)?),
        DatumType::F64 => HostTensor::F64(t.into_plain_array::<f64>().map_err(err)?),
        DatumType::I64 => HostTensor::I64(t.into_plain_array::<i64>().map_err(err)?),
        // A Shape's output: integers, as ONNX has them.
        DatumType::TDim => {
            HostTensor::I64(t.cast_to::<i64>().map_err(err)?.into_owned().into_plain_array::<i64>().map_err(err)?)
        }
        _ => {
            let c = t.cast_to::<f32>().map_err(err)?;
            HostTensor::F32(c.to_plain_array_view::<f32>().map_err(err)?.to_owned())
        }
    })
}

impl Executable for TractExecutable {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        let values: TVec<TValue> = inputs.into_iter().map(to_tvalue).collect();
        let outs = self.plan.run(values).map_err(|e| runtime_error(&self.graph, e))?;
        outs.into_iter().map(|v| from_tvalue(&self.graph, v)).collect()
    }
}
