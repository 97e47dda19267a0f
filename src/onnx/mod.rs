//! ONNX import: reads a model with tract-onnx's protobuf types, resolves
//! shapes for a concrete batch size, folds what is constant and lowers every
//! node into the IR. Unsupported nodes are all reported at once.

pub mod attrs;
pub mod context;
mod fold;
mod ops;
pub mod proto;
pub mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::{type_proto, ModelProto, NodeProto, ValueInfoProto};

use crate::error::{clip, Error, NodeProblem, Result};
use crate::ir::{Graph, GraphOutput, ValueId};
use context::{node_name, Binding, ImportCtx};
use proto::ConstTensor;

/// Name, declared shape (symbolic dimensions by name) and element type of a
/// model input or output.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<String>,
    pub elem_type: String,
}

/// A tensor the objective can be put on: a declared output, or the input of
/// a head without a gradient (the logits under an ArgMax, the probabilities
/// under a ZipMap).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectiveCandidate {
    pub name: String,
    #[serde(skip)]
    pub value: ValueId,
    /// Empty for a declared output; else the head it feeds.
    pub feeds: String,
}

#[derive(Debug, Clone)]
pub struct ImportedModel {
    pub path: PathBuf,
    pub graph: Graph,
    pub opset: i64,
    pub producer: String,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub candidates: Vec<ObjectiveCandidate>,
    /// The batch size shapes were resolved for.
    pub import_batch: usize,
    /// Whether the model's tensors have a batch axis (see [`ImportCtx`]).
    pub batched: bool,
}

impl ImportedModel {
    /// Fails unless the model has an activation site for activation descent.
    pub fn require_relu(&self) -> Result<()> {
        if self.graph.nodes().iter().any(|n| n.op.activation_slope().is_some()) {
            return Ok(());
        }
        let mut ops: Vec<&str> = self.graph.nodes().iter().map(|n| n.onnx_op.as_str()).collect();
        ops.sort_unstable();
        ops.dedup();
        Err(Error::NoRelu { path: self.path.clone(), ops: ops.join(", ") })
    }

    /// The per-sample shape of the (first) input; empty for a model without
    /// one.
    pub fn input_shape(&self) -> Vec<usize> {
        self.graph.inputs.first().map(|&v| self.graph.value(v).shape.clone()).unwrap_or_default()
    }

    /// The value the objective uses by default: the first declared
    /// differentiable output, else the first head input.
    pub fn default_objective(&self) -> Option<&ObjectiveCandidate> {
        self.candidates.first()
    }
}

/// Imports an ONNX file.
pub fn import(path: &Path) -> Result<ImportedModel> {
    let model = proto::read_model(path)?;
    import_proto(path, &model)
}

