//! Exact normalisers of a dense chain, kept up to date by low-rank updates.
//!
//! On a network whose layers up to its last ReLU site form one chain of
//! dense layers, elementwise affines and reshapes (the paper's random
//! networks, ACAS Xu), the Jacobian of site k's pre-activations along the
//! free inputs is
//!
//! ```text
//! J_0 = M_0[:, free],    J_k = M_k diag(s_{k-1}) J_{k-1}
//! ```
//!
//! with `M_k` the linear map from site k-1's output (the input for k = 0)
//! to site k's pre-activation and `s_k` the gated slope factors
//! (`a + (1 - a) g(eta)`). When the factors of a set S of neurons change,
//! `J_k` changes by a low-rank term: with `ΔJ_{k-1} = A B` (rank r),
//!
//! ```text
//! ΔJ_k = M_k (s'⊙ΔJ_{k-1} + Δs_S⊙J_{k-1}[S,:]) = [M_k (s'⊙A) | M_k[:,S]] [B ; Δs_S⊙J_{k-1}[S,:]]
//! ```
//!
//! so an update costs `N_k N_{k-1} r + N_k r F` per site instead of a full
//! product `N_k N_{k-1} F` (F free inputs). [`SiteJacobians::update`] takes
//! it while it costs less than [`INCREMENTAL_COST_SHARE`] of a full
//! recomputation, and recomputes in full otherwise, and every
//! [`REFRESH_AFTER`] updates (so that rounding does not accumulate).

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

use crate::ir::{Graph, Op};
use crate::surrogate::gate::GATE_OFFSET;
use crate::surrogate::ReluSite;

/// An update is taken while its estimated multiply-adds are under this
/// share of a full recomputation's. Measured on `rand_large` (batch 64,
/// docs/benchmarks.md): an update's multiply-adds, streamed through
/// Jacobians that do not fit in the cache, cost about 4 times those of the
/// blocked matrix product of a recomputation.
pub const INCREMENTAL_COST_SHARE: f64 = 0.25;
/// Updates in a row before a full recomputation resets the rounding. On
/// `rand_large_s1` (three flips per update, all 128 inputs free) the
/// normalisers of the updated Jacobians stayed within 3.5e-7 relative of
/// a full recomputation's over 250 updates, and 1e-6 over 2,900
/// (docs/benchmarks.md); a recomputation has the multiply-adds of about
/// 70 updates.
pub const REFRESH_AFTER: usize = 1024;
/// A factor counts as changed when it moved by more than this. The gates
/// of a sigmoid with alpha 2000 are 0 or 1 but for tails: on `rand_large` a
/// third of a site's gates change every iteration, by less than 1e-7
/// (values like 1e-20), and two by 1 (the flips). The factors kept are the
/// ones the Jacobians were computed with, so the skipped changes never add
/// up: each neuron's factor stays within this of the current one.
pub const FACTOR_TOLERANCE: f32 = 1e-7;

/// The linear maps between the sites of a dense chain.
#[derive(Debug, Clone)]
pub struct DenseChain {
    /// `maps[k]`, `[N_k, N_{k-1}]`: site k-1's output (the input for k = 0)
    /// to site k's pre-activation, the biases left out.
    maps: Vec<Array2<f32>>,
    /// `maps[k]` transposed, `[N_{k-1}, N_k]`, in standard layout.
    transposed: Vec<Array2<f32>>,
    /// Negative slope of each site (0 for ReLU).
    slopes: Vec<f32>,
    alpha: f32,
}

/// The linear map of the ops since the last site: `None` is the identity.
struct Pending {
    map: Option<Array2<f32>>,
    width: usize,
}

impl Pending {
    fn identity(width: usize) -> Self {
        Pending { map: None, width }
    }

    /// `left @ self`.
    fn apply(&mut self, left: Array2<f32>) {
        self.map = Some(match self.map.take() {
            Some(m) => left.dot(&m),
            None => left,
        });
        self.width = self.map.as_ref().map_or(self.width, Array2::nrows);
    }

    /// Multiplies row i by `scale[i]`.
    fn scale_rows(&mut self, scale: &Array1<f32>) {
        let mut m = self.map.take().unwrap_or_else(|| Array2::eye(self.width));
        for (mut row, &s) in m.rows_mut().into_iter().zip(scale) {
            row *= s;
        }
        self.map = Some(m);
    }

