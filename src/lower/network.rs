//! Whole-network passes emitted into a graph: the forward pass (true or
//! gated), the backward pass from seeds (vector-Jacobian products through
//! the same linearisation) and forward-mode tangents.
//!
//! The true and the gated pass agree on every value that no activation site
//! feeds (the *site-free prefix*: the inputs and, on a feed-forward network,
//! every layer up to the first site). A gated pass reuses the true pass's
//! tensors there instead of computing them twice, and [`joint_backward`]
//! sums two backward passes where they reach the prefix, so that the prefix
//! is traversed once.

use std::collections::HashMap;

use super::rules::{rule, EmitCx, Mode};
use crate::ir::{Graph, Op, ValueId};
use crate::surrogate::gate::Gate;
use crate::surrogate::ReluSite;
use crate::writer::builder::{GraphBuilder, Sym};

/// The tensors of one forward pass, per IR value, with what its backward
/// and tangent passes need.
pub struct Pass {
    pub mode: Mode,
    pub values: Vec<Option<Sym>>,
    /// Winner masks per MaxPool node index (from the true network).
    pub winners: HashMap<usize, Sym>,
    /// Gates per activation node index (gated passes).
    pub gates: HashMap<usize, Gate>,
    /// Site number per activation node index.
    site_of_node: HashMap<usize, usize>,
    /// Per IR value: whether no activation site feeds it.
    site_free: Vec<bool>,
}

impl Pass {
    pub fn value(&self, v: ValueId) -> &Sym {
        self.values[v.0].as_ref().expect("lowering bug: value not computed by the pass")
    }

    /// The emission context of node `i` in this pass.
    fn cx<'a>(&'a self, b: &'a mut GraphBuilder, i: usize, tangents_per_sample: usize) -> EmitCx<'a> {
        EmitCx {
            b,
            mode: self.mode,
            node: i,
            gate: self.gates.get(&i),
            winners: self.winners.get(&i),
            eta_grad: None,
            tangents_per_sample,
        }
    }
}

fn site_map(sites: &[ReluSite]) -> HashMap<usize, usize> {
    sites.iter().map(|s| (s.node_id.0, s.index)).collect()
}

/// Per IR value: whether it is computed without any activation site, so
/// that the true and the gated pass give it the same tensor.
fn site_free_values(g: &Graph, site_of_node: &HashMap<usize, usize>) -> Vec<bool> {
    let mut free = vec![false; g.values().len()];
    for &v in &g.inputs {
        free[v.0] = true;
    }
    for (i, node) in g.nodes().iter().enumerate() {
        free[node.output.0] = !site_of_node.contains_key(&i) && node.inputs.iter().all(|v| free[v.0]);
    }
    free
}

impl Pass {
    fn new(g: &Graph, sites: &[ReluSite], mode: Mode) -> Pass {
        let site_of_node = site_map(sites);
        Pass {
            mode,
            values: vec![None; g.values().len()],
            winners: HashMap::new(),
            gates: HashMap::new(),
            site_free: site_free_values(g, &site_of_node),
            site_of_node,
        }
    }
}

/// Runs the nodes of `g`; where `shared` is given (the true pass, for a
/// gated one), its tensors of the site-free prefix are reused.
fn run_forward(b: &mut GraphBuilder, g: &Graph, inputs: &[Sym], mut pass: Pass, shared: Option<&Pass>) -> Pass {
    for (&v, s) in g.inputs.iter().zip(inputs) {
        pass.values[v.0] = Some(s.clone());
    }
    for (i, node) in g.nodes().iter().enumerate() {
        if let Some(truth) = shared.filter(|_| pass.site_free[node.output.0]) {
            pass.values[node.output.0] = truth.values[node.output.0].clone();
            continue;
        }
        let ins: Vec<Sym> = node.inputs.iter().map(|&v| pass.value(v).clone()).collect();
        let batch = ins[0].shape[0];
        if pass.mode == Mode::True {
            if let Op::MaxPool(p) = &node.op {
                let w = p.winners(b, i, &ins[0]);
                pass.winners.insert(i, w);
            }
        }
        let out_shape = g.value(node.output).batched(batch);
        let out = rule(&node.op).forward(&mut pass.cx(b, i, 1), &ins, &out_shape);
        pass.values[node.output.0] = Some(out);
    }
    pass
}

/// The true network on `inputs` (one per graph input); max-pool winners are
/// recorded for later passes.
pub fn true_forward(b: &mut GraphBuilder, g: &Graph, sites: &[ReluSite], inputs: &[Sym]) -> Pass {
    run_forward(b, g, inputs, Pass::new(g, sites, Mode::True), None)
}

/// The sigmoid surrogate on the inputs of the true pass `truth`, with one
/// gate per site and the true network's max-pool winners; the site-free
/// prefix is the true pass's.
pub fn gated_forward(b: &mut GraphBuilder, g: &Graph, sites: &[ReluSite], gates: Vec<Gate>, truth: &Pass) -> Pass {
    let mut pass = Pass::new(g, sites, Mode::Gated);
    pass.winners = truth.winners.clone();
    pass.gates = sites.iter().map(|s| s.node_id.0).zip(gates).collect();
    let inputs: Vec<Sym> = g.inputs.iter().map(|&v| truth.value(v).clone()).collect();
    run_forward(b, g, &inputs, pass, Some(truth))
}

/// Gradients of a backward pass: per IR value, and per site's eta (gated
/// passes whose gates carry `dg`).
pub struct Gradients {
    pub values: Vec<Option<Sym>>,
    pub eta: Vec<Option<Sym>>,
}

