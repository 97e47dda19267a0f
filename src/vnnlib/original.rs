//! Running the ORIGINAL model file on one input, independently of the
//! lowering: through tract's own ONNX importer, and through ONNX Runtime
//! loading the file's model. Counterexamples are confirmed this way.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::onnx::ImportedModel;
use crate::runtime::{Backend, HostTensor};
use crate::writer::builder::{ElemType, IoSpec, OnnxGraph, Precision};

/// The model file as given (plain or gzipped), decoded once.
pub struct OriginalModel {
    pub path: PathBuf,
    pub proto: tract_onnx::pb::ModelProto,
}

impl OriginalModel {
    pub fn read(path: &Path) -> Result<Self> {
        Ok(OriginalModel { path: path.to_path_buf(), proto: super::files::read_model(path)? })
    }
}

/// The model's view of one sample's inputs: a leading batch axis of 1 for
/// batched models.
fn input_shapes(model: &ImportedModel) -> Vec<Vec<usize>> {
    model
        .graph
        .inputs
        .iter()
        .map(|&v| if model.batched { model.graph.value(v).batched(1) } else { model.graph.value(v).shape.clone() })
        .collect()
}

fn split(model: &ImportedModel, x: &[f32]) -> Result<Vec<ArrayD<f32>>> {
    let mut offset = 0;
    input_shapes(model)
        .into_iter()
        .map(|shape| {
            let n: usize = shape.iter().product();
            let part = x.get(offset..offset + n).ok_or_else(|| Error::internal("input too short"))?.to_vec();
            offset += n;
            ArrayD::from_shape_vec(IxDyn(&shape), part).map_err(|e| Error::internal(e.to_string()))
        })
        .collect()
}

/// The tensor the objective reads, the one a property's `Y` names.
fn output_name(model: &ImportedModel) -> Result<String> {
    model.default_objective().map(|c| c.name.clone()).ok_or(Error::NoDifferentiableOutput)
}

/// The output `Y` of the original file run by tract's importer.
pub fn run_with_tract(original: &OriginalModel, model: &ImportedModel, x: &[f32]) -> Result<Vec<f64>> {
    let path = &original.path;
    let inputs = split(model, x)?;
    let err = |e: TractError| Error::Runtime {
        backend: "tract".into(),
        graph: path.display().to_string(),
        message: format!("{e:#}"),
    };
    // External data is looked up beside the file, as tract's own
    // `model_for_path` does.
    let dir = path.parent().and_then(Path::to_str);
    let parsed = tract_onnx::onnx().parse(&original.proto, dir).map_err(err)?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(Error::Model {
            path: path.clone(),
            message: format!("tract cannot resolve inputs {:?}", parsed.unresolved_inputs),
        });
    }
    let mut m = parsed.model;
    m = m.with_outputs_by_name([output_name(model)?]).map_err(err)?;
    for (i, a) in inputs.iter().enumerate() {
        m = m.with_input_fact(i, f32::fact(a.shape()).into()).map_err(err)?;
    }
    let plan = m.into_optimized().and_then(|m| m.into_runnable()).map_err(err)?;
    let out = plan.run(inputs.into_iter().map(|a| Tensor::from(a).into_tvalue()).collect()).map_err(err)?;
    let first = out.into_iter().next().ok_or_else(|| Error::internal("the model has no output"))?;
    let t = first.into_tensor().cast_to::<f64>().map_err(err)?.into_owned();
    Ok(t.into_plain_array::<f64>().map_err(err)?.iter().copied().collect())
}

/// The output `Y` of the original file run by `backend` (ONNX Runtime).
pub fn run_with(backend: &dyn Backend, original: &OriginalModel, model: &ImportedModel, x: &[f32]) -> Result<Vec<f64>> {
    let path = &original.path;
    let mut proto = original.proto.clone();
    let wanted = output_name(model)?;
    // The tensor may lie under a head rather than be a declared output.
    if let Some(g) = proto.graph.as_mut() {
        g.output.retain(|o| o.name == wanted);
        if g.output.is_empty() {
            g.output.push(tract_onnx::pb::ValueInfoProto { name: wanted.clone(), ..Default::default() });
        }
    }
    let graph = proto.graph.as_ref().ok_or_else(|| Error::internal("no graph"))?;
    let inputs = split(model, x)?;
    let names: Vec<String> = graph
        .input
        .iter()
        .filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
        .map(|i| i.name.clone())
        .collect();
    let g = OnnxGraph {
        name: path.display().to_string(),
        precision: Precision::F32,
        inputs: names
            .iter()
            .zip(&inputs)
            .map(|(n, a)| IoSpec { name: n.clone(), shape: a.shape().to_vec(), elem: ElemType::Float })
            .collect(),
        outputs: graph
            .output
            .iter()
            .map(|o| IoSpec { name: o.name.clone(), shape: vec![], elem: ElemType::Float })
            .collect(),
        model: proto.clone(),
    };
    let mut exe = backend.load(&g)?;
    let out = exe.run(inputs.into_iter().map(HostTensor::F32).collect())?;
    Ok(out.first().ok_or_else(|| Error::internal("the model has no output"))?.to_f64().iter().copied().collect())
}
