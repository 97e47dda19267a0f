//! One place per IR op: each family's file (`activation`, `linear`, `pool`,
//! `smooth`, `structural`) holds, for each of its ops, what the IR asks of
//! it (`ir::OpSpec`: its output shape and whether it is piecewise linear in
//! the gates) and its math written once as emitted ONNX nodes ([`OpRule`]:
//! its forward computation, its vector-Jacobian product (backward) and its
//! Jacobian-vector product (forward mode, for the normalisers)). Both
//! traits are reached through the IR's one list of ops (`ir::op::dispatch`)
//! and have no default methods, so a new op compiles only with all of them.

mod activation;
mod linear;
mod pool;
mod smooth;
mod structural;

use crate::ir::op::dispatch;
use crate::ir::Op;
use crate::surrogate::gate::Gate;
use crate::writer::builder::{GraphBuilder, Sym};

/// How activation sites and max pools behave in a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The real network: ReLU, max pooling.
    True,
    /// The sigmoid surrogate: each activation site multiplied by its gate,
    /// each max pool reading the true network's winners.
    Gated,
}

/// What a rule needs beyond its inputs: the builder, the pass mode, the
/// node's gate or pooling winners, and out-parameters.
pub struct EmitCx<'a> {
    pub b: &'a mut GraphBuilder,
    pub mode: Mode,
    /// Index of the node in the IR (constant cache keys).
    pub node: usize,
    /// The gate of this node when it is an activation site in a gated pass.
    pub gate: Option<&'a Gate>,
    /// One-hot winner masks `[B, C, window, out...]` of this max pool.
    pub winners: Option<&'a Sym>,
    /// Set by an activation's backward rule in a gated pass: the gradient
    /// with respect to the site's eta.
    pub eta_grad: Option<Sym>,
    /// In forward mode: tangent rows per sample (`[B*K, ...]` tangents).
    pub tangents_per_sample: usize,
}

impl EmitCx<'_> {
    /// Cache key of a constant of this node.
    pub fn key(&self, tag: &str) -> String {
        format!("n{}.{tag}", self.node)
    }

    /// Repeats a per-sample tensor `[B, ...]` for the `K` tangent rows of each
    /// sample: `[B*K, ...]`.
    pub fn per_tangent(&mut self, s: &Sym) -> Sym {
        let k = self.tangents_per_sample;
        if k == 1 {
            return s.clone();
        }
        let mut wide = vec![s.shape[0], 1];
        wide.extend_from_slice(&s.shape[1..]);
        let r = self.b.reshape(s, &wide);
        wide[1] = k;
        let e = self.b.expand(&r, &wide);
        let mut flat = vec![s.shape[0] * k];
        flat.extend_from_slice(&s.shape[1..]);
        self.b.reshape(&e, &flat)
    }

    pub fn gate(&self) -> &Gate {
        self.gate.expect("lowering bug: gated activation without a gate")
    }

    pub fn winners(&self) -> &Sym {
        self.winners.expect("lowering bug: max pool without winners")
    }
}

/// The math of one op.
pub trait OpRule {
    /// Emits the output for inputs `ins`; `out_shape` is the batched output shape.
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], out_shape: &[usize]) -> Sym;

    /// Emits the gradients with respect to each input, given the forward
    /// inputs, output and the output's gradient.
    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym>;

    /// Emits the output tangent for input tangents (`[B*K, ...]`); `ins` and
    /// `out` are the forward values (`[B, ...]`).
    fn jvp(&self, cx: &mut EmitCx, ins: &[Sym], out: &Sym, tangents: &[Sym]) -> Sym;
}

/// The rules of an op, through the IR's one list of ops.
pub fn rule(op: &Op) -> &dyn OpRule {
    dispatch!(op, o => o)
}

/// Sums `grad` over the axes that broadcasting grew, back to `shape`.
pub fn unbroadcast(b: &mut GraphBuilder, grad: &Sym, shape: &[usize]) -> Sym {
    if grad.shape == shape {
        return grad.clone();
    }
    let off = grad.rank() - shape.len();
    let axes: Vec<usize> =
        (0..grad.rank()).filter(|&i| i < off || (shape[i - off] == 1 && grad.shape[i] != 1)).collect();
    let summed = if axes.is_empty() { grad.clone() } else { b.reduce_sum(grad, &axes, true) };
    b.reshape(&summed, shape)
}
