//! The smooth heads: Sigmoid, Tanh, Softmax, LogSoftmax. They are kept as
//! they are in the surrogate, so their slope moves with `x`; derivatives use
//! the forward output.

use super::{EmitCx, OpRule};
use crate::ir::shape::ShapeError;
use crate::ir::{LogSoftmax, OpSpec, Sigmoid, Softmax, Tanh};
use crate::writer::builder::{attr_int, Sym};

impl OpSpec for Sigmoid {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        Ok(x.to_vec())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        false
    }
}

impl OpRule for Sigmoid {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.sigmoid(&ins[0])
    }

    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym> {
        let d = sigmoid_derivative(cx, out);
        vec![cx.b.mul(grad, &d)]
    }
    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, t: &[Sym]) -> Sym {
        let d = sigmoid_derivative(cx, out);
        let d = cx.per_tangent(&d);
        cx.b.mul(&t[0], &d)
    }
}

/// `y (1 - y)` from the output `y`.
fn sigmoid_derivative(cx: &mut EmitCx, y: &Sym) -> Sym {
    let one_minus = {
        let n = cx.b.neg(y);
        cx.b.add_scalar(&n, 1.0)
    };
    cx.b.mul(y, &one_minus)
}

/// `1 - y^2` from the output `y`.
fn tanh_derivative(cx: &mut EmitCx, y: &Sym) -> Sym {
    let sq = cx.b.mul(y, y);
    let n = cx.b.neg(&sq);
    cx.b.add_scalar(&n, 1.0)
}

impl OpSpec for Tanh {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        Ok(x.to_vec())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        false
    }
}

impl OpRule for Tanh {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.unary("Tanh", &ins[0])
    }
    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym> {
        let d = tanh_derivative(cx, out);
        vec![cx.b.mul(grad, &d)]
    }
    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, t: &[Sym]) -> Sym {
        let d = tanh_derivative(cx, out);
        let d = cx.per_tangent(&d);
        cx.b.mul(&t[0], &d)
    }
}

/// The input's shape, when `axis` is one of its non-batch axes; `what`
/// names the op in the message.
fn normalised_axis_shape(x: &[usize], axis: usize, what: &str) -> Result<Vec<usize>, ShapeError> {
    if axis == 0 || axis >= x.len() {
        return Err(format!("{what} axis {axis} invalid for {x:?}").into());
    }
    Ok(x.to_vec())
}

/// `y * (v - sum(v * y))` along `axis`: the softmax Jacobian (symmetric)
/// applied to `v`.
fn softmax_product(cx: &mut EmitCx, y: &Sym, v: &Sym, axis: usize) -> Sym {
    let vy = cx.b.mul(v, y);
    let s = cx.b.reduce_sum(&vy, &[axis], true);
    let centred = cx.b.sub(v, &s);
    cx.b.mul(y, &centred)
}

impl OpSpec for Softmax {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        normalised_axis_shape(x, self.axis, "softmax")
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        false
    }
}

impl OpRule for Softmax {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.node("Softmax", &[&ins[0]], vec![attr_int("axis", self.axis as i64)], ins[0].shape.clone())
    }
    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym> {
        vec![softmax_product(cx, out, grad, self.axis)]
    }
    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, t: &[Sym]) -> Sym {
        let y = cx.per_tangent(out);
        softmax_product(cx, &y, &t[0], self.axis)
    }
}

impl OpSpec for LogSoftmax {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        normalised_axis_shape(x, self.axis, "log-softmax")
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        false
    }
}

impl OpRule for LogSoftmax {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.node("LogSoftmax", &[&ins[0]], vec![attr_int("axis", self.axis as i64)], ins[0].shape.clone())
    }
    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym> {
        // d/dx: grad - softmax * sum(grad)
        let p = cx.b.unary("Exp", out);
        let s = cx.b.reduce_sum(grad, &[self.axis], true);
        let ps = cx.b.mul(&p, &s);
        vec![cx.b.sub(grad, &ps)]
    }
    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, t: &[Sym]) -> Sym {
        // t - sum(softmax * t)
        let p = cx.b.unary("Exp", out);
        let p = cx.per_tangent(&p);
        let pt = cx.b.mul(&p, &t[0]);
        let s = cx.b.reduce_sum(&pt, &[self.axis], true);
        cx.b.sub(&t[0], &s)
    }
}