/// Imports an already decoded model; `path` names it in errors and locates
/// external data.
pub fn import_proto(path: &Path, model: &ModelProto) -> Result<ImportedModel> {
    let model_err = |message: String| Error::Model { path: path.to_path_buf(), message };
    let graph_pb = model.graph.as_ref().ok_or_else(|| model_err("model has no graph".into()))?;
    validate::check(path, model, graph_pb)?;
    let opset = validate::check_opset(path, model)?;

    let mut bindings = HashMap::new();
    let mut const_types = HashMap::new();
    for init in &graph_pb.initializer {
        let tensor = proto::decode_tensor(path, init)?;
        validate::check_finite_initializer(path, &init.name, &tensor)?;
        record_type(&mut const_types, &init.name, init.data_type);
        bindings.insert(init.name.clone(), Binding::Const(tensor));
    }
    let real_inputs: Vec<&ValueInfoProto> = graph_pb.input.iter().filter(|i| !bindings.contains_key(&i.name)).collect();
    let batched = !real_inputs.iter().all(|i| is_plain_vector(i));
    let batch = if batched { import_batch(&real_inputs).map_err(model_err)? } else { 1 };
    let model_tensors = graph_pb
        .input
        .iter()
        .map(|i| i.name.clone())
        .chain(graph_pb.initializer.iter().map(|i| i.name.clone()))
        .chain(graph_pb.node.iter().flat_map(|n| n.output.iter().cloned()))
        .collect();
    let mut ctx = ImportCtx {
        graph: Graph::new(),
        bindings,
        batch,
        batched,
        opset,
        too_large: None,
        model_tensors,
        node_outputs: Vec::new(),
        const_types,
    };
    let mut inputs = Vec::new();
    for input in real_inputs {
        let info = tensor_info(input);
        let shape = sample_shape(input, &info, batched).map_err(model_err)?;
        let v = ctx.graph.add_input(&input.name, shape).map_err(|e| Error::TensorTooLarge {
            path: path.to_path_buf(),
            tensor: format!("input '{}'", input.name),
            message: e.to_string(),
        })?;
        ctx.bindings.insert(input.name.clone(), Binding::Value(v));
        inputs.push(info);
    }

    let mut problems = Vec::new();
    let mut head_inputs = Vec::new();
    for node in &graph_pb.node {
        import_node(&mut ctx, path, node, &mut problems, &mut head_inputs)?;
    }

    let mut outputs_info = Vec::new();
    let mut candidates = Vec::new();
    for out in &graph_pb.output {
        let value = match ctx.bindings.get(&out.name) {
            Some(Binding::Value(v)) => Ok(*v),
            Some(Binding::NonDifferentiable(why)) => Err(why.clone()),
            Some(Binding::Const(_)) => Err("constant output".to_string()),
            Some(Binding::Failed) => Err("its computation failed to import".to_string()),
            None => {
                problems.push(NodeProblem {
                    node: out.name.clone(),
                    op_type: "output".into(),
                    message: "graph output is not produced by any node".into(),
                });
                Err("not produced".to_string())
            }
        };
        let mut info = tensor_info(out);
        if let Ok(v) = value {
            info.shape = ctx.shape(v).iter().enumerate().map(|(i, d)| dim_label(i, *d, &info.shape, batched)).collect();
            candidates.push(ObjectiveCandidate { name: out.name.clone(), value: v, feeds: String::new() });
        }
        outputs_info.push(info);
        ctx.graph.outputs.push(GraphOutput { name: out.name.clone(), value });
    }
    if !problems.is_empty() {
        return Err(Error::Unsupported { path: path.to_path_buf(), problems });
    }
    for (name, v, feeds) in head_inputs {
        if !candidates.iter().any(|c: &ObjectiveCandidate| c.value == v) {
            candidates.push(ObjectiveCandidate { name, value: v, feeds });
        }
    }
    if candidates.is_empty() {
        return Err(model_err("no output is computed by supported, differentiable ops".into()));
    }
    let roots: Vec<ValueId> = candidates.iter().map(|c| c.value).collect();
    let remap = ctx.graph.retain_ancestors_of(&roots);
    for c in &mut candidates {
        c.value = remap[c.value.0].ok_or_else(|| model_err(format!("lost tensor '{}'", clip(&c.name))))?;
    }
    Ok(ImportedModel {
        path: path.to_path_buf(),
        graph: ctx.graph,
        opset,
        producer: format!("{} {}", model.producer_name, model.producer_version).trim().to_string(),
        inputs,
        outputs: outputs_info,
        candidates,
        import_batch: batch,
        batched,
    })
}

/// Ops that end the differentiable part: their outputs have no gradient,
/// and the tensor they read becomes a candidate for the objective.
const HEAD_OPS: &[&str] = &[
    "ArgMax",
    "ArgMin",
    "ZipMap",
    "ArrayFeatureExtractor",
    "LabelEncoder",
    "Hardmax",
    "TopK",
    "Equal",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "Not",
    "Round",
    "Floor",
    "Ceil",
    "Sign",
    "CategoryMapper",
];

