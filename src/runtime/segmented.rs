//! Segmented execution of large graphs: this module owns the splitting of an
//! emitted graph of more than [`max_nodes`] nodes into consecutive segments,
//! each its own ONNX model, and the runner that runs them in order.
//!
//! Both runtimes' graph optimisers take time superlinear in the node count
//! (tract's `into_typed`/`into_optimized`, ONNX Runtime's session creation),
//! so that a deep chain's step graph took minutes to load in one piece. Cut
//! into pieces of at most [`max_nodes`] nodes, the load time grows linearly
//! with depth. A segment reads the tensors that the graph's inputs or earlier
//! segments produce, writes those that later segments or the graph's outputs
//! read, and carries the initializers its nodes use. It is loaded at its
//! first run, its inputs declared with the element type and shape of the
//! tensors it receives (and loaded again when they change). Cuts cross float
//! tensors only (see [`may_cross`]): a cut that would cross another moves
//! earlier, or later when it must. Nodes no output depends on are left out,
//! and a model's local functions go with every segment. Small graphs are
//! loaded in one piece, exactly as before.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{
    type_proto, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use super::{Executable, HostTensor};
use crate::error::{Error, Result};
use crate::writer::builder::{ElemType, IoSpec, OnnxGraph};

/// Graphs of more nodes than this run in segments of at most
/// [`SEGMENT_NODES`] nodes (or this many, if fewer). Measured on ADR's step graph of a 200-layer width-8 chain (one
/// iteration on tract, docs/benchmarks.md "Load time against depth"):
/// segments of 100 nodes ready it in 2.3 s, 400 in 3.8 s, 1,000 in 7.9 s,
/// 2,000 in 13 s, the whole graph in 112 s, and 40 more iterations cost the
/// same 1.7 s with segments of 100 or 400 nodes. 2,000 keeps every graph
/// whose whole load takes about a second or less whole, exactly as before
/// (the MNIST CNN's ADR step graph has 331 nodes): a cut costs a copy of
/// each crossing tensor per call and the fusions across it, unmeasured on
/// convolutional models and on CUDA, so only graphs whose load the
/// runtimes' superlinear optimisers dominate are cut.
pub const DEFAULT_MAX_NODES: usize = 2_000;

/// The most nodes of one segment: tract's optimiser costs more per node in
/// larger pieces (its patches look names up linearly), and a segment costs
/// little per run; 150 is the knee of the measurements above.
pub const SEGMENT_NODES: usize = 150;

/// Environment variable overriding [`DEFAULT_MAX_NODES`]; `0` never splits
/// (for comparing a segmented run with a whole one).
pub const MAX_NODES_VAR: &str = "ADR_ONNX_SEGMENT_NODES";

/// The node threshold: [`MAX_NODES_VAR`] when it holds a number, else
/// [`DEFAULT_MAX_NODES`]; `0` means never.
pub fn max_nodes() -> usize {
    std::env::var(MAX_NODES_VAR).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_NODES)
}

/// Loads `graph` with `load`: whole when it has at most [`max_nodes`] nodes
/// (or cannot be split), else as a [`Segmented`] executable whose segments
/// `load` loads at their first run.
pub fn load_with<F>(graph: &OnnxGraph, load: F) -> Result<Box<dyn Executable>>
where
    F: Fn(&OnnxGraph) -> Result<Box<dyn Executable>> + Send + 'static,
{
    load_with_max(graph, max_nodes(), load)
}

/// [`load_with`] with the threshold `max` (`0`: whole).
pub fn load_with_max<F>(graph: &OnnxGraph, max: usize, load: F) -> Result<Box<dyn Executable>>
where
    F: Fn(&OnnxGraph) -> Result<Box<dyn Executable>> + Send + 'static,
{
    match Plan::new(graph, max, max.min(SEGMENT_NODES)) {
        Some(plan) => Ok(Box::new(Segmented { plan, loaded: Vec::new(), load })),
        None => load(graph),
    }
}

/// How many segments [`load_with`] loads `graph` in (1: whole).
#[cfg(test)]
pub(crate) fn segment_count(graph: &OnnxGraph) -> usize {
    let max = max_nodes();
    Plan::new(graph, max, max.min(SEGMENT_NODES)).map_or(1, |p| p.segments.len())
}

