//! Running the ORIGINAL model file on one input, independently of the
//! lowering: the file's own graph, through tract's ONNX importer or ONNX
//! Runtime. `falsify` confirms its counterexamples this way, and `audit`
//! and `run` check the network they derived from the file against the file
//! itself ([`FileRunner::check`]). Each runtime loads the file at its
//! first run and keeps it for the next; a deep file loads in segments, as
//! the search's own graphs do (`runtime::segmented`).

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;

use ndarray::{ArrayD, ArrayView2, IxDyn};
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{type_proto, TensorShapeProto, ValueInfoProto};

use crate::error::{Error, Result};
use crate::onnx::ImportedModel;
use crate::runtime::{Backend, Executable, HostTensor};
use crate::writer::builder::{ElemType, IoSpec, OnnxGraph, Precision};

/// The model file as given, decoded once: where it lies (its external data
/// lies beside it) and its graph.
pub struct OriginalModel {
    pub path: PathBuf,
    pub proto: tract_onnx::pb::ModelProto,
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

/// The tensor the objective reads by default, the one a property's `Y`
/// names.
fn output_name(model: &ImportedModel) -> Result<String> {
    model.default_objective().map(|c| c.name.clone()).ok_or(Error::NoDifferentiableOutput)
}

/// How far the derived network's outputs may lie from the file's, relative
/// to the largest output magnitude of the row (at least 1). Float32 rounding
/// in another order of operations (folded batch norms, fused layers) stays
/// far below it: the lowering's tests hold 1e-4 on every fixture. A
/// wrongly derived network is off by about the outputs' own size.
pub const FILE_CHECK_TOLERANCE: f64 = 1e-3;

/// What [`LoadedOriginal::check_derived`] found: the rows compared and
/// their largest difference, or why the file could not be run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileCheck {
    /// The runtime that ran the file: `onnxruntime` where its library
    /// loads (the reference implementation of ONNX), else `tract`.
    pub runtime: String,
    /// Inputs run through both and compared (where the file could not be
    /// run, those before it failed).
    pub rows: usize,
    /// The largest difference between an output of the derived network and
    /// the file's, relative as [`FILE_CHECK_TOLERANCE`] says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_difference: Option<f64>,
    /// Why the file could not be run (then nothing was compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl FileCheck {
    /// Counts `other`'s rows in this check: their number, and the largest
    /// difference of both.
    pub fn add_rows(&mut self, other: &FileCheck) {
        self.rows += other.rows;
        self.max_difference = match (self.max_difference, other.max_difference) {
            (Some(d), Some(e)) => Some(d.max(e)),
            (d, e) => d.or(e),
        };
    }

    /// The checks of shards merged into one report: every row compared, the
    /// largest difference, the shards' runtime ([`MIXED_RUNTIMES`] where
    /// they differ), and every shard's reason where the file could not be
    /// run; `None` where no shard checked.
    pub fn merged<'c>(checks: impl IntoIterator<Item = Option<&'c FileCheck>>) -> Option<FileCheck> {
        let mut merged: Option<FileCheck> = None;
        for (shard, check) in checks.into_iter().enumerate() {
            let Some(c) = check else { continue };
            let unavailable = c.unavailable.as_ref().map(|why| format!("shard {shard}: {why}"));
            let Some(m) = merged.as_mut() else {
                merged = Some(FileCheck { unavailable, ..c.clone() });
                continue;
            };
            if m.runtime != c.runtime {
                m.runtime = MIXED_RUNTIMES.into();
            }
            m.add_rows(c);
            m.unavailable = match (m.unavailable.take(), unavailable) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
        }
        merged
    }
}

/// A merged check's `runtime` where the shards' files ran on different
/// runtimes (each shard's own check names its runtime).
pub const MIXED_RUNTIMES: &str = "mixed";

/// A model file and the runtime that runs it for a check, with the
/// runtime's name.
#[derive(Clone, Copy)]
pub struct FileRunner<'a> {
    pub original: &'a OriginalModel,
    pub backend: &'a dyn Backend,
    pub runtime: &'a str,
}

impl FileRunner<'_> {
    /// The tensor `output` of the file at each row of `x` against
    /// `derived`, the same rows through the network derived from the file
    /// ([`LoadedOriginal::check_derived`]).
    pub fn check(
        self,
        model: &ImportedModel,
        output: &str,
        x: ArrayView2<f32>,
        derived: ArrayView2<f32>,
    ) -> Result<FileCheck> {
        let loaded = LoadedOriginal::new(self.backend, self.original, model).for_output(output);
        loaded.check_derived(self.runtime, x, derived)
    }
}

