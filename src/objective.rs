//! Objectives on a network output `y` (`[B, m]`, flattened per sample),
//! emitted as ONNX: each gives its value `[B]` (to minimise) and its
//! gradient with respect to `y` (ALGORITHM.md section 5). Their parameters
//! are graph inputs, so one graph serves every goal of a kind.

use ndarray::{ArrayD, IxDyn};

use crate::writer::builder::{GraphBuilder, Sym};

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
    /// The classification margin `-sign * (y_c - max_{i != c} y_i)` (C&W):
    /// with sign -1 the label's lead over the best other class, with sign
    /// +1 the best other class's lead over the target. Below 0: achieved.
    Margin,
    /// The difference of logits ratio (Croce & Hein 2020), negated so that
    /// it is minimised. Untargeted (`targeted: false`, parameters as
    /// [`Objective::Margin`]): `-sign * (y_c - max_{i != c} y_i) / (y_p1 -
    /// y_p3 + 1e-12)` with `y_p1 >= y_p2 >= ...` the sorted outputs.
    /// Targeted (parameters: the class `c` one-hot, all zeros for "the best
    /// class but the target", and the target `t` one-hot): `(y_c - y_t) /
    /// (y_p1 - (y_p3 + y_p4) / 2 + 1e-12)`.
    Dlr { targeted: bool },
}

/// Names of the graph inputs carrying an objective's parameters.
pub const LINEAR_A: &str = "objective.a";
pub const LINEAR_B: &str = "objective.b";
pub const CLASS: &str = "objective.class";
pub const SIGN: &str = "objective.sign";
pub const TARGET: &str = "objective.target";
pub const TARGET_CLASS: &str = "objective.target_class";

/// Classes the DLR losses need: untargeted reads the third largest output,
/// targeted the fourth.
pub const DLR_CLASSES: usize = 3;
pub const DLR_TARGETED_CLASSES: usize = 4;

/// Added to a masked-out output before an argmax: far below any logit.
const MASKED: f64 = -1e30;

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

    /// The names of the parameter inputs, in the order of [`Objective::declare_inputs`].
    pub fn param_names(&self) -> &'static [&'static str] {
        match self {
            Objective::Linear { .. } => &[LINEAR_A, LINEAR_B],
            Objective::CrossEntropy { .. } | Objective::Margin | Objective::Dlr { targeted: false } => &[CLASS, SIGN],
            Objective::Dlr { targeted: true } => &[CLASS, TARGET_CLASS],
            Objective::SquaredError => &[TARGET],
        }
    }

    /// Declares the parameter inputs for `batch` samples of `m` outputs.
    pub fn declare_inputs(&self, b: &mut GraphBuilder, batch: usize, m: usize) -> Vec<Sym> {
        match *self {
            Objective::Linear { rows, .. } => {
                vec![b.input(LINEAR_A, vec![batch, rows, m]), b.input(LINEAR_B, vec![batch, rows])]
            }
            Objective::CrossEntropy { .. } | Objective::Margin | Objective::Dlr { targeted: false } => {
                vec![b.input(CLASS, vec![batch, m]), b.input(SIGN, vec![batch])]
            }
            Objective::Dlr { targeted: true } => {
                vec![b.input(CLASS, vec![batch, m]), b.input(TARGET_CLASS, vec![batch, m])]
            }
            Objective::SquaredError => vec![b.input(TARGET, vec![batch, m])],
        }
    }

    /// Emits the value and gradient on `y` with the declared parameters.
    pub fn emit(&self, b: &mut GraphBuilder, y: &Sym, params: &[Sym]) -> EmittedObjective {
        match *self {
            Objective::Linear { rows, .. } => linear(b, y, &params[0], &params[1], rows),
            Objective::CrossEntropy { scaled } => cross_entropy(b, y, &params[0], &params[1], scaled),
            Objective::SquaredError => squared_error(b, y, &params[0]),
            Objective::Margin => margin(b, y, &params[0], &params[1]),
            Objective::Dlr { targeted: false } => dlr(b, y, &params[0], &params[1]),
            Objective::Dlr { targeted: true } => targeted_dlr(b, y, &params[0], &params[1]),
        }
    }
}