/// Whether a tensor of ONNX element type `t` may cross a cut: floats only.
/// A [`HostTensor`] holds no boolean (`Greater`, `Equal`), and an int64 is
/// a shape or an index: tract wants a Reshape's shape to be a constant of
/// its own model, and hands a Shape's output back as symbolic dimensions.
fn may_cross(t: i32) -> bool {
    t == DataType::Float as i32 || t == DataType::Double as i32
}

/// The nodes of `g` that some graph output depends on, in order.
fn live_nodes(g: &GraphProto) -> Vec<&NodeProto> {
    let mut needed: HashSet<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    let mut live = vec![false; g.node.len()];
    for (k, node) in g.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o.as_str())) {
            live[k] = true;
            needed.extend(node.input.iter().map(String::as_str));
        }
    }
    g.node.iter().zip(live).filter(|(_, l)| *l).map(|(n, _)| n).collect()
}

/// The element type of a node's output `k`, from its op and its inputs'
/// types (`None` when unknown: a cut never crosses such a tensor). The
/// rule "as its first input" holds for the ops the lowering emits and for
/// most others; the ops of a model file where it does not are listed, and
/// ops of other domains (`ai.onnx.ml`...) are unknown.
fn output_type(node: &NodeProto, k: usize, types: &HashMap<&str, i32>) -> Option<i32> {
    let input = |i: usize| node.input.get(i).and_then(|n| types.get(n.as_str()).copied());
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let (float, int64, bool) = (DataType::Float as i32, DataType::Int64 as i32, DataType::Bool as i32);
    if !node.domain.is_empty() && node.domain != "ai.onnx" {
        return None;
    }
    match (node.op_type.as_str(), k) {
        (
            "Greater" | "Less" | "Equal" | "GreaterOrEqual" | "LessOrEqual" | "Not" | "And" | "Or" | "Xor" | "IsNaN"
            | "IsInf",
            _,
        ) => Some(bool),
        ("ArgMax" | "ArgMin" | "Shape" | "Size" | "NonZero" | "NonMaxSuppression", _) => Some(int64),
        ("Cast", _) => attr("to").map(|a| a.i as i32),
        ("CastLike", _) => input(1),
        ("Constant", _) => match node.attribute.first() {
            Some(a) if a.name == "value" => a.t.as_ref().map(|t| t.data_type),
            Some(a) if a.name == "value_float" || a.name == "value_floats" => Some(float),
            Some(a) if a.name == "value_int" || a.name == "value_ints" => Some(int64),
            _ => None,
        },
        ("ConstantOfShape", _) => attr("value").map_or(Some(float), |a| a.t.as_ref().map(|t| t.data_type)),
        ("EyeLike", _) => attr("dtype").map(|a| a.i as i32).or_else(|| input(0)),
        ("OneHot", _) => input(2),
        ("DequantizeLinear", _) => input(1),
        ("Where", _) => input(1),
        // The second output is the indices (TopK, MaxPool, Unique) or the
        // mask (Dropout).
        ("TopK" | "MaxPool", 1) | ("Unique", 1..) => Some(int64),
        ("Dropout", 1) => Some(bool),
        (
            "QuantizeLinear"
            | "DynamicQuantizeLinear"
            | "MatMulInteger"
            | "ConvInteger"
            | "QLinearConv"
            | "QLinearMatMul",
            _,
        ) => None,
        _ => input(0),
    }
}

/// One segment: a run of consecutive nodes and its interface.
struct Segment {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// Tensors read from the graph's inputs or earlier segments, each with
    /// whether this segment is its last reader (then it is moved, not copied).
    inputs: Vec<(String, bool)>,
    /// Tensors later segments or the graph's outputs read, with their types.
    outputs: Vec<(String, i32)>,
}

/// A graph cut into segments.
struct Plan {
    name: String,
    precision: crate::writer::Precision,
    opset: Vec<tract_onnx::pb::OperatorSetIdProto>,
    /// The model's local functions, which any segment's nodes may call.
    functions: Vec<tract_onnx::pb::FunctionProto>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Whether each output is listed again later (then it is copied).
    repeated: Vec<bool>,
    segments: Vec<Segment>,
}