    fn finish(self) -> Array2<f32> {
        self.map.unwrap_or_else(|| Array2::eye(self.width))
    }
}

/// One step of a dense chain, in order.
enum Link<'g> {
    Dense(&'g crate::ir::Dense),
    /// An elementwise scale, one factor per element.
    Scale(Array1<f32>),
    Site(&'g ReluSite),
}

/// The links of the graph up to its last site, when every node there reads
/// the previous node's output alone (the first reads the only graph input)
/// and is a dense layer over a vector, an elementwise affine, a reshape or
/// a site, the sites in order; `None` otherwise.
fn links<'g>(graph: &'g Graph, sites: &'g [ReluSite]) -> Option<Vec<Link<'g>>> {
    let last = sites.iter().map(|s| s.node_id.0).max()?;
    let [input] = graph.inputs[..] else { return None };
    let mut previous = input;
    let mut links = Vec::new();
    let mut sites_seen = 0;
    for (i, node) in graph.nodes().iter().enumerate().take(last + 1) {
        if node.inputs[..] != [previous] {
            return None;
        }
        let width = graph.value(previous).size();
        match &node.op {
            Op::Dense(d) if graph.value(previous).shape.len() == 1 => links.push(Link::Dense(d)),
            Op::Affine(a) => {
                if let Some(scale) = &a.scale {
                    let per_element = scale.broadcast(ndarray::IxDyn(&[1, width]))?;
                    links.push(Link::Scale(per_element.iter().copied().collect()));
                }
            }
            Op::Reshape(_) => {}
            Op::Relu(_) | Op::LeakyRelu(_) => {
                let site = sites.iter().find(|s| s.node_id.0 == i)?;
                if site.index != sites_seen {
                    return None;
                }
                sites_seen += 1;
                links.push(Link::Site(site));
            }
            _ => return None,
        }
        previous = node.output;
    }
    (sites_seen == sites.len()).then_some(links)
}

/// The floats the host Jacobians of `rows` samples with `free` free inputs
/// take, when the graph is a dense chain and they fit in
/// [`super::HOST_JACOBIAN_FLOATS`]; `None` where the normaliser graph is
/// used instead.
pub fn host_jacobian_floats(graph: &Graph, sites: &[ReluSite], rows: usize, free: usize) -> Option<usize> {
    links(graph, sites)?;
    let per_sample: usize = sites.iter().map(|s| s.neurons.saturating_mul(free + 1)).sum();
    Some(per_sample.saturating_mul(rows)).filter(|&f| f <= super::HOST_JACOBIAN_FLOATS)
}

impl DenseChain {
    /// The chain's maps, when the graph is a dense chain (see [`links`]).
    pub fn of(graph: &Graph, sites: &[ReluSite], alpha: f64) -> Option<DenseChain> {
        let [input] = graph.inputs[..] else { return None };
        let mut pending = Pending::identity(graph.value(input).size());
        let mut maps = Vec::new();
        let mut slopes = Vec::new();
        for link in links(graph, sites)? {
            match link {
                Link::Dense(d) => pending.apply(d.weight.t().to_owned()),
                Link::Scale(scale) => pending.scale_rows(&scale),
                Link::Site(site) => {
                    maps.push(std::mem::replace(&mut pending, Pending::identity(site.neurons)).finish());
                    slopes.push(site.negative_slope);
                }
            }
        }
        let transposed = maps.iter().map(|m| m.t().as_standard_layout().into_owned()).collect();
        Some(DenseChain { maps, transposed, slopes, alpha: alpha as f32 })
    }

    /// `(M_k diag(scale) A)^T` for `A^T = a_t` (`[r, N_{k-1}]`): row c is
    /// the sum over j of `scale_j a_t[c, j]` times row j of `M_k^T`.
    fn map_of_scaled(&self, k: usize, a_t: ArrayView2<f32>, scale: &Array1<f32>) -> Array2<f32> {
        let m_t = &self.transposed[k];
        let width = m_t.ncols();
        let mut out = Array2::zeros((a_t.nrows(), width));
        let Some(rows) = m_t.as_slice() else { unreachable!("built in standard layout") };
        let Some(out_rows) = out.as_slice_mut() else { unreachable!("a fresh array") };
        // One pass over M_k^T (the largest array here) for all the terms.
        for (j, m_row) in rows.chunks_exact(width).enumerate() {
            for (out_row, a_row) in out_rows.chunks_exact_mut(width).zip(a_t.rows()) {
                let coefficient = a_row[j] * scale[j];
                if coefficient != 0.0 {
                    axpy(out_row, coefficient, m_row);
                }
            }
        }
        out
    }

    /// Multiply-adds of a full recomputation with `free` free inputs.
    fn full_cost(&self, free: usize) -> f64 {
        self.maps.iter().skip(1).map(|m| (m.nrows() * m.ncols() * free) as f64).sum()
    }

    /// The gated slope factors of one sample at every site but the last
    /// (the Jacobians read no other): `etas` yields the sample's row of eta
    /// per site.
    pub fn gating_factors<'e>(&self, etas: impl Iterator<Item = ndarray::ArrayView1<'e, f32>>) -> Vec<Array1<f32>> {
        etas.take(self.maps.len().saturating_sub(1)).enumerate().map(|(k, e)| self.factors(k, e)).collect()
    }

    /// The gated slope factors `a + (1 - a) g(eta)` of one sample's row of
    /// eta at site k, as the surrogate graph computes the gate in f32.
    fn factors(&self, k: usize, eta: ndarray::ArrayView1<f32>) -> Array1<f32> {
        let a = self.slopes[k];
        let offset = (GATE_OFFSET - 0.5) as f32;
        eta.mapv(|e| {
            let z = (e + offset) * self.alpha;
            let g = (1.0 / (1.0 + f64::from(z).exp())) as f32;
            if a == 0.0 {
                g
            } else {
                a + (1.0 - a) * g
            }
        })
    }
}