/// The original file as `backend` runs it, loaded at the first call and
/// kept: a search may confirm thousands of candidates, and parsing and
/// optimising the model (a session per call) costs far more than one run.
pub struct LoadedOriginal<'a> {
    backend: &'a dyn Backend,
    original: &'a OriginalModel,
    model: &'a ImportedModel,
    /// The tensor run returns; `None`: the default objective's.
    output: Option<String>,
    loaded: RefCell<Option<Loaded>>,
}

/// What [`LoadedOriginal`] keeps from its first run.
enum Loaded {
    /// `Y` is the file's `k`-th input.
    Input(usize),
    Graph(Box<dyn Executable>),
}

impl<'a> LoadedOriginal<'a> {
    /// The file as `backend` runs it, returning the default objective's
    /// tensor.
    pub fn new(backend: &'a dyn Backend, original: &'a OriginalModel, model: &'a ImportedModel) -> Self {
        LoadedOriginal { backend, original, model, output: None, loaded: RefCell::new(None) }
    }

    /// The same, returning the tensor `name` instead.
    pub fn for_output(self, name: &str) -> Self {
        LoadedOriginal { output: Some(name.to_string()), ..self }
    }

    /// The file's graph with `Y` as its only output, its inputs declared
    /// with one sample's shapes (an optimiser does better on fixed shapes
    /// than on a symbolic batch axis), its external data read from beside
    /// the file.
    fn graph(&self) -> Result<OnnxGraph> {
        let mut proto = self.original.proto.clone();
        crate::onnx::proto::inline_external_data(&self.original.path, &mut proto)?;
        let wanted = match &self.output {
            Some(name) => name.clone(),
            None => output_name(self.model)?,
        };
        // tract panics on an output that no node makes.
        let made = |g: &tract_onnx::pb::GraphProto| {
            g.node.iter().any(|n| n.output.contains(&wanted)) || g.input.iter().any(|i| i.name == wanted)
        };
        if !proto.graph.as_ref().is_some_and(made) {
            return Err(Error::Model {
                path: self.original.path.clone(),
                message: format!("the file has no tensor '{}'", crate::error::clip(&wanted)),
            });
        }
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
        let mut inputs = split(self.model, x)?;
        let mut loaded = self.loaded.borrow_mut();
        let loaded = match loaded.as_mut() {
            Some(loaded) => loaded,
            None => loaded.insert(self.load()?),
        };
        let exe = match loaded {
            Loaded::Input(k) if *k < inputs.len() => {
                return Ok(inputs.swap_remove(*k).iter().map(|&v| f64::from(v)).collect());
            }
            Loaded::Input(_) => return Err(Error::internal("an input the model does not have")),
            Loaded::Graph(exe) => exe,
        };
        let out = exe.run(inputs.into_iter().map(HostTensor::F32).collect())?;
        Ok(out.first().ok_or_else(|| Error::internal("the model has no output"))?.to_f64().iter().copied().collect())
    }

    /// The file's graph loaded, or the input that `Y` is (a graph whose
    /// output is its input computes nothing, and tract cannot load it).
    fn load(&self) -> Result<Loaded> {
        let graph = self.graph()?;
        match graph.inputs.iter().position(|i| graph.outputs.first().is_some_and(|o| o.name == i.name)) {
            Some(k) => Ok(Loaded::Input(k)),
            None => Ok(Loaded::Graph(self.backend.load(&graph)?)),
        }
    }

