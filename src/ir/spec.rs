//! What every IR op must answer for the graph and the optimiser: its output
//! shape and whether it is linear once the gates are fixed. The trait has no
//! default methods, so an op that does not answer both does not compile.
//! Each op answers beside its lowering rules, in its family's file under
//! `lower/rules/` (one place per op); [`Op`] asks it through the one list of
//! ops, [`super::op::dispatch`].

use super::op::{dispatch, Op};
use super::shape::ShapeError;

/// The IR's questions to one op.
pub trait OpSpec {
    /// Batched output shape (axis 0 is the batch) for the first input `x`
    /// and the inputs after it, `others`; or why they do not fit the op or
    /// the output would be too large.
    fn output_shape(&self, x: &[usize], others: &[&[usize]]) -> Result<Vec<usize>, ShapeError>;

    /// Whether, once the surrogate's gates are fixed, the op's Jacobian is
    /// fixed too: affine maps, moves of values, and activation sites (piecewise
    /// linear, the gates choose the piece). Not a max pool (its winners move
    /// with `x`) nor a smooth op (its slope does). The normaliser cache keys
    /// on the gate pattern only when every op before the last site says yes.
    fn piecewise_linear_in_gates(&self) -> bool;
}

impl Op {
    /// Shape of the output given the inputs' batched shapes.
    pub fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        let (x, others) = inputs.split_first().ok_or("op has no input")?;
        dispatch!(self, o => o.output_shape(x, others))
    }

    /// [`OpSpec::piecewise_linear_in_gates`] of this op.
    pub fn piecewise_linear_in_gates(&self) -> bool {
        dispatch!(self, o => o.piecewise_linear_in_gates())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayD, IxDyn};

    use crate::ir::op::*;

    fn window() -> Window {
        Window { kernel: vec![2, 2], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![0; 4] }
    }

    /// One op of every kind.
    fn every_op() -> Vec<Op> {
        let conv_weight = ArrayD::zeros(IxDyn(&[2, 2, 2, 2]));
        vec![
            Op::Dense(Dense { weight: Array2::zeros((3, 4)), bias: None }),
            Op::Conv(Conv { weight: conv_weight.clone(), bias: None, window: window(), groups: 1 }),
            Op::ConvTranspose(ConvTranspose {
                weight: conv_weight,
                bias: None,
                window: window(),
                groups: 1,
                output_padding: vec![0, 0],
            }),
            Op::Affine(Affine { scale: None, shift: None }),
            Op::Add(Add { negate_rhs: false }),
            Op::Concat(Concat { axis: 1 }),
            Op::Reshape(Reshape { shape: vec![4] }),
            Op::Transpose(Transpose { perm: vec![0, 1] }),
            Op::Pad(Pad { pads: vec![0, 1, 0, 1] }),
            Op::MaxPool(MaxPool { window: window() }),
            Op::AvgPool(AvgPool { window: window(), count_include_pad: false }),
            Op::Relu(Relu),
            Op::LeakyRelu(LeakyRelu { alpha: 0.1 }),
            Op::Sigmoid(Sigmoid),
            Op::Tanh(Tanh),
            Op::Softmax(Softmax { axis: 1 }),
            Op::LogSoftmax(LogSoftmax { axis: 1 }),
        ]
    }

    /// The normaliser cache's answer before each op gave its own: a deny
    /// list of the ops whose Jacobian moves with `x` between gate flips. It
    /// pins the answers of the ops that existed then; a new op answers for
    /// itself (the trait has no default) and need not be listed here.
    fn old_deny_list_allows(op: &Op) -> bool {
        !matches!(op, Op::MaxPool(_) | Op::Sigmoid(_) | Op::Tanh(_) | Op::Softmax(_) | Op::LogSoftmax(_))
    }

    #[test]
    fn every_op_says_what_the_old_deny_list_said() {
        let ops = every_op();
        let kinds: std::collections::BTreeSet<&str> = ops.iter().map(Op::kind).collect();
        assert_eq!(kinds.len(), 17, "every_op() misses a kind: {kinds:?}");
        for op in &ops {
            assert_eq!(op.piecewise_linear_in_gates(), old_deny_list_allows(op), "{}", op.kind());
        }
    }

    #[test]
    fn op_without_input_is_an_error() {
        let err = Op::Relu(Relu).output_shape(&[]).unwrap_err();
        assert_eq!(err.to_string(), "op has no input");
    }
}