/// One sample's Jacobians, the factors they were computed at, and their
/// squared row norms.
#[derive(Debug, Clone)]
pub struct SiteJacobians {
    /// `[N_k, F]` per site.
    jacobians: Vec<Array2<f32>>,
    /// The factors of every site but the last, which no site depends on.
    factors: Vec<Array1<f32>>,
    /// `1 / max(||J_kj||, 1)` per site.
    inverse_norms: Vec<Array1<f32>>,
    updates_since_full: usize,
}

/// How a sample's Jacobians were brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Full,
    Incremental,
    Unchanged,
}

impl SiteJacobians {
    /// The full product at the factors `factors` (of every site but the
    /// last, [`DenseChain::gating_factors`]) along the free inputs `free`.
    pub fn compute(chain: &DenseChain, free: &[usize], factors: Vec<Array1<f32>>) -> Self {
        let mut jacobians: Vec<Array2<f32>> = Vec::with_capacity(chain.maps.len());
        jacobians.push(standard(chain.maps[0].select(Axis(1), free)));
        for (k, m) in chain.maps.iter().enumerate().skip(1) {
            let gated = scaled_rows(jacobians[k - 1].view(), &factors[k - 1]);
            jacobians.push(standard(m.dot(&gated)));
        }
        let inverse_norms = jacobians.iter().map(|j| inverse_row_norms(j.view())).collect();
        SiteJacobians { jacobians, factors, inverse_norms, updates_since_full: 0 }
    }

