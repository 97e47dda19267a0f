//! What `adr-onnx inspect` reports about a model: its interface, layer
//! graph, ReLU sites and neuron counts, as a serialisable value with stable
//! field names, and its human-readable rendering.

use std::fmt::Write as _;

use serde::Serialize;

use crate::onnx::{ImportedModel, ObjectiveCandidate, TensorInfo};
use crate::surrogate::{relu_sites, ReluSite};

#[derive(Debug, Clone, Serialize)]
pub struct OutputSummary {
    #[serde(flatten)]
    pub tensor: TensorInfo,
    pub differentiable: bool,
    /// Why the output has no gradient (an ArgMax or ZipMap head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub index: usize,
    /// IR op (`Dense`, `Conv`, `Affine`...).
    pub op: String,
    /// ONNX op type it came from.
    pub onnx_op: String,
    pub node: String,
    /// Per-sample shapes (batch axis left out) of the inputs.
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shape: Vec<usize>,
    pub parameters: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub model: String,
    pub producer: String,
    pub opset: i64,
    /// Whether the model's tensors have a batch axis (VNN-COMP vector
    /// models have none; adr-onnx adds one).
    pub batch_axis: bool,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<OutputSummary>,
    /// Tensors an objective can use: differentiable outputs, then the
    /// inputs of non-differentiable heads.
    pub objective_outputs: Vec<ObjectiveCandidate>,
    pub layers: Vec<LayerSummary>,
    pub relu_sites: Vec<ReluSite>,
    pub total_relu_neurons: usize,
    pub parameters: usize,
    /// Whether adr-onnx can search the model: true for every model that
    /// imports (one whose ops cannot be imported never gets a summary).
    pub supported: bool,
    /// Whether activation descent (ADR) applies: it needs a ReLU site.
    pub activation_descent: bool,
    /// Why not, when `activation_descent` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_descent_reason: Option<String>,
    /// The methods that can search the model (`--method`).
    pub methods: Vec<&'static str>,
}

/// Why activation descent does not apply to a model without ReLU.
pub const NO_RELU_REASON: &str = "no ReLU: nothing for activation descent to relax";

/// The methods that search any model; `adr` needs a ReLU as well, and
/// `auto` leaves its ADR stage out without one.
const METHODS_WITHOUT_RELU: [&str; 6] = ["auto", "gd", "pgd", "apgd", "apgd-t", "square"];

impl ModelSummary {
    pub fn of(model: &ImportedModel) -> Self {
        let g = &model.graph;
        let layers: Vec<LayerSummary> = g
            .nodes()
            .iter()
            .enumerate()
            .map(|(index, n)| LayerSummary {
                index,
                op: n.op.kind().to_string(),
                onnx_op: n.onnx_op.clone(),
                node: n.name.clone(),
                input_shapes: n.inputs.iter().map(|&v| g.value(v).shape.clone()).collect(),
                output_shape: g.value(n.output).shape.clone(),
                parameters: n.op.parameter_count(),
            })
            .collect();
        let sites = relu_sites(g);
        let outputs = model
            .outputs
            .iter()
            .zip(&g.outputs)
            .map(|(info, o)| OutputSummary {
                tensor: info.clone(),
                differentiable: o.value.is_ok(),
                reason: o.value.as_ref().err().cloned(),
            })
            .collect();
        ModelSummary {
            model: model.path.display().to_string(),
            producer: model.producer.clone(),
            opset: model.opset,
            batch_axis: model.batched,
            inputs: model.inputs.clone(),
            outputs,
            objective_outputs: model.candidates.clone(),
            total_relu_neurons: sites.iter().map(|s| s.neurons).sum(),
            parameters: layers.iter().map(|l| l.parameters).sum(),
            layers,
            supported: true,
            activation_descent: !sites.is_empty(),
            activation_descent_reason: sites.is_empty().then(|| NO_RELU_REASON.to_string()),
            methods: if sites.is_empty() {
                METHODS_WITHOUT_RELU.to_vec()
            } else {
                std::iter::once("adr").chain(METHODS_WITHOUT_RELU).collect()
            },
            relu_sites: sites,
        }
    }

    /// The human-readable report.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let shape = |v: &[usize]| format!("[{}]", v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
        let named = |v: &[String]| format!("[{}]", v.join(", "));
        let _ = writeln!(s, "model: {} ({}, opset {})", self.model, self.producer, self.opset);
        let _ = writeln!(s, "inputs:");
        for i in &self.inputs {
            let _ = writeln!(s, "  {}  {}  {}", i.name, i.elem_type, named(&i.shape));
        }
        let _ = writeln!(s, "outputs:");
        for o in &self.outputs {
            let note = o.reason.as_ref().map_or(String::new(), |r| format!("  (no gradient: {r})"));
            let _ = writeln!(s, "  {}  {}  {}{note}", o.tensor.name, o.tensor.elem_type, named(&o.tensor.shape));
        }
        let heads: Vec<&ObjectiveCandidate> = self.objective_outputs.iter().filter(|c| !c.feeds.is_empty()).collect();
        if !heads.is_empty() {
            let _ = writeln!(s, "objective tensors under non-differentiable heads:");
            for c in heads {
                let _ = writeln!(s, "  {}  (feeds {})", c.name, c.feeds);
            }
        }
        let batch = if self.batch_axis { "" } else { " (the model has no batch axis; shapes are per sample)" };
        let _ = writeln!(s, "layers ({}), shapes per sample{batch}:", self.layers.len());
        let width = self.layers.iter().map(|l| l.node.len()).max().unwrap_or(4).min(48);
        for l in &self.layers {
            let ins: Vec<String> = l.input_shapes.iter().map(|v| shape(v)).collect();
            let _ = writeln!(
                s,
                "  {:>3}  {:<13} {:<width$}  {} -> {}  params {}",
                l.index,
                l.op,
                l.node,
                ins.join(" + "),
                shape(&l.output_shape),
                l.parameters
            );
        }
        let _ = writeln!(s, "relu sites ({}):", self.relu_sites.len());
        for r in &self.relu_sites {
            let slope =
                if r.negative_slope == 0.0 { String::new() } else { format!("  negative slope {}", r.negative_slope) };
            let _ =
                writeln!(s, "  {:>3}  {:<width$}  {}  neurons {}{slope}", r.index, r.node, shape(&r.shape), r.neurons);
        }
        let _ = writeln!(s, "total relu neurons: {}", self.total_relu_neurons);
        let _ = writeln!(s, "parameters: {}", self.parameters);
        match &self.activation_descent_reason {
            None => {
                let _ = writeln!(s, "supported for activation descent: yes");
            }
            Some(reason) => {
                let _ = writeln!(s, "supported for activation descent: no ({reason}; auto runs without its adr stage)");
            }
        }
        let _ = writeln!(s, "methods: {}", self.methods.join(", "));
        s
    }
}
