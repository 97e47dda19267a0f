//! The normalisers of the consistency loss (ALGORITHM.md section 4): for
//! every neuron, `1 / max(||d z_hat / d x||, 1)`, the row norm of its
//! pre-activation's Jacobian in the current surrogate linearisation, along
//! the optimised (free) input elements.
//!
//! - `exact`: the Jacobian pushed through the gated network along every
//!   free unit vector (forward mode, in chunks of tangents);
//! - `random`: `k` Gaussian tangents, `||J_j||^2 ~ mean_v (J_j v)^2`.
//!
//! On a piecewise-linear network both depend on `x` only through the
//! gates, so each sample's result is cached under its thresholded gate
//! pattern and recomputed only when that changes. A max pool (its winners
//! move with `x`) or a smooth op (its slope does) before a ReLU site makes
//! them depend on `x` itself: then they are recomputed every iteration.
//!
//! On a dense chain (`dense_chain`) the exact normalisers are not pushed
//! through a graph but kept as each sample's Jacobians on the host, brought
//! to a changed pattern by low-rank updates.

mod dense_chain;

use std::time::Instant;

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::Result;
use crate::lower::step::{normaliser_graph, Problem};
use crate::runtime::{Backend, Executable, HostTensor};
use crate::surrogate::activation::ActivationVars;
use crate::writer::builder::Precision;
pub use dense_chain::{host_jacobian_floats, INCREMENTAL_COST_SHARE, REFRESH_AFTER};
use dense_chain::{DenseChain, Refresh, SiteJacobians};

/// How the normalisers are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum NormaliserMethod {
    Exact,
    Random { tangents: usize },
}

/// Free input elements up to which `exact` is the default: above it one
/// recomputation costs more than about this many forward passes, and the
/// random estimate with [`DEFAULT_RANDOM_TANGENTS`] tangents is chosen.
pub const EXACT_MAX_FREE_INPUTS: usize = 256;
pub const DEFAULT_RANDOM_TANGENTS: usize = 8;
/// Tangents pushed through the network per call of the exact method.
pub const EXACT_CHUNK: usize = 128;
/// The random estimate is recomputed once this share of the gates has
/// flipped since it was made: with 8 tangents its relative noise (about
/// 25%) is far above what so few gates change.
pub const RANDOM_DRIFT: f64 = 0.01;
/// Tangent rows per call, all samples of a group together.
pub const TANGENT_ROWS_PER_CALL: usize = 1024;
/// Most floats the host-side Jacobians of a dense chain may hold for the
/// whole batch (1 GiB); above it the exact normalisers go through the graph.
pub const HOST_JACOBIAN_FLOATS: usize = 1 << 28;

impl NormaliserMethod {
    /// The documented size rule: exact while the free input is small.
    pub fn default_for(free_inputs: usize) -> Self {
        if free_inputs <= EXACT_MAX_FREE_INPUTS {
            NormaliserMethod::Exact
        } else {
            NormaliserMethod::Random { tangents: DEFAULT_RANDOM_TANGENTS }
        }
    }
}

/// Counters of the cache, for reports and benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NormaliserStats {
    /// Per-sample normaliser computations (the first included).
    pub recomputes: usize,
    /// Per-sample requests.
    pub requests: usize,
    /// Time spent computing them.
    pub seconds: f64,
    /// Time spent building and loading the normaliser graph.
    pub load_seconds: f64,
    /// Of the recomputations, those made by a low-rank update of a dense
    /// chain's Jacobians rather than in full.
    pub incremental: usize,
}

/// One sample's cached normalisers (per site) and the gate pattern they
/// were computed at.
#[derive(Clone)]
struct Cached {
    pattern: Vec<u64>,
    norms: Norms,
}

/// Where a sample's normalisers come from.
#[derive(Clone)]
enum Norms {
    /// `1 / max(||J_kj||, 1)` per site, from the normaliser graph.
    Graph(Vec<Array1<f32>>),
    /// A dense chain's Jacobians, which keep their normalisers and are
    /// updated when the pattern changes.
    Host(SiteJacobians),
}

impl Cached {
    fn into_jacobians(self) -> Option<SiteJacobians> {
        match self.norms {
            Norms::Graph(_) => None,
            Norms::Host(j) => Some(j),
        }
    }

    fn inverse_norms(&self) -> &[Array1<f32>] {
        match &self.norms {
            Norms::Graph(v) => v,
            Norms::Host(j) => j.inverse_norms(),
        }
    }
}

