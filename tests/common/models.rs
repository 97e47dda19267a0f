//! The small ONNX models the integration tests build by hand or take from
//! the zoo, and writing one to a file. Every builder makes the same bytes
//! on every call (the corpus of `tests/corpus/onnx` is checked byte for
//! byte against what `reproducers.rs` makes from them).

use std::path::{Path, PathBuf};

use adr_onnx::writer::builder::{GraphBuilder, OnnxGraph, Precision};
use ndarray::{ArrayD, IxDyn};

/// Weights of `shape`, `sin(0.37 i)` in row-major order: fixed, varied,
/// and zero only at the first element.
pub fn weight(shape: &[usize]) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| (i as f32 * 0.37).sin()).collect()).unwrap()
}

/// `x [1, n] -> MatMul (w [n, m]) -> head -> y [1, m]`, graph `m`.
pub fn dense(w: &ArrayD<f32>, head: &str) -> OnnxGraph {
    let (n, m) = (w.shape()[0], w.shape()[1]);
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, n]);
    let w = b.constant("w", w);
    let h = b.node("MatMul", &[&x, &w], vec![], vec![1, m]);
    let y = b.node(head, &[&h], vec![], vec![1, m]);
    b.output(&y, "y");
    b.finish()
}

/// `x [1, 3] -> MatMul -> Relu -> y [1, 2]` with [`weight`]`([3, 2])`: the
/// model that the hardening tests and the corpus edit into invalid ones.
pub fn matmul_relu() -> OnnxGraph {
    dense(&weight(&[3, 2]), "Relu")
}

/// `x [shape] -> Relu -> y`, graph `name`.
pub fn relu(name: &str, shape: Vec<usize>) -> OnnxGraph {
    let mut b = GraphBuilder::new(name, Precision::F32);
    let x = b.input("x", shape.clone());
    let y = b.node("Relu", &[&x], vec![], shape);
    b.output(&y, "y");
    b.finish()
}

/// The graph of the zoo model `name` (`adr_onnx::zoo`).
pub fn zoo(name: &str) -> OnnxGraph {
    adr_onnx::zoo::all().into_iter().find(|z| z.name == name).unwrap_or_else(|| panic!("no zoo model {name}")).graph
}

/// Writes `graph` to `dir/name`; returns the path.
pub fn write_model(dir: &Path, name: &str, graph: &OnnxGraph) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, graph.to_bytes()).unwrap();
    p
}