impl Gradients {
    /// The gradient reaching graph input `i`, or zeros where none does.
    pub fn input(&self, b: &mut GraphBuilder, g: &Graph, pass: &Pass, i: usize) -> Sym {
        let v = g.inputs[i];
        match &self.values[v.0] {
            Some(s) => s.clone(),
            None => {
                let x = pass.value(v);
                b.scale(x, 0.0)
            }
        }
    }
}

fn accumulate(b: &mut GraphBuilder, slot: &mut Option<Sym>, g: Sym) {
    *slot = Some(match slot.take() {
        None => g,
        Some(prev) => b.add(&prev, &g),
    });
}

fn seeded(b: &mut GraphBuilder, g: &Graph, seeds: Vec<(ValueId, Sym)>) -> Vec<Option<Sym>> {
    let mut grads: Vec<Option<Sym>> = vec![None; g.values().len()];
    for (v, s) in seeds {
        accumulate(b, &mut grads[v.0], s);
    }
    grads
}

/// Backpropagates `seeds` (gradients at some values) through the pass's
/// linearisation, in reverse topological order.
pub fn backward(b: &mut GraphBuilder, g: &Graph, pass: &Pass, n_sites: usize, seeds: Vec<(ValueId, Sym)>) -> Gradients {
    let grads = seeded(b, g, seeds);
    propagate(b, g, pass, n_sites, grads, |_| true)
}

/// Two backward passes, `gated_seeds` through the gated pass and
/// `true_seeds` through the true pass, summed: each runs down to the
/// site-free prefix, where the two passes share their linearisation, and
/// the sum of their gradients there is backpropagated once through it.
/// Returns the gated pass's gradients (its eta gradients; a true pass has
/// none) and the sum's through the prefix (the graph inputs among them).
pub fn joint_backward(
    b: &mut GraphBuilder,
    g: &Graph,
    gated: &Pass,
    gated_seeds: Vec<(ValueId, Sym)>,
    truth: &Pass,
    true_seeds: Vec<(ValueId, Sym)>,
    n_sites: usize,
) -> (Gradients, Gradients) {
    // Both passes are of `g` with the same sites: one prefix.
    let in_prefix = |v: ValueId| truth.site_free[v.0];
    let gated_seeds = seeded(b, g, gated_seeds);
    let upper_gated = propagate(b, g, gated, n_sites, gated_seeds, |v| !in_prefix(v));
    let true_seeds = seeded(b, g, true_seeds);
    let upper_true = propagate(b, g, truth, n_sites, true_seeds, |v| !in_prefix(v));
    let mut at_prefix: Vec<Option<Sym>> = vec![None; g.values().len()];
    for (v, slot) in at_prefix.iter_mut().enumerate().filter(|(v, _)| truth.site_free[*v]) {
        for grad in [&upper_gated.values[v], &upper_true.values[v]].into_iter().flatten() {
            accumulate(b, slot, grad.clone());
        }
    }
    let prefix = propagate(b, g, truth, n_sites, at_prefix, in_prefix);
    (upper_gated, prefix)
}

/// Backpropagates `grads` through the nodes whose output `visit` accepts,
/// in reverse topological order.
fn propagate(
    b: &mut GraphBuilder,
    g: &Graph,
    pass: &Pass,
    n_sites: usize,
    mut grads: Vec<Option<Sym>>,
    visit: impl Fn(ValueId) -> bool,
) -> Gradients {
    let mut eta = vec![None; n_sites];
    for (i, node) in g.nodes().iter().enumerate().rev() {
        if !visit(node.output) {
            continue;
        }
        let Some(grad) = grads[node.output.0].clone() else { continue };
        let ins: Vec<Sym> = node.inputs.iter().map(|&v| pass.value(v).clone()).collect();
        let out = pass.value(node.output).clone();
        let mut cx = pass.cx(b, i, 1);
        let input_grads = rule(&node.op).vjp(&mut cx, &ins, &out, &grad);
        if let (Some(e), Some(&k)) = (cx.eta_grad.take(), pass.site_of_node.get(&i)) {
            eta[k] = Some(e);
        }
        for (&v, gi) in node.inputs.iter().zip(input_grads) {
            accumulate(b, &mut grads[v.0], gi);
        }
    }
    Gradients { values: grads, eta }
}

/// Pushes tangents `[B*K, ...]` (one per graph input, `K` per sample)
/// through the pass's linearisation; returns the tangent of every value.
pub fn tangents(
    b: &mut GraphBuilder,
    g: &Graph,
    pass: &Pass,
    input_tangents: &[Sym],
    per_sample: usize,
) -> Vec<Option<Sym>> {
    let mut t: Vec<Option<Sym>> = vec![None; g.values().len()];
    for (&v, s) in g.inputs.iter().zip(input_tangents) {
        t[v.0] = Some(s.clone());
    }
    for (i, node) in g.nodes().iter().enumerate() {
        let ins: Vec<Sym> = node.inputs.iter().map(|&v| pass.value(v).clone()).collect();
        let tin: Vec<Sym> =
            node.inputs.iter().map(|&v| t[v.0].clone().expect("lowering bug: tangent not computed")).collect();
        let out = pass.value(node.output).clone();
        t[node.output.0] = Some(rule(&node.op).jvp(&mut pass.cx(b, i, per_sample), &ins, &out, &tin));
    }
    t
}
