//! Objectives on a network output `y` (`[B, m]`, flattened per sample),
//! emitted as ONNX: each gives its value `[B]` (to minimise) and its
//! gradient with respect to `y` (ALGORITHM.md section 5). Their parameters
//! are graph inputs, so one graph serves every goal of a kind.

use ndarray::{ArrayD, IxDyn};

use crate::lower::builder::{GraphBuilder, Sym};

/// What is minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Objective {
    /// `max_r (A_r . y + b_r)` over `rows` linear forms: a bound on one
    /// output (`A = -e_i` to maximise `y_i`), or a VNN-LIB conjunction
    /// (its largest violation margin). `normalised` divides value and
    /// gradients by the norm of the input gradient (ADR's output objective:
    /// `-y_i / ||dy_i/dx||`).
    Linear { rows: usize, normalised: bool },
    /// `sign * CE(y', class)` with `y' = y / ||y||` (norm detached) when
    /// `scaled`, else the raw logits: sign +1 targets the class, -1 moves
    /// away from the label.
    CrossEntropy { scaled: bool },
    /// `mean((y - target)^2)`.
    SquaredError,
}

/// Names of the graph inputs carrying an objective's parameters.
pub const LINEAR_A: &str = "objective.a";
pub const LINEAR_B: &str = "objective.b";
pub const CLASS: &str = "objective.class";
pub const SIGN: &str = "objective.sign";
pub const TARGET: &str = "objective.target";

/// The value and `d value / d y` of an objective.
pub struct EmittedObjective {
    pub value: Sym,
    pub seed: Sym,
}

impl Objective {
    /// Whether the step must divide by the input-gradient norm.
    pub fn normalised(&self) -> bool {
        matches!(self, Objective::Linear { normalised: true, .. })
    }

    /// Declares the parameter inputs for `batch` samples of `m` outputs.
    pub fn declare_inputs(&self, b: &mut GraphBuilder, batch: usize, m: usize) -> Vec<Sym> {
        match *self {
            Objective::Linear { rows, .. } => {
                vec![b.input(LINEAR_A, vec![batch, rows, m]), b.input(LINEAR_B, vec![batch, rows])]
            }
            Objective::CrossEntropy { .. } => vec![b.input(CLASS, vec![batch, m]), b.input(SIGN, vec![batch])],
            Objective::SquaredError => vec![b.input(TARGET, vec![batch, m])],
        }
    }

    /// Emits the value and gradient on `y` with the declared parameters.
    pub fn emit(&self, b: &mut GraphBuilder, y: &Sym, params: &[Sym]) -> EmittedObjective {
        match *self {
            Objective::Linear { rows, .. } => linear(b, y, &params[0], &params[1], rows),
            Objective::CrossEntropy { scaled } => cross_entropy(b, y, &params[0], &params[1], scaled),
            Objective::SquaredError => squared_error(b, y, &params[0]),
        }
    }
}

fn linear(b: &mut GraphBuilder, y: &Sym, a: &Sym, offset: &Sym, rows: usize) -> EmittedObjective {
    let (batch, m) = (y.shape[0], y.shape[1]);
    let col = b.reshape(y, &[batch, m, 1]);
    let forms = b.node("MatMul", &[a, &col], vec![], vec![batch, rows, 1]);
    let forms = b.reshape(&forms, &[batch, rows]);
    let forms = b.add(&forms, offset);
    let value = b.reduce_max(&forms, &[1], false);
    let arg = b.argmax(&forms, 1);
    let range = ArrayD::from_shape_vec(IxDyn(&[1, rows]), (0..rows as i64).collect()).expect("range of its length");
    let range = b.constant_i64_array("row_index", &range);
    let hit = b.equal(&arg, &range);
    let hit = b.to_float(&hit);
    let hit = b.reshape(&hit, &[batch, 1, rows]);
    let seed = b.node("MatMul", &[&hit, a], vec![], vec![batch, 1, m]);
    let seed = b.reshape(&seed, &[batch, m]);
    EmittedObjective { value, seed }
}

fn cross_entropy(b: &mut GraphBuilder, y: &Sym, class: &Sym, sign: &Sym, scaled: bool) -> EmittedObjective {
    let batch = y.shape[0];
    let (z, norm) = if scaled {
        let n = b.l2_norm_per_sample(y);
        let eps = b.scalar(1e-12);
        let n = b.max(&n, &eps);
        (b.div(y, &n), Some(n))
    } else {
        (y.clone(), None)
    };
    let log_p = b.node("LogSoftmax", &[&z], vec![crate::lower::builder::attr_int("axis", 1)], z.shape.clone());
    let picked = b.mul(&log_p, class);
    let ce = b.sum_per_sample(&picked);
    let ce = b.neg(&ce);
    let value = b.mul(&ce, sign);
    // softmax - onehot, with the class's entry written as minus the sum of
    // the others: for a confident classifier `p_c - 1` is a difference of
    // nearly equal numbers, the others' sum is accurate in f32.
    let p = b.unary("Exp", &log_p);
    let not_class = {
        let n = b.neg(class);
        b.add_scalar(&n, 1.0)
    };
    let others = b.mul(&p, &not_class);
    let rest = b.reduce_sum(&others, &[1], true);
    let at_class = b.mul(class, &rest);
    let dz = b.sub(&others, &at_class);
    let dy = match &norm {
        Some(n) => b.div(&dz, n),
        None => dz,
    };
    let sign_col = b.reshape(sign, &[batch, 1]);
    let seed = b.mul(&dy, &sign_col);
    EmittedObjective { value, seed }
}

