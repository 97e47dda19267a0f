//! Running the ORIGINAL model file on one input, independently of the
//! lowering: through tract's own ONNX importer, and through ONNX Runtime
//! loading the file's model. Counterexamples are confirmed this way. Each
//! runtime loads the file at its first run and keeps it for the next.

use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::onnx::ImportedModel;
use crate::runtime::{Backend, Executable, HostTensor};
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

/// The original file as tract's importer runs it, loaded at the first call
/// and kept: a search may confirm thousands of candidates, and parsing and
/// optimising the model costs far more than one run.
pub struct TractOriginal<'a> {
    original: &'a OriginalModel,
    model: &'a ImportedModel,
    plan: OnceCell<Arc<TypedRunnableModel>>,
}

impl<'a> TractOriginal<'a> {
    pub fn new(original: &'a OriginalModel, model: &'a ImportedModel) -> Self {
        TractOriginal { original, model, plan: OnceCell::new() }
    }

    fn error(&self, e: TractError) -> Error {
        crate::runtime::tract::runtime_error(&self.original.path.display().to_string(), e)
    }

    fn load(&self) -> Result<Arc<TypedRunnableModel>> {
        let path = &self.original.path;
        // External data is looked up beside the file, as tract's own
        // `model_for_path` does.
        let dir = path.parent().and_then(Path::to_str);
        let parsed = tract_onnx::onnx().parse(&self.original.proto, dir).map_err(|e| self.error(e))?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(Error::Model {
                path: path.clone(),
                message: format!("tract cannot resolve inputs {:?}", parsed.unresolved_inputs),
            });
        }
        let mut m = parsed.model.with_outputs_by_name([output_name(self.model)?]).map_err(|e| self.error(e))?;
        for (i, shape) in input_shapes(self.model).iter().enumerate() {
            m = m.with_input_fact(i, f32::fact(shape).into()).map_err(|e| self.error(e))?;
        }
        m.into_optimized().and_then(|m| m.into_runnable()).map_err(|e| self.error(e))
    }

    /// The output `Y` at `x`.
    pub fn run(&self, x: &[f32]) -> Result<Vec<f64>> {
        let inputs = split(self.model, x)?;
        let plan = match self.plan.get() {
            Some(plan) => plan,
            None => {
                let loaded = self.load()?;
                self.plan.get_or_init(|| loaded)
            }
        };
        let out =
            plan.run(inputs.into_iter().map(|a| Tensor::from(a).into_tvalue()).collect()).map_err(|e| self.error(e))?;
        let first = out.into_iter().next().ok_or_else(|| Error::internal("the model has no output"))?;
        let t = first.into_tensor().cast_to::<f64>().map_err(|e| self.error(e))?.into_owned();
        Ok(t.into_plain_array::<f64>().map_err(|e| self.error(e))?.iter().copied().collect())
    }
}

/// The original file as `backend` (ONNX Runtime) runs it, loaded at the
/// first call and kept (a session per call would cost more than the run).
pub struct BackendOriginal<'a> {
    backend: &'a dyn Backend,
    original: &'a OriginalModel,
    model: &'a ImportedModel,
    loaded: RefCell<Option<Box<dyn Executable>>>,
}

impl<'a> BackendOriginal<'a> {
    pub fn new(backend: &'a dyn Backend, original: &'a OriginalModel, model: &'a ImportedModel) -> Self {
        BackendOriginal { backend, original, model, loaded: RefCell::new(None) }
    }

    /// The file's graph with `Y` as its only output, for one input, its
    /// external data read from beside the file.
    fn graph(&self) -> Result<OnnxGraph> {
        let mut proto = self.original.proto.clone();
        crate::onnx::proto::inline_external_data(&self.original.path, &mut proto)?;
        let wanted = output_name(self.model)?;
        // The tensor may lie under a head rather than be a declared output.
        if let Some(g) = proto.graph.as_mut() {
            g.output.retain(|o| o.name == wanted);
            if g.output.is_empty() {
                g.output.push(tract_onnx::pb::ValueInfoProto { name: wanted.clone(), ..Default::default() });
            }
        }
        let graph = proto.graph.as_ref().ok_or_else(|| Error::internal("no graph"))?;
        let names = graph.input.iter().filter(|i| !graph.initializer.iter().any(|t| t.name == i.name));
        let inputs = names
            .zip(input_shapes(self.model))
            .map(|(i, shape)| IoSpec { name: i.name.clone(), shape, elem: ElemType::Float })
            .collect();
        let outputs = graph
            .output
            .iter()
            .map(|o| IoSpec { name: o.name.clone(), shape: vec![], elem: ElemType::Float })
            .collect();
        Ok(OnnxGraph {
            name: self.original.path.display().to_string(),
            precision: Precision::F32,
            inputs,
            outputs,
            model: proto,
        })
    }

    /// The output `Y` at `x`.
    pub fn run(&self, x: &[f32]) -> Result<Vec<f64>> {
        let inputs = split(self.model, x)?;
        let mut loaded = self.loaded.borrow_mut();
        let exe = match loaded.as_mut() {
            Some(exe) => exe,
            None => loaded.insert(self.backend.load(&self.graph()?)?),
        };
        let out = exe.run(inputs.into_iter().map(HostTensor::F32).collect())?;
        Ok(out.first().ok_or_else(|| Error::internal("the model has no output"))?.to_f64().iter().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tract::TractBackend;

    /// A loaded original keeps its plan and session: each later input gives
    /// what a fresh load gives there, not the first input's output.
    #[test]
    fn a_kept_load_runs_each_input_as_a_fresh_one() {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        let path = Path::new("mlp.onnx");
        let model = crate::onnx::import_proto(path, &zoo.graph.model).unwrap();
        let original = OriginalModel { path: path.to_path_buf(), proto: zoo.graph.model.clone() };
        let backend = TractBackend;
        let (tract, other) = (TractOriginal::new(&original, &model), BackendOriginal::new(&backend, &original, &model));
        let mut outputs = Vec::new();
        for k in 0..3 {
            let x: Vec<f32> = (0..6).map(|i| ((i * 7 + k * 3) % 11) as f32 / 11.0 - 0.3).collect();
            let fresh = TractOriginal::new(&original, &model).run(&x).unwrap();
            assert_eq!(tract.run(&x).unwrap(), fresh, "input {k}");
            assert_eq!(other.run(&x).unwrap(), BackendOriginal::new(&backend, &original, &model).run(&x).unwrap());
            outputs.push(fresh);
        }
        assert!(outputs[0] != outputs[1] && outputs[1] != outputs[2], "the inputs give different outputs");
    }
}
