//! Lowering: turns the IR, its surrogate and the goal's objective into ONNX
//! graphs built with tract's protobuf types (`step` assembles the graphs
//! the optimisers run). Every later computation runs such a graph, on tract
//! or ONNX Runtime.

pub mod builder;
pub mod network;
pub mod rules;
pub mod step;
mod vocab;

pub use builder::{GraphBuilder, IoSpec, OnnxGraph, Precision, Sym};

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
