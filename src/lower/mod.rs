//! Lowering: turns the IR, its surrogate and the goal's objective into the
//! ONNX graphs the optimisers run, written with [`crate::writer`]: each op's
//! rules (`rules`), the true and gated passes (`network`) and the assembled
//! step, gradient, evaluation and normaliser graphs (`step`). Every later
//! computation runs such a graph, on tract or ONNX Runtime.

pub mod network;
pub mod rules;
pub mod step;

use crate::writer::{GraphBuilder, OnnxGraph, Precision, Sym};

use crate::onnx::ImportedModel;
use crate::surrogate::relu_sites;

/// Name of the output carrying the pre-activation of site `k`.
pub fn pre_name(k: usize) -> String {
    format!("pre.{k}")
}

/// The plain forward graph for `batch` samples: the model's inputs, its
/// objective candidates (declared outputs first) and, with `expose_pre`,
/// each site's pre-activation `pre.<k>`.
pub fn forward_graph(model: &ImportedModel, batch: usize, precision: Precision, expose_pre: bool) -> OnnxGraph {
    let g = &model.graph;
    let sites = relu_sites(g);
    let mut b = GraphBuilder::new("forward", precision);
    let inputs: Vec<Sym> = g.inputs.iter().map(|&v| b.input(&g.value(v).name, g.value(v).batched(batch))).collect();
    let pass = network::true_forward(&mut b, g, &sites, &inputs);
    for c in &model.candidates {
        let s = pass.value(c.value).clone();
        b.output(&s, &c.name);
    }
    if expose_pre {
        for s in &sites {
            let v = pass.value(s.pre).clone();
            b.output(&v, &pre_name(s.index));
        }
    }
    b.finish()
}