/// The normaliser graph and the model facts it needs, to load a graph for
/// any group size on demand.
struct GraphSource<'a> {
    problem: Problem<'a>,
    backend: &'a dyn Backend,
}

/// Whether the sites' Jacobians depend on `x` only through the gate
/// pattern: every op before the last ReLU site is piecewise linear in the
/// gates (no max pool, no smooth op).
fn depends_on_pattern_only(graph: &crate::ir::Graph, sites: &[crate::surrogate::ReluSite]) -> bool {
    let last_site = sites.iter().map(|s| s.node_id.0).max().unwrap_or(0);
    graph.nodes().iter().take(last_site).all(|n| n.op.piecewise_linear_in_gates())
}

pub struct NormaliserCache<'a> {
    method: NormaliserMethod,
    source: GraphSource<'a>,
    /// Loaded graphs by samples per call (powers of two up to `group`).
    graphs: std::collections::HashMap<usize, Box<dyn Executable>>,
    per_call: usize,
    /// Most samples computed per call.
    group: usize,
    /// Whether the Jacobian depends on the gates alone.
    cacheable: bool,
    /// The exact method on a dense chain: Jacobians kept on the host.
    chain: Option<DenseChain>,
    /// Free input elements of each sample.
    free: Vec<Vec<usize>>,
    n: usize,
    site_sizes: Vec<usize>,
    entries: Vec<Option<Cached>>,
    /// Gates that may differ from the cached pattern before a recomputation.
    drift: usize,
    /// Per sample: its random stream's seed and how many times it was computed.
    seeds: Vec<u64>,
    computed: Vec<u64>,
    /// When a computation under way gives up ([`NormaliserCache::with_deadline`]).
    deadline: Option<Instant>,
    pub stats: NormaliserStats,
}

impl<'a> NormaliserCache<'a> {
    /// `free[[b, i]]` is 1 where input element `i` of sample `b` is
    /// optimised; `seeds[b]` seeds sample b's random tangents.
    pub fn new(
        problem: Problem<'a>,
        backend: &'a dyn Backend,
        method: NormaliserMethod,
        free: &Array2<f32>,
        seeds: Vec<u64>,
    ) -> Self {
        let batch = free.nrows();
        let free: Vec<Vec<usize>> = free
            .rows()
            .into_iter()
            .map(|r| r.iter().enumerate().filter(|(_, &f)| f > 0.0).map(|(i, _)| i).collect())
            .collect();
        let widest = free.iter().map(Vec::len).max().unwrap_or(0);
        let per_call = match method {
            NormaliserMethod::Exact => widest.clamp(1, EXACT_CHUNK),
            NormaliserMethod::Random { tangents } => tangents.max(1),
        };
        let group = (TANGENT_ROWS_PER_CALL / per_call).clamp(1, batch.max(1));
        let total_neurons: usize = problem.sites.iter().map(|s| s.neurons).sum();
        let cacheable = depends_on_pattern_only(&problem.model.graph, &problem.sites);
        let graph = &problem.model.graph;
        let on_host = method == NormaliserMethod::Exact
            && cacheable
            && problem.precision == Precision::F32
            && host_jacobian_floats(graph, &problem.sites, batch, widest).is_some();
        let chain = on_host.then(|| DenseChain::of(graph, &problem.sites, problem.alpha)).flatten();
        NormaliserCache {
            method,
            cacheable,
            chain,
            n: problem.input_size(),
            site_sizes: problem.sites.iter().map(|s| s.neurons).collect(),
            source: GraphSource { problem, backend },
            graphs: std::collections::HashMap::new(),
            per_call,
            group,
            free,
            entries: vec![None; batch],
            drift: match method {
                NormaliserMethod::Exact => 0,
                NormaliserMethod::Random { .. } => (RANDOM_DRIFT * total_neurons as f64) as usize,
            },
            computed: vec![0; seeds.len()],
            seeds,
            deadline: None,
            stats: NormaliserStats::default(),
        }
    }

    /// Gives up a computation when `deadline` passes (or a stop is
    /// requested, `crate::interrupt`): with exact normalisers, one batch's
    /// can take many times a search's whole time limit (784 tangents per
    /// MNIST sample).
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Computes each sample in a call of its own, so that its normalisers
    /// do not depend on which other samples were due at the same time (a
    /// batch-invariant run, see `optim::engine`).
    pub fn one_sample_per_call(mut self) -> Self {
        self.group = 1;
        self
    }

