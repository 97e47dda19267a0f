//! The optimisation loop shared by every method: rows (goal instances times
//! restarts) run as one batch, starts, projection into each goal's feasible
//! set, best tracking by the true network, early stop, progress, one seeded
//! RNG, step directions. One file per method, `adr`, `gd` and `pgd` (the last
//! two share `descent`, the loop on the true gradient); `auto` (PGD, then ADR
//! from PGD's best) is `optimise` here.

mod adr;
mod descent;
pub mod engine;
mod gd;
mod pgd;
pub mod settings;
pub mod track;

use std::time::Instant;

use ndarray::{Array2, ArrayD, ArrayView1};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::Result;
use crate::goal::schema::{Algorithm, StepRule};
use crate::goal::{Goal, Start};
use crate::surrogate::normalisers::NormaliserStats;
use engine::{stack_params, Engine};
pub use settings::Settings;
use track::{Best, TracePoint, Tracker};

/// One row of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub task: usize,
    pub restart: usize,
}

/// Progress of a run (a bar on a terminal, nothing otherwise).
pub trait Progress {
    fn begin(&mut self, phase: &str, total: usize);
    fn tick(&mut self, done: usize, best_objective: Option<f64>);
    fn end(&mut self);
}

/// No progress output.
pub struct Silent;

impl Progress for Silent {
    fn begin(&mut self, _: &str, _: usize) {}
    fn tick(&mut self, _: usize, _: Option<f64>) {}
    fn end(&mut self) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every goal achieved (with `stop_when_achieved`).
    Achieved,
    /// The iteration budget ran out.
    Iterations,
    /// The deadline passed.
    Timeout,
}

/// Summary of one phase (method) of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub method: &'static str,
    pub iterations: usize,
    pub seconds: f64,
    /// Goals achieved at the end of the phase.
    pub achieved: usize,
    /// Best true objective of the first goal at the end of the phase.
    pub best_objective: Option<f64>,
}

/// ADR-specific figures of the last ADR phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdrStats {
    /// Neurons whose thresholded eta pattern flipped, summed over iterations and rows.
    pub pattern_changes: usize,
    /// Pattern resyncs performed.
    pub resyncs: usize,
    /// Multiplier and consistency loss of the first goal's restart 0 at the
    /// last evaluated iteration (before that iteration's update of c).
    pub final_c: f64,
    pub final_consistency: f64,
    pub normalisers: NormaliserStats,
}

pub struct Outcome {
    pub best: Vec<Best>,
    pub initial: Vec<(crate::goal::Assessment, Vec<f32>)>,
    pub trace: Vec<TracePoint>,
    pub phases: Vec<Phase>,
    pub stopped: StopReason,
    /// Iterations run, all phases together.
    pub iterations: usize,
    pub adr: Option<AdrStats>,
    pub seconds: f64,
    /// Building and loading graphs, the normalisers' included.
    pub load_seconds: f64,
}

/// Everything one phase works with.
pub struct Ctx<'r, 'a> {
    pub engine: &'r mut Engine<'a>,
    pub goals: &'r [Goal],
    pub rows: &'r [Row],
    pub free: Array2<f32>,
    pub params: Vec<ArrayD<f32>>,
    pub settings: &'r Settings,
    pub tracker: &'r mut Tracker,
    /// One random stream per row, so that a row's run does not depend on
    /// the other rows of its batch (sharded audits merge bit for bit).
    pub rngs: &'r mut [ChaCha8Rng],
    pub progress: &'r mut dyn Progress,
    pub deadline: Option<Instant>,
}

impl Ctx<'_, '_> {
    /// Whether row `r` should stop moving (its goal achieved).
    pub fn frozen(&self, r: usize) -> bool {
        self.settings.stop_when_achieved && self.tracker.achieved(self.rows[r].task)
    }

    /// Why the loop should stop now, if it should.
    pub fn should_stop(&self) -> Option<StopReason> {
        if self.settings.stop_when_achieved && self.tracker.all_achieved() {
            return Some(StopReason::Achieved);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(StopReason::Timeout);
        }
        None
    }

    /// Projects row `r` of `x` into its goal's feasible set.
    pub fn project(&self, x: &mut Array2<f32>, r: usize) {
        let goal = &self.goals[self.rows[r].task];
        let mut row = x.row_mut(r);
        match row.as_slice_mut() {
            Some(s) => goal.feasible.project(s),
            None => {
                let mut v = row.to_vec();
                goal.feasible.project(&mut v);
                row.assign(&ndarray::ArrayView1::from(&v));
            }
        }
    }

