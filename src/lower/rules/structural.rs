//! The ops that combine or move values: Add, Concat, Reshape, Transpose,
//! Pad, all linear. Their backward passes reduce broadcasts, split, reshape
//! back, invert the permutation and crop.

use super::{unbroadcast, EmitCx, OpRule};
use crate::ir::shape::{broadcast, check_sample_values, sum3, ShapeError};
use crate::ir::{Add, Concat, OpSpec, Pad, Reshape, Transpose};
use crate::writer::builder::{attr_string, Sym};

impl OpSpec for Add {
    fn output_shape(&self, x: &[usize], others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        let y = *others.first().ok_or("Add needs two inputs")?;
        if x.len() != y.len() {
            return Err(format!("operands {x:?} and {y:?} differ in rank").into());
        }
        Ok(broadcast(x, y)?)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl Add {
    fn combine(&self, cx: &mut EmitCx, a: &Sym, b: &Sym) -> Sym {
        if self.negate_rhs {
            cx.b.sub(a, b)
        } else {
            cx.b.add(a, b)
        }
    }
}

impl OpRule for Add {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        self.combine(cx, &ins[0], &ins[1])
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let ga = unbroadcast(cx.b, grad, &ins[0].shape);
        let gb = if self.negate_rhs { cx.b.neg(grad) } else { grad.clone() };
        let gb = unbroadcast(cx.b, &gb, &ins[1].shape);
        vec![ga, gb]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        self.combine(cx, &t[0], &t[1])
    }
}

impl OpSpec for Concat {
    fn output_shape(&self, x: &[usize], others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        let mut out = x.to_vec();
        if self.axis == 0 || self.axis >= x.len() {
            return Err(format!("cannot concatenate along axis {} of {x:?}", self.axis).into());
        }
        for y in others {
            let fits = y.len() == x.len() && (0..x.len()).all(|i| i == self.axis || y[i] == x[i]);
            if !fits {
                return Err(format!("cannot concatenate {x:?} with {y:?} on axis {}", self.axis).into());
            }
            out[self.axis] = out[self.axis].checked_add(y[self.axis]).ok_or_else(|| {
                ShapeError::TooLarge(format!("the concatenated extent along axis {} overflows", self.axis))
            })?;
        }
        Ok(out)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl OpRule for Concat {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.concat(&ins.iter().collect::<Vec<_>>(), self.axis)
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let mut start = 0;
        ins.iter()
            .map(|x| {
                let end = start + x.shape[self.axis];
                let part = cx.b.slice(grad, self.axis, start, end);
                start = end;
                part
            })
            .collect()
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        cx.b.concat(&t.iter().collect::<Vec<_>>(), self.axis)
    }
}

fn with_batch(batch: usize, sample: &[usize]) -> Vec<usize> {
    std::iter::once(batch).chain(sample.iter().copied()).collect()
}

impl OpSpec for Reshape {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        let have = check_sample_values(&x[1..])?;
        let want = check_sample_values(&self.shape)?;
        if have != want {
            return Err(format!("cannot reshape {:?} to {:?}", &x[1..], self.shape).into());
        }
        Ok(std::iter::once(x[0]).chain(self.shape.iter().copied()).collect())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl OpRule for Reshape {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.reshape(&ins[0], &with_batch(ins[0].shape[0], &self.shape))
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        vec![cx.b.reshape(grad, &with_batch(grad.shape[0], &ins[0].shape[1..]))]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        cx.b.reshape(&t[0], &with_batch(t[0].shape[0], &self.shape))
    }
}

impl OpSpec for Transpose {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        if self.perm.len() != x.len() || self.perm.first() != Some(&0) {
            return Err(format!("permutation {:?} does not fit {x:?} or moves the batch axis", self.perm).into());
        }
        Ok(self.perm.iter().map(|&p| x[p]).collect())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl OpRule for Transpose {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        cx.b.transpose(&ins[0], &self.perm)
    }

    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let mut inverse = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        vec![cx.b.transpose(grad, &inverse)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        cx.b.transpose(&t[0], &self.perm)
    }
}

impl OpSpec for Pad {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        if self.pads.len() != 2 * x.len() || self.pads[0] != 0 || self.pads[x.len()] != 0 {
            return Err(format!("pads {:?} do not fit {x:?} or pad the batch axis", self.pads).into());
        }
        (0..x.len())
            .map(|i| sum3(x[i], self.pads[i], self.pads[i + x.len()], &format!("the padded extent of axis {i}")))
            .collect()
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl Pad {
    fn apply(&self, cx: &mut EmitCx, x: &Sym) -> Sym {
        let r = x.rank();
        let pads: Vec<i64> = self.pads.iter().map(|&p| p as i64).collect();
        let c = cx.b.constant_i64("pads", &pads);
        let shape = (0..r).map(|i| x.shape[i] + self.pads[i] + self.pads[i + r]).collect();
        cx.b.node("Pad", &[x, &c], vec![attr_string("mode", "constant")], shape)
    }
}

impl OpRule for Pad {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        self.apply(cx, &ins[0])
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let r = grad.rank();
        let mut g = grad.clone();
        for axis in 1..r {
            let begin = self.pads[axis];
            g = cx.b.slice(&g, axis, begin, begin + ins[0].shape[axis]);
        }
        vec![g]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        self.apply(cx, &t[0])
    }
}
