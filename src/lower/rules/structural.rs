//! Rules of the ops that combine or move values: Add, Concat, Reshape,
//! Transpose, Pad. Their backward passes reduce broadcasts, split, reshape
//! back, invert the permutation and crop.

use super::{unbroadcast, EmitCx, OpRule};
use crate::ir::{Add, Concat, Pad, Reshape, Transpose};
use crate::writer::builder::{attr_string, Sym};

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
