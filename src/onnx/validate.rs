//! Structural checks of an ONNX model before its import: a default-domain
//! opset the importer knows, graph inputs, graph outputs and node outputs
//! that are each named once, the input and output counts of the ops the
//! importer reads, and finite weights. ONNX Runtime's checker refuses such
//! models too; without these checks the importer would silently take the
//! last binding of a name, or ignore an extra input.

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto};

use super::context::node_name;
use super::proto::ConstTensor;
use crate::error::{clip, Error, NodeProblem, Result};

/// The oldest default-domain opset accepted: before opset 7, Add, Sub, Mul,
/// Div and Gemm broadcast under a `broadcast` attribute that the importer
/// does not read (and constant folding runs tract at opset 7 or later).
pub const MIN_OPSET: i64 = 7;
/// The newest default-domain opset accepted: the newest tract-onnx 0.23.9
/// has rules for (its importer distinguishes ops up to opset 21).
pub const MAX_OPSET: i64 = 21;

/// Checks the model's opset and graph; every problem of the graph is
/// reported at once.
pub fn check(path: &Path, model: &ModelProto, graph: &GraphProto) -> Result<()> {
    check_opset(path, model)?;
    let mut problems = Vec::new();
    unique_interface(graph, &mut problems);
    unique_node_outputs(graph, &mut problems);
    for node in &graph.node {
        if let Some(message) = arity_problem(node) {
            problems.push(NodeProblem { node: node_name(node), op_type: node.op_type.clone(), message });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidModel { path: path.to_path_buf(), problems })
    }
}

/// The default-domain opset, which must be declared and in
/// `MIN_OPSET..=MAX_OPSET`.
pub fn check_opset(path: &Path, model: &ModelProto) -> Result<i64> {
    let fail = |message: String| Err(Error::Model { path: path.to_path_buf(), message });
    if model.opset_import.is_empty() {
        return fail("no opset_import: the model does not say which ONNX opset its nodes follow".into());
    }
    let Some(o) = model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx") else {
        return fail("no opset_import for the default ONNX domain".into());
    };
    if !(MIN_OPSET..=MAX_OPSET).contains(&o.version) {
        return fail(format!(
            "default-domain opset {}; adr-onnx reads opsets {MIN_OPSET} to {MAX_OPSET} (re-export the model \
             with one of them)",
            o.version
        ));
    }
    Ok(o.version)
}

/// Graph inputs and graph outputs are each declared once.
fn unique_interface(graph: &GraphProto, problems: &mut Vec<NodeProblem>) {
    for (kind, names) in [("input", &graph.input), ("output", &graph.output)] {
        let mut seen = std::collections::HashSet::new();
        for v in names.iter().filter(|v| !seen.insert(v.name.as_str())) {
            problems.push(NodeProblem {
                node: v.name.clone(),
                op_type: kind.into(),
                message: format!("graph {kind} '{}' is declared twice", clip(&v.name)),
            });
        }
    }
}

/// Every tensor has one producer: no node output repeats another node's
/// output, an initializer or a graph input.
fn unique_node_outputs(graph: &GraphProto, problems: &mut Vec<NodeProblem>) {
    let mut producer: HashMap<&str, String> = HashMap::new();
    for i in &graph.initializer {
        producer.insert(&i.name, "an initializer".into());
    }
    for i in &graph.input {
        producer.entry(&i.name).or_insert_with(|| "a graph input".into());
    }
    for node in &graph.node {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            if let Some(first) = producer.get(out.as_str()) {
                problems.push(NodeProblem {
                    node: node_name(node),
                    op_type: node.op_type.clone(),
                    message: format!("output '{}' is already produced by {first}", clip(out)),
                });
            } else {
                producer.insert(out, format!("node '{}'", clip(&node_name(node))));
            }
        }
    }
}

/// How many inputs (absent optional ones included) and outputs an op takes,
/// for the ops whose counts the importer relies on.
fn arity(op_type: &str) -> Option<(usize, usize, usize)> {
    Some(match op_type {
        "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Softmax" | "LogSoftmax" | "Flatten" | "Neg" => (1, 1, 1),
        "Add" | "Sub" | "Mul" | "Div" | "MatMul" => (2, 2, 1),
        "Gemm" | "Conv" | "ConvTranspose" => (2, 3, 1),
        "BatchNormalization" => (5, 5, 5),
        _ => return None,
    })
}

