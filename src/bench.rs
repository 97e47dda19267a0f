//! Benchmarks (`adr-onnx bench`): time per true forward pass, per ADR
//! iteration (the step graph, the host updates and the normalisers,
//! amortised) and per PGD step, for a model, goal, batch, backend and thread
//! count; the ratio ADR iteration / forward pass; the share of the
//! normalisers and how often the gate pattern changed.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::goal::schema::{Algorithm, MethodBlock};
use crate::goal::Goal;
use crate::onnx::ImportedModel;
use crate::optim::{optimise, Settings, Silent};
use crate::runtime::Backend;

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub model: String,
    pub batch: usize,
    pub threads: usize,
    pub backend: String,
    /// One true forward pass of the whole batch.
    pub forward_ms: f64,
    /// One ADR iteration of the whole batch: step graph, updates,
    /// normalisers (amortised over the iterations run).
    pub adr_iter_ms: f64,
    /// One PGD step of the whole batch.
    pub pgd_step_ms: f64,
    /// `adr_iter_ms / forward_ms`.
    pub ratio: f64,
    /// `adr_iter_ms / pgd_step_ms`: an ADR iteration in gradient steps.
    pub adr_per_pgd: f64,
    /// The step graph alone, per iteration.
    pub adr_step_graph_ms: f64,
    /// Normalisers' share of the ADR time.
    pub normaliser_share: f64,
    /// Normaliser recomputations per sample and iteration (how often the
    /// thresholded gate pattern changed).
    pub pattern_change_rate: f64,
    /// Of those recomputations, the share made by low-rank updates of a
    /// dense chain's Jacobians (exact normalisers), not in full.
    pub incremental_share: f64,
    pub normalisers: String,
}

/// What to measure.
pub struct CaseSpec<'a> {
    pub name: String,
    pub model: &'a ImportedModel,
    pub goal: &'a Goal,
    pub batch: usize,
    pub threads: usize,
    pub backend: &'a dyn Backend,
    pub backend_name: String,
    /// ADR iterations and PGD steps timed.
    pub iterations: usize,
    /// Method overrides (e.g. the normalisers).
    pub method: MethodBlock,
}

fn ms(seconds: f64, count: usize) -> f64 {
    1e3 * seconds / count.max(1) as f64
}

/// The settings of a timed phase: `algorithm` for `spec.iterations` steps
/// over the batch, never stopping early, the case's overrides over the
/// goal's method block.
fn settings(spec: &CaseSpec, algorithm: Algorithm) -> Result<Settings> {
    let cli = MethodBlock {
        algorithm: Some(algorithm),
        iterations: Some(spec.iterations),
        pgd_steps: Some(spec.iterations),
        restarts: Some(spec.batch),
        stop_when_achieved: Some(false),
        ..spec.method.clone()
    };
    crate::front::settings(spec.model, spec.goal, &cli)
        .map_err(|e| Error::BenchSettings { file: spec.goal.file.clone(), message: e.to_string() })
}

pub fn measure(spec: &CaseSpec) -> Result<Case> {
    let g = spec.goal;
    let adr = settings(spec, Algorithm::Adr)?;
    // Forward passes: the eval graph at the batch, repeated.
    let mut engine = crate::front::engine(spec.model, spec.backend, g, &adr, spec.batch);
    let x = crate::optim::starts(
        std::slice::from_ref(g),
        &(0..spec.batch).map(|r| crate::optim::Row { task: 0, restart: r }).collect::<Vec<_>>(),
        &mut (0..spec.batch)
            .map(|r| <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(r as u64))
            .collect::<Vec<_>>(),
        false,
    );
    engine.eval(&x)?;
    let reps = (spec.iterations / 2).max(3);
    let t = Instant::now();
    for _ in 0..reps {
        engine.eval(&x)?;
    }
    let forward_ms = ms(t.elapsed().as_secs_f64(), reps);

    let (run, iterations, stats) = timed_phase(spec, &adr)?;
    let adr_iter_ms = ms(run, iterations);
    let adr_step_graph_ms = time_steps(spec, &adr, reps)?;
    let pgd = settings(spec, Algorithm::Pgd)?;
    let (pgd_run, pgd_steps, _) = timed_phase(spec, &pgd)?;
    let pgd_step_ms = ms(pgd_run, pgd_steps);

    Ok(Case {
        model: spec.name.clone(),
        batch: spec.batch,
        threads: spec.threads,
        backend: spec.backend_name.clone(),
        forward_ms,
        adr_iter_ms,
        pgd_step_ms,
        ratio: adr_iter_ms / forward_ms,
        adr_per_pgd: adr_iter_ms / pgd_step_ms,
        adr_step_graph_ms,
        normaliser_share: if run > 0.0 { (stats.normalisers.seconds / run).min(1.0) } else { 0.0 },
        pattern_change_rate: stats.normalisers.recomputes as f64 / (iterations * spec.batch).max(1) as f64,
        incremental_share: stats.normalisers.incremental as f64 / stats.normalisers.recomputes.max(1) as f64,
        normalisers: format!("{:?}", adr.normalisers).to_lowercase(),
    })
}

