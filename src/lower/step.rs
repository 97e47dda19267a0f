//! The graphs an optimisation runs, for one model, objective and batch:
//!
//! - `step`: one ADR-GD evaluation (ALGORITHM.md section 6, item 1): the
//!   true forward pass (outputs, pre-activations), the surrogate forward
//!   pass, the objective, the consistency loss `C`, and the backward passes
//!   to the input `x` and to every eta;
//! - `gradient`: the true network's objective and input gradient (GD, PGD);
//! - `eval`: the true network's output and pre-activations;
//! - `normalisers`: squared Jacobian-row norms of every site's surrogate
//!   pre-activations along given input tangents (section 4);
//! - `surrogate`: `f_hat(x, eta)` with the model's own interface, for
//!   `adr-onnx derive`.
//!
//! The optimisation variable `x` is every model input, flattened per sample
//! and concatenated in input order: `[B, n]`.

use super::network::{self, Pass};
use super::pre_name;
use crate::ir::{Graph, ValueId};
use crate::objective::Objective;
use crate::onnx::ImportedModel;
use crate::surrogate::consistency::emit_site_consistency;
use crate::surrogate::gate::emit_gate;
use crate::surrogate::gate::Gate;
use crate::surrogate::{relu_sites, ReluSite};
use crate::writer::builder::{ElemType, GraphBuilder, OnnxGraph, Precision, Sym};

/// Input and output names of the emitted graphs.
pub mod names {
    pub const X: &str = "x";
    pub const FREE: &str = "free";
    pub const C: &str = "c";
    pub const TANGENTS: &str = "tangents";
    pub const LOSS: &str = "loss";
    pub const OBJECTIVE: &str = "objective";
    pub const CONSISTENCY: &str = "consistency";
    pub const GRAD_X: &str = "grad_x";
    pub const Y: &str = "y";
    pub const OUTPUT: &str = "output";

    pub fn eta(k: usize) -> String {
        format!("eta.{k}")
    }
    pub fn inv_norm(k: usize) -> String {
        format!("inv_norm.{k}")
    }
    pub fn grad_eta(k: usize) -> String {
        format!("grad_eta.{k}")
    }
    pub fn sumsq(k: usize) -> String {
        format!("sumsq.{k}")
    }
}

/// A model with an objective: what the graphs are lowered for.
pub struct Problem<'a> {
    pub model: &'a ImportedModel,
    pub sites: Vec<ReluSite>,
    /// The IR value the objective reads (flattened per sample).
    pub target: ValueId,
    /// A second value to report as `output` (the softmax over the logits
    /// the objective reads), when it differs from `target`.
    pub report: Option<ValueId>,
    pub objective: Objective,
    pub alpha: f64,
    pub precision: Precision,
}

impl<'a> Problem<'a> {
    pub fn new(
        model: &'a ImportedModel,
        target: ValueId,
        objective: Objective,
        alpha: f64,
        precision: Precision,
    ) -> Self {
        Problem { model, sites: relu_sites(&model.graph), target, report: None, objective, alpha, precision }
    }

    fn graph(&self) -> &Graph {
        &self.model.graph
    }

    /// Elements of `x` per sample.
    pub fn input_size(&self) -> usize {
        self.graph().input_size()
    }

    /// Elements of the objective's output per sample.
    pub fn output_size(&self) -> usize {
        self.graph().value(self.target).size()
    }
}

/// Splits the flat `x` `[B, n]` into the model's inputs.
fn split_inputs(b: &mut GraphBuilder, g: &Graph, x: &Sym) -> Vec<Sym> {
    let batch = x.shape[0];
    let mut offset = 0;
    g.inputs
        .iter()
        .map(|&v| {
            let size = g.value(v).size();
            let part = b.slice(x, 1, offset, offset + size);
            offset += size;
            b.reshape(&part, &g.value(v).batched(batch))
        })
        .collect()
}

/// Flattens per-input gradients back into the layout of `x`.
fn join_inputs(b: &mut GraphBuilder, parts: &[Sym]) -> Sym {
    let flat: Vec<Sym> = parts.iter().map(|p| b.flatten_sample(p)).collect();
    b.concat(&flat.iter().collect::<Vec<_>>(), 1)
}

