//! The activation sites, piecewise linear with the piece chosen by the
//! gate, their shape the input's. In the true network a site is
//! `max(u, 0)` (or leaky); in the surrogate it is `u * s(g)` with the gate
//! `g = g(eta)` and `s(g) = a + (1 - a) g` for negative slope `a` (ReLU:
//! `a = 0`, so `u * g`). The surrogate's backward pass also yields the
//! gradient to eta: `grad * u * (1 - a) * dg/deta`.

use super::{EmitCx, Mode, OpRule};
use crate::ir::shape::ShapeError;
use crate::ir::{LeakyRelu, OpSpec, Relu};
use crate::writer::builder::{attr_float, Precision, Sym};

/// The shared math of ReLU (`slope = 0`) and LeakyReLU.
struct Site {
    slope: f32,
}

impl Site {
    /// The factor the input is multiplied by: the true pattern `a + (1-a)[u>0]`
    /// or the gated `a + (1-a) g`.
    fn factor(&self, cx: &mut EmitCx, u: &Sym) -> Sym {
        let on = match cx.mode {
            Mode::True => cx.b.positive_mask(u),
            Mode::Gated => cx.gate().g.clone(),
        };
        if self.slope == 0.0 {
            return on;
        }
        let a = f64::from(self.slope);
        let scaled = cx.b.scale(&on, 1.0 - a);
        cx.b.add_scalar(&scaled, a)
    }

    fn forward(&self, cx: &mut EmitCx, u: &Sym) -> Sym {
        match cx.mode {
            Mode::True if self.slope == 0.0 => cx.b.relu(u),
            Mode::True if cx.b.precision() == Precision::F32 => {
                cx.b.node("LeakyRelu", &[u], vec![attr_float("alpha", self.slope)], u.shape.clone())
            }
            Mode::True => {
                // (1 - a) relu(u) + a u: tract's LeakyRelu is f32 only.
                let r = cx.b.relu(u);
                let r = cx.b.scale(&r, 1.0 - f64::from(self.slope));
                let l = cx.b.scale(u, f64::from(self.slope));
                cx.b.add(&r, &l)
            }
            Mode::Gated => {
                let f = self.factor(cx, u);
                cx.b.mul(u, &f)
            }
        }
    }

    fn vjp(&self, cx: &mut EmitCx, u: &Sym, grad: &Sym) -> Vec<Sym> {
        let f = self.factor(cx, u);
        if cx.mode == Mode::Gated {
            if let Some(dg) = cx.gate().dg.clone() {
                let gu = cx.b.mul(grad, u);
                let gu = if self.slope == 0.0 { gu } else { cx.b.scale(&gu, 1.0 - f64::from(self.slope)) };
                cx.eta_grad = Some(cx.b.mul(&gu, &dg));
            }
        }
        vec![cx.b.mul(grad, &f)]
    }

    fn jvp(&self, cx: &mut EmitCx, u: &Sym, t: &Sym) -> Sym {
        let f = self.factor(cx, u);
        let f = cx.per_tangent(&f);
        cx.b.mul(t, &f)
    }
}

impl OpSpec for Relu {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        Ok(x.to_vec())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl OpRule for Relu {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        Site { slope: 0.0 }.forward(cx, &ins[0])
    }
    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        Site { slope: 0.0 }.vjp(cx, &ins[0], grad)
    }
    fn jvp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        Site { slope: 0.0 }.jvp(cx, &ins[0], &t[0])
    }
}

impl OpSpec for LeakyRelu {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        Ok(x.to_vec())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl OpRule for LeakyRelu {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        Site { slope: self.alpha }.forward(cx, &ins[0])
    }
    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        Site { slope: self.alpha }.vjp(cx, &ins[0], grad)
    }
    fn jvp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        Site { slope: self.alpha }.jvp(cx, &ins[0], &t[0])
    }
}