    /// Ends a method's loop after `done` iterations: judges the final `x`
    /// by the true network (unless every goal was already achieved, when
    /// the last judged point stands) and closes the progress bar.
    pub fn finish(&mut self, x: &Array2<f32>, done: usize, stop: StopReason) -> Result<()> {
        if stop != StopReason::Achieved {
            let t = self.engine.eval(x)?;
            self.tracker.observe(self.goals, self.rows, done, x, &t, None);
        }
        self.progress.end();
        Ok(())
    }

    pub fn best_objective(&self) -> Option<f64> {
        self.tracker.best.first().and_then(Option::as_ref).map(|b| b.assessment.objective)
    }
}

/// Start points: restart 0 at the goal's start (unless `all_random` or the
/// goal asks for a random start), the others random in the feasible set.
pub fn starts(goals: &[Goal], rows: &[Row], rngs: &mut [ChaCha8Rng], all_random: bool) -> Array2<f32> {
    let n = goals.first().map_or(0, |g| g.feasible.len());
    let mut x = Array2::zeros((rows.len(), n));
    for (r, row) in rows.iter().enumerate() {
        let g = &goals[row.task];
        let centre: Vec<f32> = match &g.start {
            Start::Given(s) => s.clone(),
            Start::Random => {
                g.feasible.lower.iter().zip(&g.feasible.upper).map(|(l, u)| 0.0f32.clamp(*l, *u)).collect()
            }
        };
        let point = match (&g.start, row.restart, all_random) {
            (Start::Given(s), 0, false) => s.clone(),
            _ => g.feasible.random_point(&centre, &mut rngs[r]),
        };
        x.row_mut(r).assign(&ndarray::Array1::from(point));
    }
    x
}

fn given_starts(goals: &[Goal], rows: &[Row]) -> Array2<f32> {
    let n = goals.first().map_or(0, |g| g.feasible.len());
    let mut x = Array2::zeros((rows.len(), n));
    for (r, row) in rows.iter().enumerate() {
        if let Start::Given(s) = &goals[row.task].start {
            x.row_mut(r).assign(&ndarray::Array1::from(s.clone()));
        }
    }
    x
}