fn input_gradient(b: &mut GraphBuilder, g: &Graph, pass: &Pass, grads: &network::Gradients) -> Sym {
    let parts: Vec<Sym> = (0..g.inputs.len()).map(|i| grads.input(b, g, pass, i)).collect();
    join_inputs(b, &parts)
}

fn flat(b: &mut GraphBuilder, s: &Sym) -> Sym {
    b.flatten_sample(s)
}

/// A backward pass's gradient of every site's eta, flat `[B, N_k]`, zeros
/// where it has none.
fn eta_of(b: &mut GraphBuilder, grads: &network::Gradients, etas: &[Sym]) -> Vec<Sym> {
    grads
        .eta
        .iter()
        .zip(etas)
        .map(|(e, like)| {
            let e = e.as_ref().map(|e| flat(b, e));
            or_zeros(b, e, like)
        })
        .collect()
}

/// The value of `v` in the pass, or zeros shaped like it.
fn or_zeros(b: &mut GraphBuilder, s: Option<Sym>, like: &Sym) -> Sym {
    s.unwrap_or_else(|| b.scale(like, 0.0))
}

/// The gate of every site from its flat eta input `[B, N_k]`, with
/// `dg/deta` when a backward pass needs it.
fn site_gates(b: &mut GraphBuilder, p: &Problem, etas: &[Sym], batch: usize, derivative: bool) -> Vec<Gate> {
    p.sites
        .iter()
        .zip(etas)
        .map(|(s, eta)| {
            let e = b.reshape(eta, &p.graph().value(s.pre).batched(batch));
            emit_gate(b, &e, p.alpha, derivative)
        })
        .collect()
}

/// Emits the true output and the sites' pre-activations as outputs.
/// Outputs the true network's `y`, the reported output, and with `pre`
/// each site's pre-activation (only the evaluation graph needs them: ADR
/// syncs its pattern from them; elsewhere they would be copied for nothing).
fn output_truth(b: &mut GraphBuilder, p: &Problem, pass: &Pass, pre: bool) {
    let y = pass.value(p.target).clone();
    let y = flat(b, &y);
    b.output(&y, names::Y);
    if let Some(r) = p.report.filter(|&r| r != p.target) {
        let o = pass.value(r).clone();
        let o = flat(b, &o);
        b.output(&o, names::OUTPUT);
    }
    for s in p.sites.iter().filter(|_| pre) {
        let z = pass.value(s.pre).clone();
        let z = flat(b, &z);
        b.output(&z, &pre_name(s.index));
    }
}