    /// Brings the Jacobians to the factors `now` (of every site but the
    /// last, [`DenseChain::gating_factors`]): a
    /// low-rank update of the neurons whose factor changed, or a full
    /// recomputation where that is cheaper or due.
    pub fn update(&mut self, chain: &DenseChain, free: &[usize], now: Vec<Array1<f32>>) -> Refresh {
        let changed: Vec<Vec<usize>> = self
            .factors
            .iter()
            .zip(&now)
            .map(|(old, new)| {
                old.iter()
                    .zip(new)
                    .enumerate()
                    .filter(|(_, (a, b))| (*a - *b).abs() > FACTOR_TOLERANCE)
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        if changed.iter().all(Vec::is_empty) {
            return Refresh::Unchanged;
        }
        let due = self.updates_since_full >= REFRESH_AFTER;
        if due || self.update_cost(chain, &changed) > INCREMENTAL_COST_SHARE * chain.full_cost(free.len()) {
            *self = SiteJacobians::compute(chain, free, now);
            return Refresh::Full;
        }
        self.apply_low_rank(chain, &changed, &now);
        for ((kept, new), s) in self.factors.iter_mut().zip(&now).zip(&changed) {
            for &i in s {
                kept[i] = new[i];
            }
        }
        self.updates_since_full += 1;
        Refresh::Incremental
    }

    /// Multiply-adds of a low-rank update with these changed neurons.
    fn update_cost(&self, chain: &DenseChain, changed: &[Vec<usize>]) -> f64 {
        let free = self.jacobians[0].ncols();
        let mut rank = 0;
        let mut cost = 0.0;
        for (k, m) in chain.maps.iter().enumerate().skip(1) {
            cost += (m.nrows() * m.ncols() * rank) as f64;
            rank += changed[k - 1].len();
            cost += (m.nrows() * rank * free) as f64;
        }
        cost
    }

    /// `J_k += A_k B_k` site by site, each `A_k, B_k` built from the
    /// previous site's factors before its Jacobian is updated. `A_k` is
    /// kept transposed (`[r, N_k]`, a row per rank-one term), so that every
    /// product is a run of contiguous multiply-adds: the ranks are a few,
    /// where a general matrix product would spend its time packing `M_k`.
    fn apply_low_rank(&mut self, chain: &DenseChain, changed: &[Vec<usize>], now: &[Array1<f32>]) {
        let free = self.jacobians[0].ncols();
        let mut a_t: Array2<f32> = Array2::zeros((0, chain.maps[0].nrows()));
        let mut b: Array2<f32> = Array2::zeros((0, free));
        for k in 1..chain.maps.len() {
            let s = &changed[k - 1];
            let delta: Array1<f32> = s.iter().map(|&i| now[k - 1][i] - self.factors[k - 1][i]).collect();
            let old_rows = scaled_rows(self.jacobians[k - 1].select(Axis(0), s).view(), &delta);
            let carried = chain.map_of_scaled(k, a_t.view(), &now[k - 1]);
            let next_a_t = concatenate![Axis(0), carried, chain.transposed[k].select(Axis(0), s)];
            let next_b = concatenate![Axis(0), b, old_rows];
            add_product(&mut self.jacobians[k - 1], a_t.view(), b.view(), &mut self.inverse_norms[k - 1]);
            (a_t, b) = (next_a_t, next_b);
        }
        let last = self.jacobians.len() - 1;
        add_product(&mut self.jacobians[last], a_t.view(), b.view(), &mut self.inverse_norms[last]);
    }

    /// `1 / max(||J_kj||, 1)` per site.
    pub fn inverse_norms(&self) -> &[Array1<f32>] {
        &self.inverse_norms
    }
}

/// `1 / max(||row||, 1)` for each row, the squares summed in f64.
fn inverse_row_norms(j: ArrayView2<f32>) -> Array1<f32> {
    j.rows()
        .into_iter()
        .map(|r| match r.as_slice() {
            Some(values) => inverse_norm_of(values),
            None => inverse_norm_of(&r.to_vec()),
        })
        .collect()
}

/// `1 / max(||row||, 1)`.
fn inverse_norm_of(row: &[f32]) -> f32 {
    (1.0 / sum_of_squares(row).sqrt().max(1.0)) as f32
}

/// `sum v^2` in f64, over eight lanes so that it vectorises; on 4-lane f64
/// registers where the CPU has them (the same bits: each f32 square is
/// exact in f64, and every lane adds in the same order).
fn sum_of_squares(values: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just found to have the feature.
        return unsafe { sum_of_squares_avx2(values) };
    }
    sum_of_squares_in_lanes(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_of_squares_avx2(values: &[f32]) -> f64 {
    sum_of_squares_in_lanes(values)
}

#[inline(always)]
fn sum_of_squares_in_lanes(values: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f64::from(v) * f64::from(v);
        }
    }
    lanes.iter().sum::<f64>() + tail.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()
}

/// `j += a_t^T b` (row i of `j` gains `a_t[c, i]` times row c of `b`, for
/// each rank-one term c), and each changed row's `1 / max(||row||, 1)`
/// into `inverse_norms` in the same pass: the Jacobians of a batch do not
/// fit in the cache, and one pass over them is the cost of an update.
fn add_product(j: &mut Array2<f32>, a_t: ArrayView2<f32>, b: ArrayView2<f32>, inverse_norms: &mut Array1<f32>) {
    if a_t.nrows() == 0 {
        return;
    }
    let b = b.as_standard_layout();
    let width = j.ncols();
    if width == 0 {
        // No free input: every row is empty, its norm 0.
        inverse_norms.fill(1.0);
        return;
    }
    let Some(j) = j.as_slice_mut() else { unreachable!("the Jacobians are built in standard layout") };
    for (i, (j_row, inverse_norm)) in j.chunks_exact_mut(width).zip(inverse_norms.iter_mut()).enumerate() {
        for (c, b_row) in b.rows().into_iter().enumerate() {
            let coefficient = a_t[[c, i]];
            if coefficient != 0.0 {
                axpy(j_row, coefficient, b_row.as_slice().unwrap_or_default());
            }
        }
        *inverse_norm = inverse_norm_of(j_row);
    }
}

/// `y += a x` over slices of one length, with fused multiply-adds on 8
/// lanes where the CPU has them (the crate is built for baseline x86-64,
/// whose 4-lane SSE2 makes these updates several times slower).
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just found to have both features.
        return unsafe { axpy_avx2_fma(y, a, x) };
    }
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2_fma(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = a.mul_add(x, *y);
    }
}