    /// `1 / max(||J_kj||, 1)` for every sample, site and neuron, `[B, N_k]`
    /// per site. A sample is recomputed when its gate pattern changed (the
    /// exact method) or drifted by more than `drift` gates (the random
    /// estimate, whose own noise is larger than a few gates' effect) since
    /// its cached value; where the Jacobian depends on `x` itself (max
    /// pools, smooth ops before a site), always. Samples due are computed together, `group` per call.
    /// `None`: the deadline passed first (the samples under way keep no
    /// value, and the search ends).
    pub fn inverse_norms(&mut self, x: &Array2<f32>, vars: &ActivationVars) -> Result<Option<Vec<Array2<f32>>>> {
        let batch = x.nrows();
        let patterns: Vec<Vec<u64>> = (0..batch).map(|s| vars.pattern(s)).collect();
        self.stats.requests += batch;
        let (cacheable, drift) = (self.cacheable, self.drift);
        let due = |entry: &Option<Cached>, now: &[u64]| match entry {
            Some(c) if cacheable => {
                c.pattern.iter().zip(now).map(|(a, b)| (a ^ b).count_ones() as usize).sum::<usize>() > drift
            }
            _ => true,
        };
        let stale: Vec<usize> = (0..batch).filter(|&s| due(&self.entries[s], &patterns[s])).collect();
        if self.chain.is_some() {
            if !self.update_on_host(vars, &stale, &patterns) {
                return Ok(None);
            }
        } else {
            for group in stale.chunks(self.group) {
                let Some(fresh) = self.compute(x, vars, group)? else { return Ok(None) };
                for (&s, v) in group.iter().zip(fresh) {
                    self.entries[s] = Some(Cached { pattern: patterns[s].clone(), norms: Norms::Graph(v) });
                }
            }
        }
        let mut out: Vec<Array2<f32>> = self.site_sizes.iter().map(|&n| Array2::zeros((batch, n))).collect();
        for s in 0..batch {
            if let Some(c) = &self.entries[s] {
                for (o, v) in out.iter_mut().zip(c.inverse_norms()) {
                    o.row_mut(s).assign(v);
                }
            }
        }
        Ok(Some(out))
    }

    /// Brings the Jacobians of the samples `stale` on a dense chain to
    /// their gates now (a low-rank update of the cached ones, or a full
    /// product) and caches their normalisers under their patterns. The
    /// samples are spread over the backend's threads; each sample's result
    /// depends on that sample alone. False where the deadline passed
    /// first: the samples not brought keep no Jacobians.
    fn update_on_host(&mut self, vars: &ActivationVars, stale: &[usize], patterns: &[Vec<u64>]) -> bool {
        let Some(chain) = &self.chain else { return true };
        let start = Instant::now();
        let jobs: Vec<(usize, Option<SiteJacobians>)> =
            stale.iter().map(|&s| (s, self.entries[s].take().and_then(Cached::into_jacobians))).collect();
        let (free, deadline) = (&self.free, self.deadline);
        let bring = |(s, kept): (usize, Option<SiteJacobians>)| {
            if crate::interrupt::passed(deadline) {
                return None;
            }
            let factors = chain.gating_factors(vars.eta.iter().map(|e| e.row(s)));
            Some(match kept {
                Some(mut j) => {
                    let refresh = j.update(chain, &free[s], factors);
                    (s, j, refresh)
                }
                None => (s, SiteJacobians::compute(chain, &free[s], factors), Refresh::Full),
            })
        };
        let threads = self.source.backend.host_threads().min(jobs.len()).max(1);
        let done: Vec<Option<(usize, SiteJacobians, Refresh)>> = if threads == 1 {
            jobs.into_iter().map(bring).collect()
        } else {
            let per_thread = jobs.len().div_ceil(threads);
            let mut chunks: Vec<Vec<(usize, Option<SiteJacobians>)>> = Vec::new();
            let mut jobs = jobs.into_iter().peekable();
            while jobs.peek().is_some() {
                chunks.push(jobs.by_ref().take(per_thread).collect());
            }
            std::thread::scope(|scope| {
                let handles: Vec<_> =
                    chunks.into_iter().map(|c| scope.spawn(|| c.into_iter().map(bring).collect::<Vec<_>>())).collect();
                handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            })
        };
        let brought = done.iter().all(Option::is_some);
        for (s, jacobians, refresh) in done.into_iter().flatten() {
            self.stats.recomputes += 1;
            self.stats.incremental += usize::from(refresh == Refresh::Incremental);
            self.computed[s] += 1;
            self.entries[s] = Some(Cached { pattern: patterns[s].clone(), norms: Norms::Host(jacobians) });
        }
        self.stats.seconds += start.elapsed().as_secs_f64();
        brought
    }