/// Runs `settings.algorithm` on the goals (all of one kind), each with
/// `settings.restarts` starts, in one batch.
pub fn optimise(
    engine: &mut Engine,
    goals: &[Goal],
    settings: &Settings,
    progress: &mut dyn Progress,
    deadline: Option<Instant>,
) -> Result<Outcome> {
    let started = Instant::now();
    let rows: Vec<Row> =
        (0..goals.len()).flat_map(|task| (0..settings.restarts).map(move |restart| Row { task, restart })).collect();
    let m = engine.model.graph.value(engine.target).size();
    let per_row: Vec<Vec<ArrayD<f32>>> = rows.iter().map(|r| goals[r.task].objective_params(m)).collect();
    let mut free = Array2::zeros((rows.len(), engine.model.graph.input_size()));
    for (r, row) in rows.iter().enumerate() {
        for (i, f) in goals[row.task].feasible.free().into_iter().enumerate() {
            free[[r, i]] = if f { 1.0 } else { 0.0 };
        }
    }
    let mut tracker = Tracker::new(goals.len());
    let mut rngs: Vec<ChaCha8Rng> = rows
        .iter()
        .map(|r| ChaCha8Rng::seed_from_u64(row_seed(settings.seed, goals[r.task].stream, r.restart)))
        .collect();
    let mut ctx = Ctx {
        engine,
        goals,
        rows: &rows,
        free,
        params: stack_params(&per_row)?,
        settings,
        tracker: &mut tracker,
        rngs: &mut rngs,
        progress,
        deadline,
    };
    // The given starts are judged first: the report's initial objective,
    // and a feasible candidate whatever the method.
    if goals.iter().all(|g| matches!(g.start, Start::Given(_))) {
        let x0 = given_starts(goals, &rows);
        let truth = ctx.engine.eval(&x0)?;
        ctx.tracker.observe(goals, &rows, 0, &x0, &truth, None);
        ctx.tracker.trace.clear();
    }
    let mut phases = Vec::new();
    let mut adr_stats = None;
    let mut stopped = StopReason::Iterations;
    let mut run_phase = |ctx: &mut Ctx, method: Algorithm, x: Array2<f32>| -> Result<()> {
        let t = Instant::now();
        ctx.tracker.phase = method.name();
        let (iterations, stop, stats) = match method {
            Algorithm::Adr => {
                let (it, stop, stats) = adr::run(ctx, x)?;
                (it, stop, Some(stats))
            }
            Algorithm::Gd => {
                let (it, stop) = gd::run(ctx, x)?;
                (it, stop, None)
            }
            Algorithm::Pgd => {
                let (it, stop) = pgd::run(ctx, x)?;
                (it, stop, None)
            }
            Algorithm::Auto => unreachable!("auto runs as a PGD phase and an ADR phase"),
        };
        ctx.tracker.offset += iterations;
        stopped = stop;
        if stats.is_some() {
            adr_stats = stats;
        }
        phases.push(Phase {
            method: method.name(),
            iterations,
            seconds: t.elapsed().as_secs_f64(),
            achieved: (0..ctx.goals.len()).filter(|&t| ctx.tracker.achieved(t)).count(),
            best_objective: ctx.best_objective(),
        });
        Ok(())
    };
    match settings.algorithm {
        Algorithm::Auto => {
            let x = starts(goals, &rows, ctx.rngs, true);
            run_phase(&mut ctx, Algorithm::Pgd, x)?;
            if ctx.should_stop().is_none() {
                let mut x = starts(goals, &rows, ctx.rngs, false);
                for (r, row) in rows.iter().enumerate() {
                    if let (0, Some(b)) = (row.restart, &ctx.tracker.best[row.task]) {
                        x.row_mut(r).assign(&ndarray::Array1::from(b.x.clone()));
                    }
                }
                run_phase(&mut ctx, Algorithm::Adr, x)?;
            }
        }
        Algorithm::Pgd => {
            let x = starts(goals, &rows, ctx.rngs, true);
            run_phase(&mut ctx, Algorithm::Pgd, x)?;
        }
        method => {
            let x = starts(goals, &rows, ctx.rngs, settings.random_start);
            run_phase(&mut ctx, method, x)?;
        }
    }
    let normaliser_loading = adr_stats.as_ref().map_or(0.0, |s: &AdrStats| s.normalisers.load_seconds);
    let load_seconds = ctx.engine.load_seconds + normaliser_loading;
    let iterations = tracker.offset;
    let best = tracker.best.into_iter().map(|b| b.expect("every goal was evaluated")).collect();
    let initial = tracker
        .initial
        .into_iter()
        .map(|i| {
            i.unwrap_or_else(|| {
                (crate::goal::Assessment { score: f64::NAN, objective: f64::NAN, achieved: false }, Vec::new())
            })
        })
        .collect();
    Ok(Outcome {
        best,
        initial,
        trace: tracker.trace,
        phases,
        stopped,
        iterations,
        adr: adr_stats,
        seconds: started.elapsed().as_secs_f64(),
        load_seconds,
    })
}

/// The seed of one row's random stream: the run's seed, the goal's stream
/// (its index in a dataset) and the restart.
pub fn row_seed(seed: u64, stream: u64, restart: usize) -> u64 {
    let mut h = seed ^ 0x243F_6A88_85A3_08D3;
    for v in [stream, restart as u64] {
        h = (h ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
    }
    h
}

/// The Euclidean norm.
pub fn l2_norm<'a>(g: impl IntoIterator<Item = &'a f32>) -> f32 {
    g.into_iter().map(|v| v * v).sum::<f32>().sqrt()
}

/// Turns a gradient into a step direction by `rule`, in place: `clip`
/// scales it to norm 1 when longer (ALGORITHM.md section 6), `unit` always,
/// `sign` takes its signs (0 stays 0). Returns `min(||g||, 1)` of the raw
/// gradient, which ADR's perturbation rule compares with `grad_threshold`.
pub fn step_direction(g: &mut [f32], rule: StepRule) -> f32 {
    let n = l2_norm(g.iter());
    match rule {
        StepRule::Clip if n > 1.0 => g.iter_mut().for_each(|v| *v /= n),
        StepRule::Clip => {}
        StepRule::Unit if n > 0.0 => g.iter_mut().for_each(|v| *v /= n),
        StepRule::Unit => {}
        StepRule::Sign => g.iter_mut().for_each(|v| *v = if *v == 0.0 { 0.0 } else { v.signum() }),
    }
    n.min(1.0)
}

/// Moves row `row` of `x` by `-size` times the direction of `g` by `rule`.
fn step_row(x: &mut Array2<f32>, row: usize, g: ArrayView1<f32>, rule: StepRule, size: f32) {
    let mut g = g.to_vec();
    step_direction(&mut g, rule);
    x.row_mut(row).iter_mut().zip(&g).for_each(|(x, g)| *x -= size * g);
}