fn import_node(
    ctx: &mut ImportCtx,
    path: &Path,
    node: &NodeProto,
    problems: &mut Vec<NodeProblem>,
    head_inputs: &mut Vec<(String, ValueId, String)>,
) -> Result<()> {
    let name = node_name(node);
    ctx.node_outputs.clone_from(&node.output);
    let problem = |message: String| NodeProblem { node: name.clone(), op_type: node.op_type.clone(), message };
    let builder = ops::builder(&node.op_type).filter(|_| node.domain.is_empty() || node.domain == "ai.onnx");
    let is_head = HEAD_OPS.contains(&node.op_type.as_str()) || (node.op_type == "Cast" && !casts_to_float(node));
    if draws_at_random(ctx, node) {
        problems.push(problem(
            "draws random numbers: ONNX Runtime draws anew at every run, so no input's output can be checked".into(),
        ));
        bind_all(ctx, node, Binding::Failed);
        return Ok(());
    }

    let mut bound = Vec::new();
    for (i, input) in node.input.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
        match ctx.bindings.get(input) {
            Some(b) => bound.push(b.clone()),
            None => {
                problems.push(problem(format!(
                    "input {i} '{}' is not produced by any node, initializer or graph input",
                    clip(input)
                )));
                bind_all(ctx, node, Binding::Failed);
                return Ok(());
            }
        }
    }
    if bound.iter().any(|b| matches!(b, Binding::Failed)) {
        if builder.is_none() && !is_head {
            problems.push(problem(unsupported_message(node)));
        }
        bind_all(ctx, node, Binding::Failed);
        return Ok(());
    }
    if let Some(why) = bound.iter().find_map(|b| match b {
        Binding::NonDifferentiable(w) => Some(w.clone()),
        _ => None,
    }) {
        bind_all(ctx, node, Binding::NonDifferentiable(why));
        return Ok(());
    }
    let all_const = bound.iter().all(|b| matches!(b, Binding::Const(_)));
    if is_head && !all_const {
        let feeds = format!("{} node '{}'", clip(&node.op_type), clip(&name));
        for b in &bound {
            if let Binding::Value(v) = b {
                head_inputs.push((ctx.graph.value(*v).name.clone(), *v, feeds.clone()));
            }
        }
        bind_all(ctx, node, Binding::NonDifferentiable(format!("computed by {feeds}, which has no gradient")));
        return Ok(());
    }
    if node.op_type == "Constant" {
        return match constant_node(path, node) {
            Ok(c) => {
                if let (Some(t), Some(out)) = (attrs::tensor(node, "value"), node.output.first()) {
                    record_type(&mut ctx.const_types, out, t.data_type);
                }
                bind_all(ctx, node, Binding::Const(c));
                Ok(())
            }
            Err(Error::Model { message, .. }) => {
                problems.push(problem(message));
                bind_all(ctx, node, Binding::Failed);
                Ok(())
            }
            Err(e) => Err(e),
        };
    }
    if let Some(shape) = shape_of_value(ctx, node, &bound) {
        bind_all(ctx, node, Binding::Const(shape));
        return Ok(());
    }
    if all_const && !bound.is_empty() {
        let names = node.input.iter().filter(|n| !n.is_empty());
        let consts: Vec<(ConstTensor, DataType)> = names
            .zip(bound)
            .map(|(name, b)| match b {
                Binding::Const(c) => {
                    let dtype = ctx.const_type(name, &c);
                    (c, dtype)
                }
                _ => unreachable!("all inputs checked constant"),
            })
            .collect();
        match fold::fold(node, &consts, ctx.opset) {
            Ok(outs) => {
                for (name, (c, dtype)) in node.output.iter().zip(outs) {
                    record_type(&mut ctx.const_types, name, dtype as i32);
                    ctx.bindings.insert(name.clone(), Binding::Const(c));
                }
            }
            Err(message) => {
                problems.push(problem(format!("could not fold constant node: {message}")));
                bind_all(ctx, node, Binding::Failed);
            }
        }
        return Ok(());
    }
    match builder {
        Some(build) => {
            if let Err(message) = build(ctx, node) {
                if let Some(message) = ctx.too_large.take() {
                    let tensor = format!("node '{name}' ({})", node.op_type);
                    return Err(Error::TensorTooLarge { path: path.to_path_buf(), tensor, message });
                }
                problems.push(problem(message));
                bind_all(ctx, node, Binding::Failed);
            } else {
                for (k, out) in node.output.iter().enumerate().skip(1).filter(|(_, o)| !o.is_empty()) {
                    ctx.bindings.entry(out.clone()).or_insert_with(|| {
                        Binding::NonDifferentiable(format!(
                            "output {k} of {} node '{}' is not supported",
                            clip(&node.op_type),
                            clip(&name)
                        ))
                    });
                }
            }
        }
        None => {
            problems.push(problem(unsupported_message(node)));
            bind_all(ctx, node, Binding::Failed);
        }
    }
    Ok(())
}

/// ONNX's ops whose outputs are random draws.
const RANDOM_OPS: &[&str] =
    &["RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike", "Bernoulli", "Multinomial"];