fn squared_error(b: &mut GraphBuilder, y: &Sym, target: &Sym) -> EmittedObjective {
    let m = y.shape[1] as f64;
    let diff = b.sub(y, target);
    let sq = b.mul(&diff, &diff);
    let total = b.sum_per_sample(&sq);
    let value = b.scale(&total, 1.0 / m);
    let seed = b.scale(&diff, 2.0 / m);
    EmittedObjective { value, seed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::builder::Precision;
    use crate::runtime::{tract::TractBackend, Backend, HostTensor};
    use ndarray::{arr1, arr2, Array2};

    /// Runs one objective on `y` in f64: (value, seed).
    fn run(obj: Objective, y: &Array2<f64>, params: Vec<ArrayD<f64>>) -> (Vec<f64>, Array2<f64>) {
        let (batch, m) = y.dim();
        let mut b = GraphBuilder::new("objective", Precision::F64);
        let ys = b.input("y", vec![batch, m]);
        let ps = obj.declare_inputs(&mut b, batch, m);
        let e = obj.emit(&mut b, &ys, &ps);
        b.output(&e.value, "value");
        b.output(&e.seed, "seed");
        let mut exe = TractBackend.load(&b.finish()).unwrap();
        let mut ins = vec![HostTensor::F64(y.clone().into_dyn())];
        ins.extend(params.into_iter().map(HostTensor::F64));
        let out = exe.run(ins).unwrap();
        (out[0].to_f64().iter().copied().collect(), out[1].to_f64().into_dimensionality().unwrap())
    }

    fn softmax(v: &[f64]) -> Vec<f64> {
        let m = v.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|x| x / s).collect()
    }

    #[test]
    fn scaled_cross_entropy_uses_the_detached_norm() {
        let y = arr2(&[[1.0, -2.0, 0.5], [3.0, 0.2, -1.0]]);
        let class = arr2(&[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).into_dyn();
        let sign = arr1(&[1.0, -1.0]).into_dyn();
        let (value, seed) = run(Objective::CrossEntropy { scaled: true }, &y, vec![class, sign]);
        for (b, (c, s)) in [(1usize, 1.0f64), (0, -1.0)].into_iter().enumerate() {
            let row: Vec<f64> = y.row(b).to_vec();
            let n = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            let p = softmax(&row.iter().map(|v| v / n).collect::<Vec<_>>());
            assert!((value[b] - s * -p[c].ln()).abs() < 1e-12);
            for j in 0..3 {
                let want = s * (p[j] - if j == c { 1.0 } else { 0.0 }) / n;
                assert!((seed[[b, j]] - want).abs() < 1e-12, "{b} {j}");
            }
        }
    }

    #[test]
    fn unscaled_objectives_have_their_gradient_as_seed() {
        let y = arr2(&[[0.3, -1.2, 2.0, 0.1]]);
        let cases: Vec<(Objective, Vec<ArrayD<f64>>)> = vec![
            (
                Objective::CrossEntropy { scaled: false },
                vec![arr2(&[[0.0, 0.0, 1.0, 0.0]]).into_dyn(), arr1(&[1.0]).into_dyn()],
            ),
            (Objective::SquaredError, vec![arr2(&[[1.0, 0.0, -1.0, 0.5]]).into_dyn()]),
            (
                Objective::Linear { rows: 2, normalised: false },
                vec![
                    ndarray::arr3(&[[[1.0, 0.0, -1.0, 0.0], [0.0, 2.0, 0.0, 1.0]]]).into_dyn(),
                    arr2(&[[0.5, -0.25]]).into_dyn(),
                ],
            ),
        ];
        for (obj, params) in cases {
            let (_, seed) = run(obj, &y, params.clone());
            for j in 0..4 {
                let mut plus = y.clone();
                plus[[0, j]] += 1e-6;
                let mut minus = y.clone();
                minus[[0, j]] -= 1e-6;
                let fd = (run(obj, &plus, params.clone()).0[0] - run(obj, &minus, params.clone()).0[0]) / 2e-6;
                assert!((seed[[0, j]] - fd).abs() < 1e-7, "{obj:?} {j}: {} vs {fd}", seed[[0, j]]);
            }
        }
    }
}
