//! Rules of the smooth heads: Sigmoid, Tanh, Softmax, LogSoftmax. They are
//! kept as they are in the surrogate; derivatives use the forward output.

use super::{EmitCx, OpRule};
use crate::ir::{LogSoftmax, Sigmoid, Softmax, Tanh};
use crate::writer::builder::{attr_int, Sym};

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

/// `y * (v - sum(v * y))` along `axis`: the softmax Jacobian (symmetric)
/// applied to `v`.
fn softmax_product(cx: &mut EmitCx, y: &Sym, v: &Sym, axis: usize) -> Sym {
    let vy = cx.b.mul(v, y);
    let s = cx.b.reduce_sum(&vy, &[axis], true);
    let centred = cx.b.sub(v, &s);
    cx.b.mul(y, &centred)
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