/// Whether `node` draws random numbers: a random op, a Dropout whose
/// `training_mode` is not a constant false, or a node whose subgraph (an
/// `If` branch, a `Loop` body) holds either. tract would fold a random op
/// into one draw, where ONNX Runtime draws at every run.
fn draws_at_random(ctx: &ImportCtx, node: &NodeProto) -> bool {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return false;
    }
    if RANDOM_OPS.contains(&node.op_type.as_str()) || subgraphs_draw_at_random(node) {
        return true;
    }
    let training_mode = node.input.get(2).filter(|n| !n.is_empty());
    node.op_type == "Dropout"
        && training_mode.is_some_and(|n| match ctx.bindings.get(n) {
            Some(Binding::Const(ConstTensor::Int(a))) => a.iter().any(|&v| v != 0),
            Some(Binding::Const(ConstTensor::Float(a))) => a.iter().any(|&v| v != 0.0),
            // Unresolved inputs are reported as such by the node's import.
            None | Some(Binding::Failed) => false,
            Some(Binding::Value(_) | Binding::NonDifferentiable(_)) => true,
        })
}

/// Whether a subgraph of `node` holds a random op, or a Dropout given a
/// `training_mode` (its value is not resolved there: taken as true).
fn subgraphs_draw_at_random(node: &NodeProto) -> bool {
    let graphs = node.attribute.iter().flat_map(|a| a.g.iter().chain(&a.graphs));
    graphs.flat_map(|g| &g.node).any(|n| {
        let dropout_in_training = n.op_type == "Dropout" && n.input.get(2).is_some_and(|i| !i.is_empty());
        RANDOM_OPS.contains(&n.op_type.as_str()) || dropout_in_training || subgraphs_draw_at_random(n)
    })
}

fn unsupported_message(node: &NodeProto) -> String {
    if node.domain.is_empty() || node.domain == "ai.onnx" {
        "op not supported".to_string()
    } else {
        format!("op not supported (domain '{}')", clip(&node.domain))
    }
}

/// Records that constant `name` is of the ONNX element type `data_type`
/// where that is a boolean or an integer type other than int64 (the
/// importer keeps those as int64; see [`ImportCtx::const_types`]).
fn record_type(types: &mut HashMap<String, DataType>, name: &str, data_type: i32) {
    match DataType::try_from(data_type) {
        Ok(
            t @ (DataType::Bool
            | DataType::Int8
            | DataType::Uint8
            | DataType::Int16
            | DataType::Uint16
            | DataType::Int32
            | DataType::Uint32),
        ) => {
            types.insert(name.to_string(), t);
        }
        _ => {
            types.remove(name);
        }
    }
}

fn bind_all(ctx: &mut ImportCtx, node: &NodeProto, b: Binding) {
    for out in node.output.iter().filter(|o| !o.is_empty()) {
        ctx.bindings.insert(out.clone(), b.clone());
    }
}

fn casts_to_float(node: &NodeProto) -> bool {
    let to = attrs::int(node, "to", DataType::Float as i64) as i32;
    to == DataType::Float as i32 || to == DataType::Double as i32 || to == DataType::Float16 as i32
}

fn constant_node(path: &Path, node: &NodeProto) -> Result<ConstTensor> {
    if let Some(t) = attrs::tensor(node, "value") {
        return proto::decode_tensor(path, t);
    }
    attrs::constant_value(node).ok_or_else(|| Error::Model {
        path: path.to_path_buf(),
        message: "Constant node without a supported value attribute".into(),
    })
}

/// `Shape` and `Size` of a computed tensor are constants once shapes are
/// resolved.
fn shape_of_value(ctx: &ImportCtx, node: &NodeProto, bound: &[Binding]) -> Option<ConstTensor> {
    let Some(Binding::Value(v)) = bound.first() else { return None };
    let shape: Vec<i64> = ctx.shape(*v).iter().map(|&d| d as i64).collect();
    let rank = shape.len() as i64;
    match node.op_type.as_str() {
        "Shape" => {
            let clamp = |i: i64| (if i < 0 { i + rank } else { i }).clamp(0, rank) as usize;
            let start = clamp(attrs::int(node, "start", 0));
            let end = clamp(attrs::int(node, "end", rank));
            let part = shape[start..end.max(start)].to_vec();
            Some(ConstTensor::Int(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[part.len()]), part).ok()?))
        }
        "Size" => {
            let size = shape.iter().try_fold(1i64, |n, &d| n.checked_mul(d))?;
            Some(ConstTensor::Int(ndarray::ArrayD::from_elem(ndarray::IxDyn(&[]), size)))
        }
        _ => None,
    }
}

