//! Whole-network passes emitted into a graph: the forward pass (true or
//! gated), the backward pass from seeds (vector-Jacobian products through
//! the same linearisation) and forward-mode tangents.

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

fn run_forward(b: &mut GraphBuilder, g: &Graph, inputs: &[Sym], mut pass: Pass) -> Pass {
    for (&v, s) in g.inputs.iter().zip(inputs) {
        pass.values[v.0] = Some(s.clone());
    }
    for (i, node) in g.nodes().iter().enumerate() {
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
    let pass = Pass {
        mode: Mode::True,
        values: vec![None; g.values().len()],
        winners: HashMap::new(),
        gates: HashMap::new(),
        site_of_node: site_map(sites),
    };
    run_forward(b, g, inputs, pass)
}

/// The sigmoid surrogate on `inputs`, with one gate per site and the true
/// network's max-pool winners.
pub fn gated_forward(
    b: &mut GraphBuilder,
    g: &Graph,
    sites: &[ReluSite],
    inputs: &[Sym],
    gates: Vec<Gate>,
    winners: &HashMap<usize, Sym>,
) -> Pass {
    let pass = Pass {
        mode: Mode::Gated,
        values: vec![None; g.values().len()],
        winners: winners.clone(),
        gates: sites.iter().map(|s| s.node_id.0).zip(gates).collect(),
        site_of_node: site_map(sites),
    };
    run_forward(b, g, inputs, pass)
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

/// Backpropagates `seeds` (gradients at some values) through the pass's
/// linearisation, in reverse topological order.
pub fn backward(b: &mut GraphBuilder, g: &Graph, pass: &Pass, n_sites: usize, seeds: Vec<(ValueId, Sym)>) -> Gradients {
    let mut grads: Vec<Option<Sym>> = vec![None; g.values().len()];
    for (v, s) in seeds {
        accumulate(b, &mut grads[v.0], s);
    }
    let mut eta = vec![None; n_sites];
    for (i, node) in g.nodes().iter().enumerate().rev() {
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
