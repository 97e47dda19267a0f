//! Running the ORIGINAL model file on one input, independently of the
//! lowering: the file's own graph, through tract's ONNX importer or ONNX
//! Runtime. Counterexamples are confirmed this way. Each runtime loads the
//! file at its first run and keeps it for the next; a deep file loads in
//! segments, as the search's own graphs do (`runtime::segmented`).

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{type_proto, TensorShapeProto, ValueInfoProto};

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

/// Declares `input`'s dimensions as `shape`, keeping its element type.
fn declare_shape(input: &mut ValueInfoProto, shape: &[usize]) {
    let Some(type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        return;
    };
    let dim =
        shape.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d as i64)), ..Default::default() });
    t.shape = Some(TensorShapeProto { dim: dim.collect() });
}

/// The tensor the objective reads, the one a property's `Y` names.
fn output_name(model: &ImportedModel) -> Result<String> {
    model.default_objective().map(|c| c.name.clone()).ok_or(Error::NoDifferentiableOutput)
}

/// The original file as `backend` runs it, loaded at the first call and
/// kept: a search may confirm thousands of candidates, and parsing and
/// optimising the model (a session per call) costs far more than one run.
pub struct LoadedOriginal<'a> {
    backend: &'a dyn Backend,
    original: &'a OriginalModel,
    model: &'a ImportedModel,
    loaded: RefCell<Option<Box<dyn Executable>>>,
}

impl<'a> LoadedOriginal<'a> {
    pub fn new(backend: &'a dyn Backend, original: &'a OriginalModel, model: &'a ImportedModel) -> Self {
        LoadedOriginal { backend, original, model, loaded: RefCell::new(None) }
    }

    /// The file's graph with `Y` as its only output, its inputs declared
    /// with one sample's shapes (an optimiser does better on fixed shapes
    /// than on a symbolic batch axis), its external data read from beside
    /// the file.
    fn graph(&self) -> Result<OnnxGraph> {
        let mut proto = self.original.proto.clone();
        crate::onnx::proto::inline_external_data(&self.original.path, &mut proto)?;
        let wanted = output_name(self.model)?;
        // The tensor may lie under a head rather than be a declared output.
        if let Some(g) = proto.graph.as_mut() {
            g.output.retain(|o| o.name == wanted);
            if g.output.is_empty() {
                g.output.push(ValueInfoProto { name: wanted.clone(), ..Default::default() });
            }
        }
        let graph = proto.graph.as_mut().ok_or_else(|| Error::internal("no graph"))?;
        let initializers: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
        let fed = graph.input.iter_mut().filter(|i| !initializers.contains(&i.name));
        let mut inputs = Vec::new();
        for (input, shape) in fed.zip(input_shapes(self.model)) {
            declare_shape(input, &shape);
            inputs.push(IoSpec { name: input.name.clone(), shape, elem: ElemType::Float });
        }
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
    use crate::writer::builder::GraphBuilder;

    /// A loaded original keeps its plan and session: each later input gives
    /// what a fresh load gives there, not the first input's output.
    #[test]
    fn a_kept_load_runs_each_input_as_a_fresh_one() {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        let path = Path::new("mlp.onnx");
        let model = crate::onnx::import_proto(path, &zoo.graph.model).unwrap();
        let original = OriginalModel { path: path.to_path_buf(), proto: zoo.graph.model.clone() };
        let kept = LoadedOriginal::new(&TractBackend, &original, &model);
        let mut outputs = Vec::new();
        for k in 0..3 {
            let x: Vec<f32> = (0..6).map(|i| ((i * 7 + k * 3) % 11) as f32 / 11.0 - 0.3).collect();
            let fresh = LoadedOriginal::new(&TractBackend, &original, &model).run(&x).unwrap();
            assert_eq!(kept.run(&x).unwrap(), fresh, "input {k}");
            outputs.push(fresh);
        }
        assert!(outputs[0] != outputs[1] && outputs[1] != outputs[2], "the inputs give different outputs");
    }

    /// A chain of `layers` MatMul-Add-ReLU layers of width 3 (3 nodes
    /// each) on an input whose batch axis is symbolic, as exporters write it.
    fn deep_chain(layers: usize) -> OnnxGraph {
        let mut g = GraphBuilder::new("deep", Precision::F32).with_symbolic_batch("N");
        let mut h = g.input("x", vec![1, 3]);
        for l in 0..layers {
            let w: Vec<f32> =
                (0..9).map(|i| if i % 4 == 0 { 1.0 } else { 0.01 * ((i + l) % 5) as f32 - 0.02 }).collect();
            let w = g.constant("w", &ArrayD::from_shape_vec(IxDyn(&[3, 3]), w).unwrap());
            let b = g.constant("b", &ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.001, -0.002, 0.003]).unwrap());
            let m = g.node("MatMul", &[&h, &w], vec![], vec![1, 3]);
            let a = g.node("Add", &[&m, &b], vec![], vec![1, 3]);
            h = g.node("Relu", &[&a], vec![], vec![1, 3]);
        }
        g.output(&h, "y");
        g.finish()
    }

    /// A file deeper than the segment threshold is confirmed in segments,
    /// and gives there what its whole load gives.
    #[test]
    fn a_deep_original_runs_in_segments_as_it_runs_whole() {
        let layers = crate::runtime::segmented::DEFAULT_MAX_NODES / 3 + 10;
        let graph = deep_chain(layers);
        let path = Path::new("deep.onnx");
        let model = crate::onnx::import_proto(path, &graph.model).unwrap();
        let original = OriginalModel { path: path.to_path_buf(), proto: graph.model.clone() };
        let kept = LoadedOriginal::new(&TractBackend, &original, &model);
        let whole_graph = kept.graph().unwrap();
        assert!(
            crate::runtime::segmented::segment_count(&whole_graph) > 1,
            "the check's graph of {} nodes is cut",
            3 * layers + 1
        );
        let mut whole = TractBackend::load_whole(&whole_graph).unwrap();
        for x in [[0.5f32, -0.2, 0.9], [1.5, 2.0, -3.0]] {
            let expected =
                whole.run(vec![HostTensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 3]), x.to_vec()).unwrap())]);
            let expected = expected.unwrap()[0].to_f64();
            let got = kept.run(&x).unwrap();
            for (g, e) in got.iter().zip(expected.iter()) {
                assert!((g - e).abs() <= 1e-5 * e.abs().max(1.0), "{g} against {e}");
            }
            assert!(got.iter().any(|v| *v != 0.0), "the chain passes a signal");
        }
    }
}
