//! ReLU sites: the tensors of neurons whose on/off pattern activation
//! descent relaxes, numbered in the graph's topological order.

use serde::Serialize;

use crate::ir::{Graph, NodeId, ValueId};

/// One activation site: a ReLU (or LeakyReLU) node and its pre-activation.
#[derive(Debug, Clone, Serialize)]
pub struct ReluSite {
    /// k in `eta.<k>` and `pre.<k>`.
    pub index: usize,
    /// The node's ONNX name.
    pub node: String,
    #[serde(skip)]
    pub node_id: NodeId,
    /// The pre-activation tensor (the site's input).
    #[serde(skip)]
    pub pre: ValueId,
    /// Per-sample shape of the site's tensor.
    pub shape: Vec<usize>,
    /// Neurons per sample.
    pub neurons: usize,
    /// Slope on the negative side (0 for ReLU).
    pub negative_slope: f32,
}

/// Every activation site of the graph, in topological order.
pub fn relu_sites(g: &Graph) -> Vec<ReluSite> {
    g.nodes()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let slope = n.op.activation_slope()?;
            let pre = n.inputs[0];
            let shape = g.value(pre).shape.clone();
            Some((i, n, slope, pre, shape))
        })
        .enumerate()
        .map(|(k, (i, n, slope, pre, shape))| ReluSite {
            index: k,
            node: n.name.clone(),
            node_id: NodeId(i),
            pre,
            neurons: shape.iter().product(),
            shape,
            negative_slope: slope,
        })
        .collect()
}

/// Activation neurons per sample, all sites together.
pub fn total_neurons(g: &Graph) -> usize {
    relu_sites(g).iter().map(|s| s.neurons).sum()
}