/// Why a node's input or output count is wrong for its op, if it is.
fn arity_problem(node: &NodeProto) -> Option<String> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return None;
    }
    let (min, max, max_outputs) = arity(&node.op_type)?;
    // Trailing empty names stand for absent optional inputs.
    let given = node.input.iter().rposition(|i| !i.is_empty()).map_or(0, |p| p + 1);
    let inputs = if min == max { format!("{min}") } else { format!("{min} to {max}") };
    if given < min || given > max {
        return Some(format!("{given} inputs; {} takes {inputs}", node.op_type));
    }
    if let Some(k) = (0..min).find(|&k| node.input[k].is_empty()) {
        return Some(format!("input {k} is empty; {} needs it", node.op_type));
    }
    if node.output.is_empty() || node.output.len() > max_outputs {
        return Some(format!("{} outputs; {} has {}", node.output.len(), node.op_type, outputs_text(max_outputs)));
    }
    None
}

fn outputs_text(max: usize) -> String {
    if max == 1 {
        "1".into()
    } else {
        format!("1 to {max}")
    }
}

/// Refuses an initializer with NaN or infinite values (also f64 weights
/// beyond f32's range, which become infinite when read as f32).
pub fn check_finite_initializer(path: &Path, name: &str, tensor: &ConstTensor) -> Result<()> {
    let ConstTensor::Float(a) = tensor else { return Ok(()) };
    match a.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::Model {
            path: path.to_path_buf(),
            message: format!(
                "initializer '{}': element {i} is {} (weights must be finite 32-bit numbers)",
                clip(name),
                a.iter().nth(i).map_or_else(String::new, |v| v.to_string())
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::OperatorSetIdProto;

    fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn input_counts_follow_the_op() {
        assert_eq!(arity_problem(&node("Relu", &["a", "b"], &["y"])).unwrap(), "2 inputs; Relu takes 1");
        assert_eq!(arity_problem(&node("Gemm", &["a"], &["y"])).unwrap(), "1 inputs; Gemm takes 2 to 3");
        assert_eq!(arity_problem(&node("Add", &["a", "b", "c"], &["y"])).unwrap(), "3 inputs; Add takes 2");
        assert_eq!(arity_problem(&node("Conv", &["", "w"], &["y"])).unwrap(), "input 0 is empty; Conv needs it");
        assert_eq!(arity_problem(&node("Relu", &["a"], &["y", "z"])).unwrap(), "2 outputs; Relu has 1");
        assert!(arity_problem(&node("Conv", &["x", "w", ""], &["y"])).is_none());
        assert!(arity_problem(&node("Gemm", &["x", "w", "b"], &["y"])).is_none());
        assert!(arity_problem(&node("Unknown", &["a", "b"], &["y"])).is_none());
    }

    #[test]
    fn the_opset_must_be_declared_and_known() {
        let mut m = ModelProto::default();
        let err = check_opset(Path::new("m.onnx"), &m).unwrap_err().to_string();
        assert!(err.contains("no opset_import"), "{err}");
        for (version, ok) in [(0, false), (1, false), (6, false), (7, true), (17, true), (21, true), (99, false)] {
            m.opset_import = vec![OperatorSetIdProto { domain: String::new(), version }];
            assert_eq!(check_opset(Path::new("m.onnx"), &m).is_ok(), ok, "opset {version}");
        }
        m.opset_import = vec![OperatorSetIdProto { domain: "ai.onnx.ml".into(), version: 3 }];
        assert!(check_opset(Path::new("m.onnx"), &m).unwrap_err().to_string().contains("default ONNX domain"));
    }

    #[test]
    fn names_are_produced_once() {
        let graph = GraphProto {
            node: vec![node("Relu", &["x"], &["y"]), node("Relu", &["y"], &["y"]), node("Relu", &["y"], &["x"])],
            ..Default::default()
        };
        let mut problems = Vec::new();
        unique_node_outputs(&graph, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].message, "output 'y' is already produced by node 'y'");
    }

    #[test]
    fn weights_must_be_finite() {
        let t = ConstTensor::Float(ndarray::arr1(&[1.0, f32::NAN]).into_dyn());
        let err = check_finite_initializer(Path::new("m.onnx"), "fc.weight", &t).unwrap_err().to_string();
        assert_eq!(err, "m.onnx: initializer 'fc.weight': element 1 is NaN (weights must be finite 32-bit numbers)");
        let t = ConstTensor::Float(ndarray::arr1(&[1.0, 2.0]).into_dyn());
        assert!(check_finite_initializer(Path::new("m.onnx"), "w", &t).is_ok());
    }
}