/// One ADR-GD evaluation for `batch` samples.
///
/// Inputs: `x [B,n]`, `free [B,n]` (1 where an element is optimised),
/// `c [B]`, then per site `eta.k [B,N_k]` and `inv_norm.k [B,N_k]`
/// (`1 / max(||J_k||, 1)`), then the objective's parameters.
/// Outputs: `loss`, `objective`, `consistency` `[B]`, `grad_x [B,n]`,
/// `grad_eta.k` and `y [B,m]` (true output).
pub fn step_graph(p: &Problem, batch: usize) -> OnnxGraph {
    let g = p.graph();
    let mut b = GraphBuilder::new("adr_step", p.precision);
    let x = b.input(names::X, vec![batch, p.input_size()]);
    let free = b.input(names::FREE, vec![batch, p.input_size()]);
    let c = b.input(names::C, vec![batch]);
    let mut etas = Vec::new();
    let mut inv_norms = Vec::new();
    for s in &p.sites {
        etas.push(b.input(&names::eta(s.index), vec![batch, s.neurons]));
        inv_norms.push(b.input(&names::inv_norm(s.index), vec![batch, s.neurons]));
    }
    let params = p.objective.declare_inputs(&mut b, batch, p.output_size());

    let inputs = split_inputs(&mut b, g, &x);
    let truth = network::true_forward(&mut b, g, &p.sites, &inputs);
    let gates = site_gates(&mut b, p, &etas, batch, true);
    let surrogate = network::gated_forward(&mut b, g, &p.sites, gates, &truth);

    // Objective on the surrogate output.
    let y_hat = surrogate.value(p.target).clone();
    let y_hat_flat = flat(&mut b, &y_hat);
    let obj = p.objective.emit(&mut b, &y_hat_flat, &params);
    let seed = b.reshape(&obj.seed, &y_hat.shape);
    let obj_seeds = vec![(p.target, seed)];

    // Consistency loss on the true pre-activations.
    let c_col = b.reshape(&c, &[batch, 1]);
    let mut total_c: Option<Sym> = None;
    let mut c_seeds = Vec::new();
    let mut eta_c = Vec::new();
    for (k, s) in p.sites.iter().enumerate() {
        let z = truth.value(s.pre).clone();
        let z_flat = flat(&mut b, &z);
        let site = emit_site_consistency(&mut b, &z_flat, &etas[k], &inv_norms[k]);
        total_c = Some(match total_c {
            None => site.value,
            Some(t) => b.add(&t, &site.value),
        });
        let gz = b.mul(&site.grad_z, &c_col);
        c_seeds.push((s.pre, b.reshape(&gz, &z.shape)));
        eta_c.push(b.mul(&site.grad_eta, &c_col));
    }
    let consistency = total_c.unwrap_or_else(|| b.scale(&c, 0.0));
    let c_times = b.mul(&consistency, &c);

    let sites = p.sites.len();
    let (obj_value, grad_x, eta_obj) = if p.objective.normalised() {
        // -y_i / ||dy_i/dx||, the norm detached: every gradient of the
        // objective divides by it, so its input gradient is needed alone.
        let obj_grads = network::backward(&mut b, g, &surrogate, sites, obj_seeds);
        let gx_obj = input_gradient(&mut b, g, &surrogate, &obj_grads);
        let gx_obj = b.mul(&gx_obj, &free);
        let n = b.l2_norm_per_sample(&gx_obj);
        let eps = b.scalar(1e-12);
        let n = b.max(&n, &eps);
        let gx_obj = b.div(&gx_obj, &n);
        let eta_obj: Vec<Sym> = eta_of(&mut b, &obj_grads, &etas).iter().map(|e| b.div(e, &n)).collect();
        let n1 = b.reshape(&n, &[batch]);
        let c_grads = network::backward(&mut b, g, &truth, sites, c_seeds);
        let gx_c = input_gradient(&mut b, g, &truth, &c_grads);
        let gx_c = b.mul(&gx_c, &free);
        (b.div(&obj.value, &n1), b.add(&gx_obj, &gx_c), eta_obj)
    } else {
        // The objective's and the consistency's backward passes share the
        // layers before the first site: their sum runs through them once.
        let (obj_grads, prefix) = network::joint_backward(&mut b, g, &surrogate, obj_seeds, &truth, c_seeds, sites);
        let gx = input_gradient(&mut b, g, &truth, &prefix);
        (obj.value, b.mul(&gx, &free), eta_of(&mut b, &obj_grads, &etas))
    };

    let loss = b.add(&obj_value, &c_times);
    b.output(&loss, names::LOSS);
    b.output(&obj_value, names::OBJECTIVE);
    b.output(&consistency, names::CONSISTENCY);
    b.output(&grad_x, names::GRAD_X);
    for ((s, eo), ec) in p.sites.iter().zip(&eta_obj).zip(&eta_c) {
        let ge = b.add(eo, ec);
        b.output(&ge, &names::grad_eta(s.index));
    }
    output_truth(&mut b, p, &truth, false);
    b.finish()
}

/// The true network's objective and input gradient (GD and PGD).
///
/// Inputs: `x [B,n]`, `free [B,n]`, the objective's parameters. Outputs:
/// `objective [B]`, `grad_x [B,n]`, `y [B,m]`.
pub fn gradient_graph(p: &Problem, batch: usize) -> OnnxGraph {
    let g = p.graph();
    let mut b = GraphBuilder::new("true_gradient", p.precision);
    let x = b.input(names::X, vec![batch, p.input_size()]);
    let free = b.input(names::FREE, vec![batch, p.input_size()]);
    let params = p.objective.declare_inputs(&mut b, batch, p.output_size());
    let inputs = split_inputs(&mut b, g, &x);
    let truth = network::true_forward(&mut b, g, &p.sites, &inputs);
    let y = truth.value(p.target).clone();
    let y_flat = flat(&mut b, &y);
    let obj = p.objective.emit(&mut b, &y_flat, &params);
    let seed = b.reshape(&obj.seed, &y.shape);
    let grads = network::backward(&mut b, g, &truth, p.sites.len(), vec![(p.target, seed)]);
    let gx = input_gradient(&mut b, g, &truth, &grads);
    let gx = b.mul(&gx, &free);
    b.output(&obj.value, names::OBJECTIVE);
    b.output(&gx, names::GRAD_X);
    output_truth(&mut b, p, &truth, false);
    b.finish()
}