/// The one-hot `[B, m]` of the first largest entry of `y` outside
/// `excluded` (a sum of one-hots, or none).
fn top_outside(b: &mut GraphBuilder, y: &Sym, excluded: Option<&Sym>) -> Sym {
    let masked = match excluded {
        Some(e) => {
            let penalty = b.scale(e, -MASKED);
            b.sub(y, &penalty)
        }
        None => y.clone(),
    };
    let arg = b.argmax(&masked, 1);
    let m = y.shape[1];
    let range = ArrayD::from_shape_vec(IxDyn(&[1, m]), (0..m as i64).collect()).expect("range of its length");
    let range = b.constant_i64_array("class_index", &range);
    let hit = b.equal(&arg, &range);
    b.to_float(&hit)
}

/// The one-hots of the `k` largest entries of `y`, largest first (ties:
/// the lower index first, as ArgMax).
fn sorted_tops(b: &mut GraphBuilder, y: &Sym, k: usize) -> Vec<Sym> {
    let mut tops: Vec<Sym> = Vec::with_capacity(k);
    let mut excluded: Option<Sym> = None;
    for _ in 0..k {
        let top = top_outside(b, y, excluded.as_ref());
        excluded = Some(match &excluded {
            Some(e) => b.add(e, &top),
            None => top.clone(),
        });
        tops.push(top);
    }
    tops
}

/// `sum(y * onehot)` per sample, `[B]`.
fn pick(b: &mut GraphBuilder, y: &Sym, onehot: &Sym) -> Sym {
    let p = b.mul(y, onehot);
    b.sum_per_sample(&p)
}

/// `num / den` with `d(num)/dy = n` and `d(den)/dy = d`: value and seed
/// `(n * den - num * d) / den^2`.
fn ratio(b: &mut GraphBuilder, num: &Sym, n: &Sym, den: &Sym, d: &Sym) -> EmittedObjective {
    let batch = num.shape[0];
    let value = b.div(num, den);
    let den_col = b.reshape(den, &[batch, 1]);
    let num_col = b.reshape(num, &[batch, 1]);
    let a = b.mul(n, &den_col);
    let c = b.mul(d, &num_col);
    let top = b.sub(&a, &c);
    let sq = b.mul(&den_col, &den_col);
    let seed = b.div(&top, &sq);
    EmittedObjective { value, seed }
}

/// `-sign * (y_c - y_o)` with `o` the best class but `c`; returns the value,
/// its gradient on `y` and the one-hot of `o`.
fn signed_lead(b: &mut GraphBuilder, y: &Sym, class: &Sym, sign: &Sym) -> (Sym, Sym) {
    let batch = y.shape[0];
    let other = top_outside(b, y, Some(class));
    let diff = b.sub(class, &other);
    let lead = pick(b, y, &diff);
    let minus_sign = b.neg(sign);
    let value = b.mul(&lead, &minus_sign);
    let sign_col = b.reshape(&minus_sign, &[batch, 1]);
    let seed = b.mul(&diff, &sign_col);
    (value, seed)
}

fn margin(b: &mut GraphBuilder, y: &Sym, class: &Sym, sign: &Sym) -> EmittedObjective {
    let (value, seed) = signed_lead(b, y, class, sign);
    EmittedObjective { value, seed }
}

fn dlr(b: &mut GraphBuilder, y: &Sym, class: &Sym, sign: &Sym) -> EmittedObjective {
    let (num, n) = signed_lead(b, y, class, sign);
    let tops = sorted_tops(b, y, DLR_CLASSES);
    let d = b.sub(&tops[0], &tops[2]);
    let den = pick(b, y, &d);
    let den = b.add_scalar(&den, 1e-12);
    ratio(b, &num, &n, &den, &d)
}