impl Plan {
    /// Cuts `graph`, when it has more than `threshold` nodes, into segments
    /// of at most `max` nodes where the cut crosses only float tensors;
    /// `None` when it should load whole: small, `max` is 0, it has
    /// subgraphs, an output no node makes, or a tensor nothing defines (the
    /// runtime then reports it).
    fn new(graph: &OnnxGraph, threshold: usize, max: usize) -> Option<Plan> {
        let g = graph.model.graph.as_ref()?;
        if max == 0 || g.node.len() <= threshold.max(max) {
            return None;
        }
        if g.node.iter().any(|node| node.attribute.iter().any(|a| a.g.is_some() || !a.graphs.is_empty())) {
            return None;
        }
        let nodes = live_nodes(g);
        let n = nodes.len();
        // The inputs fed (`graph.inputs`): an initializer that a model file
        // also lists among its inputs (older exporters) is a constant here.
        let graph_inputs: HashSet<&str> = graph.inputs.iter().map(|i| i.name.as_str()).collect();
        let initializers: HashMap<&str, usize> = g
            .initializer
            .iter()
            .enumerate()
            .filter(|(_, t)| !graph_inputs.contains(t.name.as_str()))
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();

        let mut types: HashMap<&str, i32> = HashMap::new();
        for i in &g.input {
            if let Some(type_proto::Value::TensorType(t)) = i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                types.insert(i.name.as_str(), t.elem_type);
            }
        }
        for t in &g.initializer {
            types.entry(t.name.as_str()).or_insert(t.data_type);
        }
        // Where each tensor is made (node index) and last read (n: a graph output).
        let mut producer: HashMap<&str, usize> = HashMap::new();
        let mut last_read: HashMap<&str, usize> = HashMap::new();
        for (k, node) in nodes.iter().enumerate() {
            for name in node.input.iter().filter(|s| !s.is_empty()) {
                let defined = producer.contains_key(name.as_str())
                    || graph_inputs.contains(name.as_str())
                    || initializers.contains_key(name.as_str());
                if !defined {
                    return None;
                }
                last_read.insert(name.as_str(), k);
            }
            for (j, name) in node.output.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
                producer.insert(name.as_str(), k);
                if let Some(t) = output_type(node, j, &types) {
                    types.insert(name.as_str(), t);
                }
            }
        }
        for o in &g.output {
            if !producer.contains_key(o.name.as_str()) {
                return None;
            }
            last_read.insert(o.name.as_str(), n);
        }

        // blocked[b] > 0: a tensor no HostTensor holds crosses the cut before node b.
        let mut delta = vec![0i64; n + 2];
        for (&name, &p) in &producer {
            let Some(&last) = last_read.get(name) else { continue };
            if last > p && !types.get(name).copied().is_some_and(may_cross) {
                delta[p + 1] += 1;
                delta[last + 1] -= 1;
            }
        }
        let mut blocked = vec![false; n + 1];
        let mut open = 0i64;
        for (b, d) in delta.iter().take(n + 1).enumerate() {
            open += d;
            blocked[b] = open > 0;
        }
        let mut bounds = vec![0usize];
        let mut start = 0;
        while start < n {
            let end = if n - start <= max {
                n
            } else {
                let before = (start + 1..=start + max).rev().find(|&b| !blocked[b]);
                before.or_else(|| (start + max + 1..n).find(|&b| !blocked[b])).unwrap_or(n)
            };
            bounds.push(end);
            start = end;
        }
        if bounds.len() <= 2 {
            return None;
        }

        let mut segment_of = vec![0usize; n + 1];
        for (s, w) in bounds.windows(2).enumerate() {
            segment_of[w[0]..w[1]].iter_mut().for_each(|x| *x = s);
        }
        let count = bounds.len() - 1;
        segment_of[n] = count; // graph outputs: read after the last segment
        let reader_segment = |name: &str| last_read.get(name).map_or(0, |&k| segment_of[k]);

        let mut segments = Vec::with_capacity(count);
        for (s, w) in bounds.windows(2).enumerate() {
            let part = &nodes[w[0]..w[1]];
            let mut inputs = Vec::new();
            let mut used = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for node in part {
                for name in node.input.iter().filter(|s| !s.is_empty()) {
                    let name = name.as_str();
                    let inside = producer.get(name).is_some_and(|&p| p >= w[0]);
                    if inside || !seen.insert(name) {
                        continue;
                    }
                    if let Some(&i) = initializers.get(name) {
                        used.push(g.initializer[i].clone());
                    } else {
                        inputs.push((name.to_string(), reader_segment(name) == s));
                    }
                }
            }
            let mut outputs = Vec::new();
            for node in part {
                for name in node.output.iter().filter(|s| !s.is_empty()) {
                    if reader_segment(name) > s {
                        let t = types.get(name.as_str()).copied().unwrap_or(DataType::Float as i32);
                        outputs.push((name.clone(), t));
                    }
                }
            }
            segments.push(Segment {
                nodes: part.iter().map(|&n| n.clone()).collect(),
                initializers: used,
                inputs,
                outputs,
            });
        }
        Some(Plan {
            name: graph.name.clone(),
            precision: graph.precision,
            opset: graph.model.opset_import.clone(),
            functions: graph.model.functions.clone(),
            inputs: graph.inputs.iter().map(|i| i.name.clone()).collect(),
            outputs: g.output.iter().map(|o| o.name.clone()).collect(),
            repeated: {
                let mut later = HashSet::new();
                let mut r: Vec<bool> = g.output.iter().rev().map(|o| !later.insert(o.name.as_str())).collect();
                r.reverse();
                r
            },
            segments,
        })
    }

    /// Segment `s` as an ONNX graph whose inputs have the types and shapes
    /// of `values`.
    fn graph(&self, s: usize, values: &[HostTensor]) -> OnnxGraph {
        let seg = &self.segments[s];
        let info = |name: &str, elem: i32, shape: Option<&[usize]>| ValueInfoProto {
            name: name.to_string(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: elem,
                    shape: shape.map(|d| TensorShapeProto {
                        dim: d
                            .iter()
                            .map(|&v| tract_onnx::pb::tensor_shape_proto::Dimension {
                                value: Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(v as i64)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let elem_of = |t: &HostTensor| match t {
            HostTensor::F32(_) => DataType::Float as i32,
            HostTensor::F64(_) => DataType::Double as i32,
            HostTensor::I64(_) => DataType::Int64 as i32,
        };
        let spec_elem = |t: i32| if t == DataType::Int64 as i32 { ElemType::Int64 } else { ElemType::Float };
        let name = format!("{} (segment {} of {})", self.name, s + 1, self.segments.len());
        let model = ModelProto {
            ir_version: 8,
            producer_name: "adr-onnx".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            opset_import: self.opset.clone(),
            functions: self.functions.clone(),
            graph: Some(GraphProto {
                name: name.clone(),
                node: seg.nodes.clone(),
                initializer: seg.initializers.clone(),
                input: seg.inputs.iter().zip(values).map(|((n, _), v)| info(n, elem_of(v), Some(v.shape()))).collect(),
                output: seg.outputs.iter().map(|(n, t)| info(n, *t, None)).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        OnnxGraph {
            name,
            precision: self.precision,
            model,
            inputs: seg
                .inputs
                .iter()
                .zip(values)
                .map(|((n, _), v)| IoSpec { name: n.clone(), shape: v.shape().to_vec(), elem: spec_elem(elem_of(v)) })
                .collect(),
            outputs: seg
                .outputs
                .iter()
                .map(|(n, t)| IoSpec { name: n.clone(), shape: Vec::new(), elem: spec_elem(*t) })
                .collect(),
        }
    }
}

/// A segment loaded for the element types and shapes of its inputs.
struct Loaded {
    key: Vec<(u8, Vec<usize>)>,
    exe: Box<dyn Executable>,
}

fn key_of(values: &[HostTensor]) -> Vec<(u8, Vec<usize>)> {
    values
        .iter()
        .map(|v| {
            let tag = match v {
                HostTensor::F32(_) => 0,
                HostTensor::F64(_) => 1,
                HostTensor::I64(_) => 2,
            };
            (tag, v.shape().to_vec())
        })
        .collect()
}

/// A graph run as consecutive segments, each loaded by `load` at its first
/// run; the tensors passed between segments live in a map until their last
/// reader has run.
pub struct Segmented<F> {
    plan: Plan,
    loaded: Vec<Option<Loaded>>,
    load: F,
}

impl<F> Segmented<F> {
    /// How many segments the graph runs as.
    pub fn segments(&self) -> usize {
        self.plan.segments.len()
    }
}

impl<F> Executable for Segmented<F>
where
    F: Fn(&OnnxGraph) -> Result<Box<dyn Executable>> + Send,
{
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        let plan = &self.plan;
        let err = |message: String| Error::Runtime { backend: "segmented".into(), graph: plan.name.clone(), message };
        if inputs.len() != plan.inputs.len() {
            return Err(err(format!("{} inputs given, the graph has {}", inputs.len(), plan.inputs.len())));
        }
        let mut live: HashMap<&str, HostTensor> = plan.inputs.iter().map(String::as_str).zip(inputs).collect();
        self.loaded.resize_with(plan.segments.len(), || None);
        for (s, seg) in plan.segments.iter().enumerate() {
            let values = seg
                .inputs
                .iter()
                .map(|(name, last)| {
                    let v = if *last { live.remove(name.as_str()) } else { live.get(name.as_str()).cloned() };
                    v.ok_or_else(|| err(format!("segment {}: tensor '{name}' is missing", s + 1)))
                })
                .collect::<Result<Vec<_>>>()?;
            let key = key_of(&values);
            let slot = &mut self.loaded[s];
            let outs = match slot {
                Some(loaded) if loaded.key == key => loaded.exe.run(values)?,
                _ => {
                    *slot = None;
                    let mut exe = (self.load)(&plan.graph(s, &values))?;
                    let outs = exe.run(values)?;
                    *slot = Some(Loaded { key, exe });
                    outs
                }
            };
            if outs.len() != seg.outputs.len() {
                return Err(err(format!("segment {} gave {} outputs, not {}", s + 1, outs.len(), seg.outputs.len())));
            }
            live.extend(seg.outputs.iter().map(|(n, _)| n.as_str()).zip(outs));
        }
        let mut result = Vec::with_capacity(plan.outputs.len());
        for (name, again) in plan.outputs.iter().zip(&plan.repeated) {
            let v = if *again { live.get(name.as_str()).cloned() } else { live.remove(name.as_str()) };
            result.push(v.ok_or_else(|| err(format!("output '{name}' is missing")))?);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::lower::step::{gradient_graph, step_graph, Problem};
    use crate::objective::Objective;
    use crate::runtime::tract::TractBackend;
    use crate::writer::builder::{attr_int, GraphBuilder, Sym};
    use crate::writer::Precision;
    use tract_onnx::pb::AttributeProto;

    /// A width-8 chain of `depth` Gemm+ReLU layers (the last without ReLU).
    fn chain(depth: usize, seed: u64) -> OnnxGraph {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut b = GraphBuilder::new("chain", Precision::F32).with_symbolic_batch("N");
        let mut h = b.input("x", vec![1, 8]);
        for i in 0..depth {
            let w: Vec<f32> = (0..64).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * 0.6).collect();
            let w = b.constant("w", &ArrayD::from_shape_vec(IxDyn(&[8, 8]), w).unwrap());
            let c = b.constant("b", &ArrayD::from_shape_fn(IxDyn(&[8]), |_| rng.random::<f32>() * 0.2 - 0.1));
            h = b.node("Gemm", &[&h, &w, &c], vec![attr_int("transB", 1)], vec![1, 8]);
            if i + 1 < depth {
                h = b.node("Relu", &[&h], vec![], vec![1, 8]);
            }
        }
        b.output(&h, "y");
        b.finish()
    }

    fn random_inputs(graph: &OnnxGraph, rng: &mut ChaCha8Rng) -> Vec<HostTensor> {
        graph
            .inputs
            .iter()
            .map(|spec| {
                let shape = IxDyn(&spec.shape);
                match spec.elem {
                    ElemType::Float => HostTensor::F32(ArrayD::from_shape_fn(shape, |_| rng.random::<f32>() + 0.1)),
                    ElemType::Int64 => HostTensor::I64(ArrayD::from_shape_fn(shape, |_| rng.random_range(0..8))),
                }
            })
            .collect()
    }

    /// Asserts that two runs of `graph` give the same outputs up to float32
    /// rounding: whole and in segments, tract may pick different kernels
    /// (on AVX-512, a last-bit difference was seen).
    fn assert_close(graph: &OnnxGraph, a: &[HostTensor], b: &[HostTensor]) {
        assert_eq!(a.len(), b.len());
        for ((spec, a), b) in graph.outputs.iter().zip(a).zip(b) {
            assert_eq!(a.shape(), b.shape(), "{}", spec.name);
            let (a, b) = (a.to_f64(), b.to_f64());
            let scale = a.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
            let diff = a.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(diff <= 1e-5 * scale, "{}: differs by {diff} (scale {scale})", spec.name);
        }
    }

    /// Runs `graph` whole and in segments of at most `max` nodes on the same
    /// random inputs (twice) and asserts equal outputs; returns the number
    /// of segments.
    fn assert_same(graph: &OnnxGraph, max: usize, seed: u64) -> usize {
        let plan = Plan::new(graph, max, max).expect("the graph is split");
        let segments = plan.segments.len();
        assert!(plan.segments.iter().all(|s| s.outputs.iter().all(|&(_, t)| may_cross(t))));
        let mut whole = TractBackend::load_whole(graph).unwrap();
        let mut split = load_with_max(graph, max, TractBackend::load_whole).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..2 {
            let ins = random_inputs(graph, &mut rng);
            assert_close(graph, &whole.run(ins.clone()).unwrap(), &split.run(ins).unwrap());
        }
        segments
    }

    #[test]
    fn small_graphs_load_whole() {
        let g = chain(3, 1);
        assert!(Plan::new(&g, 1000, 150).is_none());
        assert!(Plan::new(&g, 0, 0).is_none());
        assert!(Plan::new(&chain(40, 1), 0, 0).is_none());
    }

    #[test]
    fn a_deep_chain_runs_the_same_in_segments() {
        let g = chain(120, 2);
        assert!(assert_same(&g, 50, 3) >= 4);
        // Another batch size reloads the segments for it.
        let mut whole = TractBackend::load_whole(&g).unwrap();
        let mut split = load_with_max(&g, 50, TractBackend::load_whole).unwrap();
        for rows in [1, 3, 1] {
            let x = HostTensor::F32(ArrayD::from_shape_fn(IxDyn(&[rows, 8]), |i| (i[0] + i[1]) as f32 * 0.1));
            assert_close(&g, &whole.run(vec![x.clone()]).unwrap(), &split.run(vec![x]).unwrap());
        }
    }

    /// The step and gradient graphs of a deep chain, cut at many sizes so
    /// that some cuts fall between a Greater and its Cast, or an ArgMax
    /// and its Equal (the margin objective), and must move.
    #[test]
    fn a_deep_chains_step_and_gradients_run_the_same_in_segments() {
        let model = crate::onnx::import_proto(std::path::Path::new("chain.onnx"), &chain(30, 4).model).unwrap();
        let target = model.default_objective().unwrap().value;
        for objective in [Objective::Linear { rows: 1, normalised: false }, Objective::Margin] {
            let p = Problem::new(&model, target, objective, 2000.0, Precision::F32);
            for graph in [step_graph(&p, 3), gradient_graph(&p, 3)] {
                let n = graph.model.graph.as_ref().map_or(0, |g| g.node.len());
                for max in [n / 9, n / 4 + 1, n / 2 + 3] {
                    assert_same(&graph, max, max as u64);
                }
            }
        }
    }

    /// No cut crosses a boolean tensor: where a Greater's output would
    /// cross, the cut moves before the Greater.
    #[test]
    fn cuts_never_cross_booleans() {
        let mut b = GraphBuilder::new("bools", Precision::F32);
        let x = b.input("x", vec![2, 4]);
        let mut h = x.clone();
        for _ in 0..10 {
            let zero = b.scalar(0.0);
            let g = b.node("Greater", &[&h, &zero], vec![], vec![2, 4]);
            let m = b.node("Cast", &[&g], vec![attr_int("to", DataType::Float as i64)], vec![2, 4]);
            h = b.node("Add", &[&m, &h], vec![], vec![2, 4]);
        }
        b.output(&h, "y");
        let g = b.finish();
        for max in [2, 4, 5] {
            let plan = Plan::new(&g, max, max).unwrap();
            for s in &plan.segments {
                assert!(s.nodes.last().is_some_and(|n| n.op_type != "Greater"), "max {max}");
            }
            assert_same(&g, max, 9);
        }
    }

    /// A model file's ops whose outputs are not of their first input's
    /// type: ConstantOfShape (a float from an int64 shape) and TopK (int64
    /// indices beside float values), with the indices read many nodes
    /// later. Cut at every size, only floats cross, each declared with its
    /// own type (ONNX Runtime refuses a mismatched type), and the segments
    /// compute what the whole graph does.
    #[test]
    fn only_floats_cross_the_cuts_of_a_model_files_ops() {
        let mut b = GraphBuilder::new("typed", Precision::F32);
        let x = b.input("x", vec![1, 8]);
        let shape = b.node("Shape", &[&x], vec![], vec![2]);
        let half = crate::onnx::proto::encode_f32("half", &ArrayD::from_elem(IxDyn(&[1]), 0.5));
        let value = AttributeProto { name: "value".into(), r#type: 4, t: Some(half), ..Default::default() };
        let filled = b.node("ConstantOfShape", &[&shape], vec![value], vec![1, 8]);
        let mut h = b.node("Add", &[&x, &filled], vec![], vec![1, 8]);
        let k = b.constant_i64("k", &[3]);
        b.raw_node(NodeProto {
            op_type: "TopK".into(),
            name: "topk".into(),
            input: vec![h.name.clone(), k.name.clone()],
            output: vec!["values".into(), "indices".into()],
            attribute: vec![attr_int("axis", 1)],
            ..Default::default()
        });
        let (mut values, indices) =
            (Sym { name: "values".into(), shape: vec![1, 3] }, Sym { name: "indices".into(), shape: vec![1, 3] });
        for _ in 0..6 {
            let c = b.scalar(0.25);
            values = b.node("Add", &[&values, &c], vec![], vec![1, 3]);
            values = b.node("Relu", &[&values], vec![], vec![1, 3]);
            h = b.node("Relu", &[&h], vec![], vec![1, 8]);
        }
        let picked = b.node("GatherElements", &[&h, &indices], vec![attr_int("axis", 1)], vec![1, 3]);
        let y = b.node("Add", &[&values, &picked], vec![], vec![1, 3]);
        b.output(&y, "y");
        let g = b.finish();
        let n = g.model.graph.as_ref().map_or(0, |g| g.node.len());
        for max in 2..n {
            let plan = Plan::new(&g, max, max).unwrap();
            for s in &plan.segments {
                for (name, t) in &s.outputs {
                    assert_eq!(*t, DataType::Float as i32, "{name}, cut at {max}");
                    assert!(name != "indices" && !name.starts_with("Shape"), "{name} crosses at {max}");
                }
            }
            assert_same(&g, max, 5);
        }
    }

    /// Nodes no output depends on (a label head after the logits, as
    /// exporters leave it) are left out, so that no segment is empty of
    /// outputs (ONNX Runtime refuses such a model); local functions go
    /// with every segment.
    #[test]
    fn dead_nodes_are_left_out_and_functions_kept() {
        let mut g = chain(40, 6);
        let model = &mut g.model;
        let graph = model.graph.as_mut().unwrap();
        let y = graph.output[0].name.clone();
        for k in 0..30 {
            graph.node.push(NodeProto {
                op_type: "Relu".into(),
                name: format!("dead{k}"),
                input: vec![if k == 0 { y.clone() } else { format!("dead{}", k - 1) }],
                output: vec![format!("dead{k}")],
                ..Default::default()
            });
        }
        model.functions.push(tract_onnx::pb::FunctionProto {
            name: Some("Twice".into()),
            domain: Some("my.dom".into()),
            ..Default::default()
        });
        let plan = Plan::new(&g, 10, 10).unwrap();
        assert!(plan.segments.iter().flat_map(|s| &s.nodes).all(|n| !n.name.starts_with("dead")));
        assert_eq!(
            plan.segments.iter().map(|s| s.nodes.len()).sum::<usize>(),
            80,
            "the chain: 40 Gemm, 39 Relu, an Identity"
        );
        for s in 0..plan.segments.len() {
            assert!(!plan.segments[s].outputs.is_empty(), "segment {s}");
            let x = HostTensor::F32(ArrayD::zeros(IxDyn(&[1, 8])));
            let values = vec![x; plan.segments[s].inputs.len()];
            assert_eq!(plan.graph(s, &values).model.functions.len(), 1);
        }
        assert_same(&g, 10, 7);
    }
}