    /// Runs the file on each row of `x` and compares its output with
    /// `derived`, the same rows through the network adr-onnx derived from
    /// the file. An error when they differ by more than
    /// [`FILE_CHECK_TOLERANCE`]: a search on the derived network would not
    /// hold for the file. A file this runtime cannot run (an op it lacks)
    /// gives a check with `unavailable` set.
    pub fn check_derived(&self, runtime: &str, x: ArrayView2<f32>, derived: ArrayView2<f32>) -> Result<FileCheck> {
        let rows = x.nrows().min(derived.nrows());
        // `compared`: the rows compared before the file failed to run.
        let unavailable = |compared: usize, why: String| {
            Ok(FileCheck { runtime: runtime.to_string(), rows: compared, max_difference: None, unavailable: Some(why) })
        };
        let mut worst = 0f64;
        for (i, (x, d)) in x.rows().into_iter().zip(derived.rows()).enumerate() {
            let file = match crate::contained::contain(|| self.run(&x.to_vec())) {
                Ok(Ok(file)) => file,
                Ok(Err(e)) => return unavailable(i, e.to_string()),
                Err(panic) => return unavailable(i, format!("{runtime} failed on the file: {panic}")),
            };
            if file.len() != d.len() {
                return unavailable(
                    i,
                    format!("the file's output has {} values, the derived network's {}", file.len(), d.len()),
                );
            }
            let scale = file.iter().fold(1f64, |m, v| m.max(v.abs()));
            for (j, (&f, &d)) in file.iter().zip(d).enumerate() {
                if f == f64::from(d) || (f.is_nan() && d.is_nan()) {
                    continue;
                }
                let difference = (f64::from(d) - f).abs() / scale;
                if difference.is_nan() || difference > FILE_CHECK_TOLERANCE {
                    return Err(Error::Model {
                        path: self.original.path.clone(),
                        message: format!(
                            "the network adr-onnx derived from this file disagrees with the file itself (run by \
                             {runtime}): on input {i}, value {j} of the output is {d} against the file's {f} (relative \
                             difference {difference:.2e}, tolerance {FILE_CHECK_TOLERANCE:e}); results on it would \
                             not hold for the file. Please report this model"
                        ),
                    });
                }
                worst = worst.max(difference);
            }
        }
        Ok(FileCheck { runtime: runtime.to_string(), rows, max_difference: Some(worst), unavailable: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tract::TractBackend;
    use crate::writer::builder::GraphBuilder;
    use std::path::Path;
    use tract_onnx::pb::{ModelProto, NodeProto};

    /// A loaded original keeps its plan and session: each later input gives
    /// what a fresh load gives there, not the first input's output.
    #[test]
    fn a_kept_load_runs_each_input_as_a_fresh_one() {
        let (original, model) = mlp();
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

    /// `proto` as the file `name`, and its import.
    fn as_file(name: &str, proto: ModelProto) -> (OriginalModel, ImportedModel) {
        let path = Path::new(name);
        let model = crate::onnx::import_proto(path, &proto).unwrap();
        (OriginalModel { path: path.to_path_buf(), proto }, model)
    }

    /// The zoo's `mlp_gemm` as a file, imported.
    fn mlp() -> (OriginalModel, ImportedModel) {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        as_file("mlp.onnx", zoo.graph.model)
    }

    /// The file's own outputs pass the check; one value off by a tenth of
    /// the outputs' size fails it, naming the file, the input and the value.
    #[test]
    fn the_check_passes_the_files_own_outputs_and_names_a_disagreement() {
        let (original, model) = mlp();
        let file = LoadedOriginal::new(&TractBackend, &original, &model);
        let x = ndarray::Array2::from_shape_fn((3, 6), |(r, c)| ((r * 5 + c * 3) % 7) as f32 / 7.0 - 0.4);
        let outputs: Vec<Vec<f64>> = x.rows().into_iter().map(|r| file.run(&r.to_vec()).unwrap()).collect();
        let derived = ndarray::Array2::from_shape_fn((3, outputs[0].len()), |(r, c)| outputs[r][c] as f32);
        let check = file.check_derived("tract", x.view(), derived.view()).unwrap();
        assert_eq!((check.rows, check.unavailable), (3, None));
        assert!(check.max_difference.is_some_and(|d| d < 1e-6), "{:?}", check.max_difference);

        let mut wrong = derived.clone();
        let scale = outputs[2].iter().fold(1f64, |m, v| m.max(v.abs()));
        wrong[[2, 1]] += (0.1 * scale) as f32;
        let message = file.check_derived("tract", x.view(), wrong.view()).unwrap_err().to_string();
        assert!(message.starts_with("mlp.onnx: the network adr-onnx derived from this file disagrees"), "{message}");
        assert!(message.contains("(run by tract)"), "{message}");
        assert!(message.contains("on input 2, value 1 of the output"), "{message}");
        assert!(!message.contains('\n'));
    }

    /// A file the runtime cannot run is reported, not compared.
    #[test]
    fn a_file_the_runtime_cannot_run_leaves_the_check_unavailable() {
        let (original, model) = mlp();
        let file = LoadedOriginal::new(&TractBackend, &original, &model).for_output("no_such_tensor");
        let x = ndarray::Array2::zeros((2, 6));
        let check = file.check_derived("tract", x.view(), ndarray::Array2::zeros((2, 2)).view()).unwrap();
        assert_eq!((check.rows, check.max_difference), (0, None));
        assert!(check.unavailable.is_some_and(|why| why.contains("no_such_tensor")));
    }

    /// A runtime that panics on every graph it loads, as tract did on a
    /// ConvTranspose padded `SAME` (before `runtime::tract` spelled out its
    /// pads).
    struct Panicking;
    impl Backend for Panicking {
        fn load(&self, _graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
            panic!("not yet implemented: a runtime's gap")
        }
    }

    /// A panic of the runtime on the file leaves the check unavailable
    /// instead of ending the command.
    #[test]
    fn a_panic_of_the_runtime_leaves_the_check_unavailable() {
        let (original, model) = mlp();
        let file = LoadedOriginal::new(&Panicking, &original, &model);
        let x = ndarray::Array2::from_elem((1, 6), 0.5);
        let check = file.check_derived("tract", x.view(), ndarray::Array2::zeros((1, 3)).view()).unwrap();
        assert_eq!((check.rows, check.max_difference), (0, None));
        let why = check.unavailable.unwrap_or_default();
        assert!(why.starts_with("tract failed on the file: not yet implemented"), "{why}");
    }

    /// A file whose output is its input (tract cannot load such a graph)
    /// gives the input back.
    #[test]
    fn an_output_that_is_the_input_is_the_input() {
        let mut g = GraphBuilder::new("passthrough", Precision::F32);
        let x = g.input("x", vec![1, 3]);
        let r = g.node("Relu", &[&x], vec![], vec![1, 3]);
        g.output(&x, "x");
        g.output(&r, "r");
        let (original, model) = as_file("passthrough.onnx", g.finish().model);
        let file = LoadedOriginal::new(&TractBackend, &original, &model).for_output("x");
        assert_eq!(file.run(&[-2.5, 0.0, 1.5]).unwrap(), vec![-2.5, 0.0, 1.5]);
        let relu = LoadedOriginal::new(&TractBackend, &original, &model).for_output("r");
        assert_eq!(relu.run(&[-2.5, 0.0, 1.5]).unwrap(), vec![0.0, 0.0, 1.5]);
    }

    /// A ConstantOfShape without `value` fills with a float32 zero, as ONNX
    /// says (tract's importer alone fills with a float64 one and fails).
    #[test]
    fn a_default_fill_is_a_float32_zero() {
        let mut g = GraphBuilder::new("fill", Precision::F32);
        let x = g.input("x", vec![1, 3]);
        let shape = g.constant_i64("shape", &[3, 3]);
        let zeros = g.node("ConstantOfShape", &[&shape], vec![], vec![3, 3]);
        let product = g.node("MatMul", &[&x, &zeros], vec![], vec![1, 3]);
        let y = g.node("Add", &[&x, &product], vec![], vec![1, 3]);
        let r = g.node("Relu", &[&y], vec![], vec![1, 3]);
        g.output(&r, "y");
        let (original, model) = as_file("fill.onnx", g.finish().model);
        let file = LoadedOriginal::new(&TractBackend, &original, &model);
        assert_eq!(file.run(&[-2.5, 0.0, 1.5]).unwrap(), vec![0.0, 0.0, 1.5]);
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
    /// and gives there what its whole load gives; also when its
    /// initializers are listed among its inputs, as older exporters wrote
    /// them, and a label head follows its logits.
    #[test]
    fn a_deep_original_runs_in_segments_as_it_runs_whole() {
        let layers = crate::runtime::segmented::DEFAULT_MAX_NODES / 3 + 10;
        let plain = deep_chain(layers).model;
        let mut older = plain.clone();
        if let Some(g) = older.graph.as_mut() {
            let listed: Vec<ValueInfoProto> = g
                .initializer
                .iter()
                .map(|t| {
                    let mut info = g.input[0].clone();
                    info.name = t.name.clone();
                    declare_shape(&mut info, &t.dims.iter().map(|&d| d as usize).collect::<Vec<_>>());
                    info
                })
                .collect();
            g.input.extend(listed);
            let y = g.output[0].name.clone();
            g.node.push(NodeProto {
                op_type: "ArgMax".into(),
                name: "label".into(),
                input: vec![y],
                output: vec!["label".into()],
                ..Default::default()
            });
        }
        for proto in [plain, older] {
            let (original, model) = as_file("deep.onnx", proto);
            let kept = LoadedOriginal::new(&TractBackend, &original, &model);
            let whole_graph = kept.graph().unwrap();
            assert!(crate::runtime::segmented::segment_count(&whole_graph) > 1, "the check's graph is cut");
            let mut whole = TractBackend::load_whole(&whole_graph).unwrap();
            for x in [[0.5f32, -0.2, 0.9], [1.5, 2.0, -3.0]] {
                let fed = HostTensor::F32(ArrayD::from_shape_vec(IxDyn(&[1, 3]), x.to_vec()).unwrap());
                let expected = whole.run(vec![fed]).unwrap()[0].to_f64();
                let got = kept.run(&x).unwrap();
                for (g, e) in got.iter().zip(expected.iter()) {
                    assert!((g - e).abs() <= 1e-5 * e.abs().max(1.0), "{g} against {e}");
                }
                assert!(got.iter().any(|v| *v != 0.0), "the chain passes a signal");
            }
        }
    }
}