fn targeted_dlr(b: &mut GraphBuilder, y: &Sym, class: &Sym, target: &Sym) -> EmittedObjective {
    // An all-zero class row stands for the best class but the target.
    let given = b.reduce_sum(class, &[1], true);
    let missing = {
        let n = b.neg(&given);
        b.add_scalar(&n, 1.0)
    };
    let best_other = top_outside(b, y, Some(target));
    let fill = b.mul(&best_other, &missing);
    let class = b.add(class, &fill);
    let n = b.sub(&class, target);
    let num = pick(b, y, &n);
    let tops = sorted_tops(b, y, DLR_TARGETED_CLASSES);
    let rest = b.add(&tops[2], &tops[3]);
    let rest = b.scale(&rest, 0.5);
    let d = b.sub(&tops[0], &rest);
    let den = pick(b, y, &d);
    let den = b.add_scalar(&den, 1e-12);
    ratio(b, &num, &n, &den, &d)
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
    let log_p = b.node("LogSoftmax", &[&z], vec![crate::writer::builder::attr_int("axis", 1)], z.shape.clone());
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
    use crate::runtime::{tract::TractBackend, Backend, HostTensor};
    use crate::writer::builder::Precision;
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
    fn margin_and_dlr_values_follow_their_definitions() {
        // Sorted: 2.0 (class 2) > 0.3 (0) > 0.1 (3) > -1.2 (1).
        let y = arr2(&[[0.3, -1.2, 2.0, 0.1]]);
        let onehot = |c: usize| {
            let mut v = ndarray::Array2::<f64>::zeros((1, 4));
            v[[0, c]] = 1.0;
            v.into_dyn()
        };
        let value = |obj: Objective, p: Vec<ArrayD<f64>>| run(obj, &y, p).0[0];
        let sign = |s: f64| arr1(&[s]).into_dyn();
        // Untargeted from the label 2: its lead over class 0.
        assert!((value(Objective::Margin, vec![onehot(2), sign(-1.0)]) - 1.7).abs() < 1e-12);
        // Targeted to class 1: class 2's lead over it.
        assert!((value(Objective::Margin, vec![onehot(1), sign(1.0)]) - 3.2).abs() < 1e-12);
        let dlr = value(Objective::Dlr { targeted: false }, vec![onehot(2), sign(-1.0)]);
        assert!((dlr - 1.7 / (2.0 - 0.1)).abs() < 1e-12, "{dlr}");
        let t = value(Objective::Dlr { targeted: true }, vec![onehot(2), onehot(3)]);
        assert!((t - (2.0 - 0.1) / (2.0 - (0.1 - 1.2) / 2.0)).abs() < 1e-12, "{t}");
        // No class given: the best class but the target (class 2 for target 0).
        let t = value(Objective::Dlr { targeted: true }, vec![ArrayD::zeros(IxDyn(&[1, 4])), onehot(0)]);
        assert!((t - (2.0 - 0.3) / (2.0 - (0.1 - 1.2) / 2.0)).abs() < 1e-12, "{t}");
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
            (Objective::Margin, vec![arr2(&[[0.0, 0.0, 1.0, 0.0]]).into_dyn(), arr1(&[-1.0]).into_dyn()]),
            (Objective::Margin, vec![arr2(&[[1.0, 0.0, 0.0, 0.0]]).into_dyn(), arr1(&[1.0]).into_dyn()]),
            (
                Objective::Dlr { targeted: false },
                vec![arr2(&[[0.0, 0.0, 1.0, 0.0]]).into_dyn(), arr1(&[-1.0]).into_dyn()],
            ),
            (
                Objective::Dlr { targeted: false },
                vec![arr2(&[[0.0, 1.0, 0.0, 0.0]]).into_dyn(), arr1(&[1.0]).into_dyn()],
            ),
            (
                Objective::Dlr { targeted: true },
                vec![arr2(&[[0.0, 0.0, 1.0, 0.0]]).into_dyn(), arr2(&[[1.0, 0.0, 0.0, 0.0]]).into_dyn()],
            ),
            (
                Objective::Dlr { targeted: true },
                vec![arr2(&[[0.0, 0.0, 0.0, 0.0]]).into_dyn(), arr2(&[[0.0, 1.0, 0.0, 0.0]]).into_dyn()],
            ),
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