    /// The graph for `rows` samples per call: the smallest power of two that
    /// holds them (at most `group`), loaded on first use.
    fn graph(&mut self, rows: usize) -> Result<(usize, &mut Box<dyn Executable>)> {
        let size = rows.next_power_of_two().min(self.group).max(rows);
        if !self.graphs.contains_key(&size) {
            let start = Instant::now();
            let per_call = self.per_call;
            let src = &self.source;
            // Each row pushes `per_call` tangents through the network.
            let floats = src.problem.model.graph.activation_floats() * per_call;
            let exe = src.backend.load_batched(&|r| normaliser_graph(&src.problem, r, per_call), size, floats)?;
            self.stats.load_seconds += start.elapsed().as_secs_f64();
            self.graphs.insert(size, exe);
        }
        let exe = self.graphs.get_mut(&size).expect("inserted above");
        Ok((size, exe))
    }

    /// Computes the normalisers of `samples` (at most `group`), padding the
    /// call with copies of the last sample; `None` where the deadline passed
    /// between two calls.
    fn compute(
        &mut self,
        x: &Array2<f32>,
        vars: &ActivationVars,
        samples: &[usize],
    ) -> Result<Option<Vec<Vec<Array1<f32>>>>> {
        let start = Instant::now();
        let loading_before = self.stats.load_seconds;
        self.stats.recomputes += samples.len();
        let per_sample: Vec<Vec<Array2<f32>>> = samples.iter().map(|&s| self.tangent_batches(s)).collect();
        for &s in samples {
            self.computed[s] += 1;
        }
        let (per_call, n, deadline) = (self.per_call, self.n, self.deadline);
        let mut sumsq: Vec<Vec<Array1<f64>>> =
            samples.iter().map(|_| self.site_sizes.iter().map(|&k| Array1::zeros(k)).collect()).collect();
        let (size, exe) = self.graph(samples.len())?;
        let rows: Vec<usize> = (0..size).map(|r| samples[r.min(samples.len() - 1)]).collect();
        let gather = |a: &Array2<f32>| a.select(Axis(0), &rows).into_dyn();
        let x_rows = HostTensor::F32(gather(x));
        let etas: Vec<HostTensor> = vars.eta.iter().map(|e| HostTensor::F32(gather(e))).collect();
        let calls = per_sample.iter().map(Vec::len).max().unwrap_or(0);
        for call in 0..calls {
            if crate::interrupt::passed(deadline) {
                return Ok(None);
            }
            let mut tangents = Array2::zeros((size * per_call, n));
            for (i, batches) in per_sample.iter().enumerate() {
                if let Some(t) = batches.get(call) {
                    tangents.slice_mut(ndarray::s![i * per_call..(i + 1) * per_call, ..]).assign(t);
                }
            }
            let mut inputs = vec![x_rows.clone()];
            inputs.extend(etas.iter().cloned());
            inputs.push(HostTensor::F32(tangents.into_dyn()));
            let outs = exe.run(inputs)?;
            for (k, o) in outs.iter().enumerate() {
                let o = o.to_f64();
                for (i, acc) in sumsq.iter_mut().enumerate() {
                    acc[k].zip_mut_with(&o.index_axis(Axis(0), i), |a, &v| *a += v);
                }
            }
        }
        let scale = match self.method {
            NormaliserMethod::Exact => 1.0,
            NormaliserMethod::Random { tangents } => 1.0 / tangents as f64,
        };
        // Loading a graph is counted apart, as the engine's graphs are.
        self.stats.seconds += start.elapsed().as_secs_f64() - (self.stats.load_seconds - loading_before);
        Ok(Some(
            sumsq
                .into_iter()
                .map(|sites| {
                    sites.into_iter().map(|s| s.mapv(|v| (1.0 / (v * scale).sqrt().max(1.0)) as f32)).collect()
                })
                .collect(),
        ))
    }