/// Runs one optimisation phase; returns its seconds without the loading of
/// graphs, its iterations and ADR's figures.
fn timed_phase(spec: &CaseSpec, settings: &Settings) -> Result<(f64, usize, crate::optim::AdrStats)> {
    let g = spec.goal;
    let mut engine = crate::front::engine(spec.model, spec.backend, g, settings, spec.batch);
    // The eval graphs the run loads outside its phase: for the batch, and
    // for the given start, evaluated once per goal.
    let x = ndarray::Array2::from_elem((spec.batch, spec.model.graph.input_size()), 0.0f32);
    engine.eval(&x)?;
    engine.eval(&x.slice(ndarray::s![..1, ..]).to_owned())?;
    let before = engine.load_seconds;
    let o = optimise(&mut engine, std::slice::from_ref(g), settings, &mut Silent, None)?;
    let stats = o.adr.clone().unwrap_or_default();
    let phase = o.phases.first();
    let loading = o.load_seconds - before;
    let seconds = (phase.map_or(0.0, |p| p.seconds) - loading).max(0.0);
    Ok((seconds, phase.map_or(1, |p| p.iterations.max(1)), stats))
}

/// Times the step graph alone on fixed inputs: milliseconds per call.
fn time_steps(spec: &CaseSpec, settings: &Settings, steps: usize) -> Result<f64> {
    use ndarray::{Array1, Array2};
    let g = spec.goal;
    let mut engine = crate::front::engine(spec.model, spec.backend, g, settings, spec.batch);
    let objective = g.objective(Algorithm::Adr, settings.normalised_objective);
    let n = spec.model.graph.input_size();
    let m = spec.model.graph.value(g.target).size();
    let x = Array2::from_elem((spec.batch, n), 0.5f32);
    let free = Array2::from_elem((spec.batch, n), 1.0f32);
    let c = Array1::from_elem(spec.batch, 0.5f32);
    let sites = crate::surrogate::relu_sites(&spec.model.graph);
    let eta: Vec<Array2<f32>> = sites.iter().map(|s| Array2::from_elem((spec.batch, s.neurons), 0.49)).collect();
    let inv: Vec<Array2<f32>> = sites.iter().map(|s| Array2::from_elem((spec.batch, s.neurons), 1.0)).collect();
    let rows: Vec<Vec<ndarray::ArrayD<f32>>> = (0..spec.batch).map(|_| g.objective_params(m)).collect();
    let params = crate::optim::engine::stack_params(&rows)?;
    let state =
        crate::optim::engine::StepState { x: &x, free: &free, c: &c, eta: &eta, inv_norm: &inv, params: &params };
    engine.step(objective, &state)?;
    let t = Instant::now();
    for _ in 0..steps {
        engine.step(objective, &state)?;
    }
    Ok(ms(t.elapsed().as_secs_f64(), steps))
}

/// The text table of cases.
pub fn table(cases: &[Case]) -> String {
    let mut s = format!(
        "{:<18} {:>5} {:>7} {:<11} {:>11} {:>11} {:>11} {:>7} {:>7} {:>10} {:>10} {:>8} {:>11}\n",
        "model",
        "batch",
        "threads",
        "backend",
        "forward_ms",
        "adr_iter_ms",
        "pgd_step_ms",
        "ratio",
        "adr/pgd",
        "step_ms",
        "norm_share",
        "changes",
        "incremental"
    );
    for c in cases {
        s.push_str(&format!(
            "{:<18} {:>5} {:>7} {:<11} {:>11.3} {:>11.3} {:>11.3} {:>7.2} {:>7.2} {:>10.3} {:>9.0}% {:>8.3} {:>10.0}%\n",
            c.model,
            c.batch,
            c.threads,
            c.backend,
            c.forward_ms,
            c.adr_iter_ms,
            c.pgd_step_ms,
            c.ratio,
            c.adr_per_pgd,
            c.adr_step_graph_ms,
            100.0 * c.normaliser_share,
            c.pattern_change_rate,
            100.0 * c.incremental_share
        ));
    }
    s
}

/// A model and a goal of the benchmark suite.
pub struct Workload {
    pub name: &'static str,
    pub model: std::path::PathBuf,
    pub goal: std::path::PathBuf,
    pub batches: Vec<usize>,
}

/// The suite on the fixtures: the MNIST CNN attack (batch 1, 64, 256), the
/// large random network (1, 64), the VAE decoder (1, 64).
pub fn suite(project: &Path, fixtures: &Path) -> Vec<Workload> {
    let goals = project.join("testdata/goals");
    vec![
        Workload {
            name: "mnist_cnn",
            model: project.join("models/mnist_cnn_pgd.onnx"),
            goal: goals.join("untargeted_png.json"),
            batches: vec![1, 64, 256],
        },
        Workload {
            name: "rand_large",
            model: fixtures.join("models/rand_large_s1.onnx"),
            goal: goals.join("output_bound_large.json"),
            batches: vec![1, 64],
        },
        Workload {
            name: "vae_decoder",
            model: fixtures.join("models/mnist_vae_decoder.onnx"),
            goal: goals.join("reconstruction.json"),
            batches: vec![1, 64],
        },
    ]
}