/// The true network on `x [B,n]`: outputs `y [B,m]` and `pre.k`.
pub fn eval_graph(p: &Problem, batch: usize) -> OnnxGraph {
    let g = p.graph();
    let mut b = GraphBuilder::new("true_eval", p.precision);
    let x = b.input(names::X, vec![batch, p.input_size()]);
    let inputs = split_inputs(&mut b, g, &x);
    let truth = network::true_forward(&mut b, g, &p.sites, &inputs);
    output_truth(&mut b, p, &truth, true);
    b.finish()
}

/// Squared Jacobian-row norms of the surrogate pre-activations along
/// `per_sample` tangents per sample: inputs `x [B,n]`, `eta.k [B,N_k]`,
/// `tangents [B*K,n]`; outputs `sumsq.k [B,N_k]`, the sum over the `K`
/// tangents `v` of `(J_k v)^2`. The gates are constants (section 4).
pub fn normaliser_graph(p: &Problem, batch: usize, per_sample: usize) -> OnnxGraph {
    let g = p.graph();
    let n = p.input_size();
    let mut b = GraphBuilder::new("normalisers", p.precision);
    let x = b.input(names::X, vec![batch, n]);
    let etas: Vec<Sym> = p.sites.iter().map(|s| b.input(&names::eta(s.index), vec![batch, s.neurons])).collect();
    let tangents = b.input(names::TANGENTS, vec![batch * per_sample, n]);
    let inputs = split_inputs(&mut b, g, &x);
    let truth = network::true_forward(&mut b, g, &p.sites, &inputs);
    let gates = site_gates(&mut b, p, &etas, batch, false);
    let surrogate = network::gated_forward(&mut b, g, &p.sites, gates, &truth);
    let input_tangents = split_inputs(&mut b, g, &tangents);
    let t = network::tangents(&mut b, g, &surrogate, &input_tangents, per_sample);
    for s in &p.sites {
        let ts = t[s.pre.0].clone().expect("every value has a tangent");
        let ts = b.reshape(&ts, &[batch, per_sample, s.neurons]);
        let sq = b.mul(&ts, &ts);
        let sum = b.reduce_sum(&sq, &[1], false);
        b.output(&sum, &names::sumsq(s.index));
    }
    b.finish()
}

/// The sigmoid surrogate `f_hat(x, eta)` with the model's interface: its
/// inputs plus `eta.k` (site shape, leading batch axis), its outputs plus
/// the surrogate pre-activations `pre.k`. Any batch size.
pub fn surrogate_graph(model: &ImportedModel, alpha: f64, precision: Precision) -> OnnxGraph {
    let g = &model.graph;
    let sites = relu_sites(g);
    let mut b = GraphBuilder::new("surrogate", precision)
        .with_symbolic_batch("N")
        .with_metadata("adr_onnx.alpha", &alpha.to_string())
        .with_metadata("adr_onnx.gate", "g(eta) = 1 - sigmoid(alpha * (eta - 0.5 + 1e-6))");
    let inputs: Vec<Sym> = g.inputs.iter().map(|&v| b.input(&g.value(v).name, g.value(v).batched(1))).collect();
    let etas: Vec<Sym> = sites.iter().map(|s| b.input(&names::eta(s.index), g.value(s.pre).batched(1))).collect();
    let truth = network::true_forward(&mut b, g, &sites, &inputs);
    let gates = etas.iter().map(|e| emit_gate(&mut b, e, alpha, false)).collect();
    let surrogate = network::gated_forward(&mut b, g, &sites, gates, &truth);
    for c in &model.candidates {
        let v = surrogate.value(c.value).clone();
        b.output(&v, &c.name);
    }
    for s in &sites {
        let v = surrogate.value(s.pre).clone();
        b.output_typed(&v, &pre_name(s.index), ElemType::Float);
    }
    b.finish()
}