/// `m` in standard (row-major) layout, as the updates read it.
fn standard(m: Array2<f32>) -> Array2<f32> {
    if m.is_standard_layout() {
        m
    } else {
        m.as_standard_layout().into_owned()
    }
}

/// `diag(scale) @ m`.
fn scaled_rows(m: ArrayView2<f32>, scale: &Array1<f32>) -> Array2<f32> {
    let mut out = m.to_owned();
    for (mut row, &s) in out.rows_mut().into_iter().zip(scale) {
        row *= s;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Affine, Conv, Dense, LeakyRelu, Relu, Window};
    use crate::surrogate::relu_sites;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
    }

    /// x[40] -> Affine (input scaling) -> Dense 40x30 -> ReLU -> Dense 30x25
    /// -> Affine (folded batch norm) -> LeakyReLU -> Dense 25x20 -> ReLU ->
    /// Dense 20x2.
    fn chain_graph(rng: &mut ChaCha8Rng) -> (Graph, Vec<Array2<f32>>) {
        let mut g = Graph::new();
        let x = g.add_input("x", vec![40]).unwrap();
        let input_scale = Array1::from_shape_fn(40, |i| 0.5 + i as f32 * 0.02);
        let bn_scale = Array1::from_shape_fn(25, |i| 1.5 - i as f32 * 0.05);
        let affine = |s: &Array1<f32>| {
            Op::Affine(Affine { scale: Some(s.clone().into_dyn()), shift: Some(Array1::ones(s.len()).into_dyn()) })
        };
        let w: Vec<Array2<f32>> =
            [(40, 30), (30, 25), (25, 20), (20, 2)].iter().map(|&(i, o)| random_matrix(rng, i, o)).collect();
        let dense = |w: &Array2<f32>| Op::Dense(Dense { weight: w.clone(), bias: Some(Array1::ones(w.ncols())) });
        let v = g.add_node("scale", "Mul", affine(&input_scale), vec![x], "xs").unwrap();
        let v = g.add_node("fc0", "Gemm", dense(&w[0]), vec![v], "h0").unwrap();
        let v = g.add_node("relu0", "Relu", Op::Relu(Relu), vec![v], "r0").unwrap();
        let v = g.add_node("fc1", "Gemm", dense(&w[1]), vec![v], "h1").unwrap();
        let v = g.add_node("bn1", "BatchNormalization", affine(&bn_scale), vec![v], "b1").unwrap();
        let v = g.add_node("relu1", "LeakyRelu", Op::LeakyRelu(LeakyRelu { alpha: 0.1 }), vec![v], "r1").unwrap();
        let v = g.add_node("fc2", "Gemm", dense(&w[2]), vec![v], "h2").unwrap();
        let v = g.add_node("relu2", "Relu", Op::Relu(Relu), vec![v], "r2").unwrap();
        g.add_node("fc3", "Gemm", dense(&w[3]), vec![v], "y").unwrap();
        let maps = vec![
            w[0].t().dot(&Array2::from_diag(&input_scale)),
            Array2::from_diag(&bn_scale).dot(&w[1].t()),
            w[2].t().to_owned(),
        ];
        (g, maps)
    }

    fn assert_close(a: &[Array1<f32>], b: &[Array1<f32>], rel: f32) {
        for (x, y) in a.iter().zip(b) {
            for (&u, &v) in x.iter().zip(y) {
                assert!((u - v).abs() <= rel * v.abs(), "{u} against {v}");
            }
        }
    }

    #[test]
    fn a_chain_of_dense_layers_affines_and_sites_gives_the_maps_between_its_sites() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (g, maps) = chain_graph(&mut rng);
        let chain = DenseChain::of(&g, &relu_sites(&g), 2000.0).expect("a dense chain");
        assert_eq!(chain.maps.len(), 3);
        for (got, want) in chain.maps.iter().zip(&maps) {
            assert_eq!(got.dim(), want.dim());
            assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() <= 1e-6), "{got} against {want}");
        }
        assert_eq!(chain.slopes, vec![0.0, 0.1, 0.0]);
    }

    #[test]
    fn a_convolution_or_a_second_reader_is_not_a_dense_chain() {
        let mut g = Graph::new();
        let x = g.add_input("x", vec![1, 4, 4]).unwrap();
        let window = Window { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1, 1, 1, 1] };
        let conv =
            Conv { weight: ndarray::ArrayD::zeros(ndarray::IxDyn(&[2, 1, 3, 3])), bias: None, window, groups: 1 };
        let c = g.add_node("conv", "Conv", Op::Conv(conv), vec![x], "c").unwrap();
        g.add_node("relu", "Relu", Op::Relu(Relu), vec![c], "r").unwrap();
        assert!(DenseChain::of(&g, &relu_sites(&g), 2000.0).is_none());

        let mut g = Graph::new();
        let x = g.add_input("x", vec![3]).unwrap();
        let dense = || Op::Dense(Dense { weight: Array2::ones((3, 3)), bias: None });
        let h = g.add_node("fc0", "Gemm", dense(), vec![x], "h").unwrap();
        let r = g.add_node("relu0", "Relu", Op::Relu(Relu), vec![h], "r0").unwrap();
        // The second layer reads the input again: a skip, not a chain.
        let h1 = g.add_node("fc1", "Gemm", dense(), vec![x], "h1").unwrap();
        let sum = g.add_node("add", "Add", Op::Add(crate::ir::Add { negate_rhs: false }), vec![r, h1], "s").unwrap();
        g.add_node("relu1", "Relu", Op::Relu(Relu), vec![sum], "r1").unwrap();
        assert!(DenseChain::of(&g, &relu_sites(&g), 2000.0).is_none());
    }

    /// The factors of a random pattern with a few gates near their
    /// threshold (fractional) and the rest 0 or 1 up to a tail.
    fn factors(chain: &DenseChain, etas: &[Array1<f32>]) -> Vec<Array1<f32>> {
        chain.gating_factors(etas.iter().map(|e| e.view()))
    }

    #[test]
    fn low_rank_updates_equal_a_full_recomputation_over_many_flips() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (g, _) = chain_graph(&mut rng);
        let chain = DenseChain::of(&g, &relu_sites(&g), 2000.0).unwrap();
        let free: Vec<usize> = (0..40).filter(|i| i % 5 != 0).collect();
        let mut etas: Vec<Array1<f32>> =
            chain.maps.iter().map(|m| Array1::from_shape_fn(m.nrows(), |_| rng.random_range(0.3..0.7))).collect();
        let mut kept = SiteJacobians::compute(&chain, &free, factors(&chain, &etas));
        let (mut incremental, mut forced) = (0, 0);
        for _ in 0..3 * REFRESH_AFTER {
            // One or two gates cross the threshold, one moves near it.
            for _ in 0..rng.random_range(1..3) {
                let k = rng.random_range(0..etas.len());
                let j = rng.random_range(0..etas[k].len());
                etas[k][j] = 1.0 - etas[k][j];
            }
            let k = rng.random_range(0..etas.len());
            let j = rng.random_range(0..etas[k].len());
            etas[k][j] = 0.5 + rng.random_range(-0.002..0.002);
            let now = factors(&chain, &etas);
            let due = kept.updates_since_full >= REFRESH_AFTER;
            match kept.update(&chain, &free, now.clone()) {
                Refresh::Incremental => incremental += 1,
                Refresh::Full if due => forced += 1,
                _ => {}
            }
            let full = SiteJacobians::compute(&chain, &free, now);
            assert_close(kept.inverse_norms(), full.inverse_norms(), 1e-5);
        }
        // Most steps were low-rank updates (the rest: the forced refreshes,
        // and steps where only the last site's gates moved).
        assert!(incremental > 2 * REFRESH_AFTER, "{incremental} updates");
        // The refresh that bounds rounding ran, and results after it match too.
        assert!(forced >= 2, "{forced} refreshes forced after {REFRESH_AFTER} updates");
    }
}