fn tensor_info(v: &ValueInfoProto) -> TensorInfo {
    let tensor = v.r#type.as_ref().and_then(|t| match &t.value {
        Some(type_proto::Value::TensorType(t)) => Some(t),
        _ => None,
    });
    let elem_type = tensor
        .and_then(|t| DataType::try_from(t.elem_type).ok())
        .map_or_else(|| "unknown".to_string(), |d| d.as_str_name().to_lowercase());
    let shape = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(Dim::DimValue(v)) => v.to_string(),
                    Some(Dim::DimParam(p)) => p.clone(),
                    None => "?".to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    TensorInfo { name: v.name.clone(), shape, elem_type }
}

fn dim_label(axis: usize, resolved: usize, declared: &[String], batched: bool) -> String {
    match declared.get(axis) {
        Some(d) if batched && axis == 0 && d.parse::<i64>().is_err() => d.clone(),
        _ => resolved.to_string(),
    }
}

fn declared_dims(input: &ValueInfoProto) -> Option<&[tract_onnx::pb::tensor_shape_proto::Dimension]> {
    match input.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => Some(&t.shape.as_ref()?.dim),
    }
}

/// A rank-1 input of fixed length: a model without a batch axis.
fn is_plain_vector(input: &ValueInfoProto) -> bool {
    matches!(declared_dims(input), Some([d]) if matches!(d.value, Some(Dim::DimValue(v)) if v > 0))
}

fn leading_dim(input: &ValueInfoProto) -> Option<usize> {
    match declared_dims(input)?.first()?.value.as_ref()? {
        Dim::DimValue(v) if *v > 0 => Some(*v as usize),
        _ => None,
    }
}

/// The batch size the inputs' first axes declare: their common fixed
/// extent, else 1. A fixed extent above 1 beside an input whose first axis
/// is symbolic is refused: the file does not tie the two (ONNX Runtime
/// runs `a [3]` beside `b [N, 4]` at any N), so reading both first axes as
/// one batch axis would cut the fixed input into samples.
fn import_batch(inputs: &[&ValueInfoProto]) -> Result<usize, String> {
    let fixed: Vec<(&str, usize)> =
        inputs.iter().filter_map(|i| leading_dim(i).map(|d| (i.name.as_str(), d))).collect();
    let batch = match fixed.split_first() {
        None => 1,
        Some(((_, b), rest)) => match rest.iter().find(|(_, d)| d != b) {
            Some((n, d)) => return Err(format!("inputs disagree on the batch size ({b} and {d} for '{}')", clip(n))),
            None => *b,
        },
    };
    let symbolic = inputs.iter().find(|i| leading_dim(i).is_none());
    match (symbolic, fixed.first()) {
        (Some(s), Some((f, b))) if batch > 1 => Err(format!(
            "input '{}' has a fixed first dimension of {b} and input '{}' a symbolic or unknown one: adr-onnx \
             reads the first axis of every input as the batch axis, so they must agree",
            clip(f),
            clip(&s.name)
        )),
        _ => Ok(batch),
    }
}

fn sample_shape(input: &ValueInfoProto, info: &TensorInfo, batched: bool) -> Result<Vec<usize>, String> {
    let name = clip(&input.name);
    if info.elem_type != "float" {
        return Err(format!("input '{name}' has element type {}; only float inputs can be optimised", info.elem_type));
    }
    let Some(type_proto::Value::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(format!("input '{name}' has no tensor type"));
    };
    let dims = &t.shape.as_ref().ok_or_else(|| format!("input '{name}' has no shape"))?.dim;
    if dims.is_empty() {
        return Err(format!("input '{name}' is a scalar; a leading batch axis is needed"));
    }
    dims.iter()
        .enumerate()
        .skip(usize::from(batched))
        .map(|(axis, d)| match &d.value {
            Some(Dim::DimValue(v)) if *v > 0 => Ok(*v as usize),
            Some(Dim::DimValue(v)) => {
                Err(format!("input '{name}' has dimension {v} at axis {axis}; dimensions must be positive"))
            }
            Some(Dim::DimParam(p)) => Err(format!(
                "input '{name}' has symbolic dimension '{}' at axis {axis}; only the batch axis may be symbolic",
                clip(p)
            )),
            _ => Err(format!("input '{name}' has an unknown dimension at axis {axis}")),
        })
        .collect()
}