    /// The tangent matrices `[per_call, n]` to push for one sample.
    fn tangent_batches(&self, sample: usize) -> Vec<Array2<f32>> {
        match self.method {
            NormaliserMethod::Exact => self.free[sample]
                .chunks(self.per_call)
                .map(|chunk| {
                    let mut t = Array2::zeros((self.per_call, self.n));
                    for (row, &i) in chunk.iter().enumerate() {
                        t[[row, i]] = 1.0;
                    }
                    t
                })
                .collect(),
            NormaliserMethod::Random { .. } => {
                let stream = self.seeds[sample] ^ self.computed[sample].wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut rng = ChaCha8Rng::seed_from_u64(stream);
                let mut t = Array2::zeros((self.per_call, self.n));
                for row in 0..self.per_call {
                    for &i in &self.free[sample] {
                        t[[row, i]] = StandardNormal.sample(&mut rng);
                    }
                }
                vec![t]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Objective;
    use crate::runtime::tract::TractBackend;
    use rand::{Rng, SeedableRng};

    /// The paper's large random network (three sites of 500): the
    /// Jacobians kept on the host give the normaliser graph's exact values,
    /// gates near their threshold included, at the first computation and
    /// after updates through many pattern changes; the samples spread over
    /// two threads give the same bits.
    #[test]
    fn the_host_jacobians_of_a_dense_chain_give_the_normaliser_graphs_values() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/models/rand_large_s1.onnx");
        let model = crate::onnx::import(&path).expect("the fixture rand_large_s1");
        let target = model.default_objective().unwrap().value;
        let problem =
            || Problem::new(&model, target, Objective::Linear { rows: 1, normalised: false }, 2000.0, Precision::F32);
        let (batch, n) = (2, 128);
        let mut free = Array2::ones((batch, n));
        free.row_mut(1).slice_mut(ndarray::s![..40]).fill(0.0);
        let mut host = NormaliserCache::new(problem(), &TractBackend, NormaliserMethod::Exact, &free, vec![0, 1]);
        assert!(host.chain.is_some(), "rand_large is a dense chain");
        let two_threads = crate::runtime::Threaded { inner: Box::new(TractBackend), threads: 2 };
        let mut threaded = NormaliserCache::new(problem(), &two_threads, NormaliserMethod::Exact, &free, vec![0, 1]);
        let mut graph = NormaliserCache::new(problem(), &TractBackend, NormaliserMethod::Exact, &free, vec![0, 1]);
        graph.chain = None;

        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = Array2::from_shape_fn((batch, n), |_| rng.random_range(-1.0f32..1.0));
        let mut vars = ActivationVars {
            eta: (0..3).map(|_| Array2::from_shape_fn((batch, 500), |_| rng.random_range(0.3f32..0.7))).collect(),
        };
        for step in 0..12 {
            for e in &mut vars.eta {
                for _ in 0..3 {
                    let (s, j) = (rng.random_range(0..batch), rng.random_range(0..500));
                    e[[s, j]] = if step % 4 == 3 { 0.5 + rng.random_range(-0.002..0.002) } else { 1.0 - e[[s, j]] };
                }
            }
            let got = host.inverse_norms(&x, &vars).unwrap().unwrap();
            assert_eq!(threaded.inverse_norms(&x, &vars).unwrap().unwrap(), got, "the same bits on two threads");
            let want = graph.inverse_norms(&x, &vars).unwrap().unwrap();
            for (g, w) in got.iter().zip(&want) {
                for (&a, &b) in g.iter().zip(w) {
                    assert!((a - b).abs() <= 1e-5 * b, "step {step}: {a} against {b}");
                }
            }
        }
        assert!(host.stats.incremental >= 2 * 10, "{} low-rank updates", host.stats.incremental);
        assert_eq!(host.stats.recomputes, graph.stats.recomputes);

        // A deadline passed gives up the computation on either path (a
        // batch's exact normalisers overran falsify's --timeout tenfold).
        let passed = Some(std::time::Instant::now());
        let mut late_host = NormaliserCache::new(problem(), &TractBackend, NormaliserMethod::Exact, &free, vec![0, 1])
            .with_deadline(passed);
        assert!(late_host.inverse_norms(&x, &vars).unwrap().is_none());
        let mut late_graph = NormaliserCache::new(problem(), &TractBackend, NormaliserMethod::Exact, &free, vec![0, 1])
            .with_deadline(passed);
        late_graph.chain = None;
        assert!(late_graph.inverse_norms(&x, &vars).unwrap().is_none());
        assert_eq!(late_graph.stats.seconds, 0.0);
    }
}
