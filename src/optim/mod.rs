//! The optimisation loop shared by every method: rows (goal instances times
//! restarts) run as one batch, starts, projection into each goal's feasible
//! set, best tracking by the true network, early stop, progress, one seeded
//! RNG, step directions. One file per method: `adr`, `gd` and `pgd` (the
//! last two share `descent`, the loop on the true gradient), `apgd` and
//! `square`; `auto`, the ensemble of stages, is `optimise` here.

pub mod adam;
mod adr;
pub mod apgd;
mod descent;
pub mod engine;
mod gd;
pub mod normalisers;
mod pgd;
pub mod settings;
pub mod square;
pub mod track;

use std::time::Instant;

use ndarray::{Array2, ArrayD, ArrayView1, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::goal::schema::{Algorithm, Loss, Preset, StepRule};
use crate::goal::{Criterion, Goal, Start};
use crate::objective::Objective;
use crate::optim::normalisers::NormaliserStats;
use engine::{stack_params, Engine, GradientResult, Truth};
pub use settings::{InvalidSettings, Settings};
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

/// A stage of the method's plan that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub stage: &'static str,
    pub reason: &'static str,
}

/// Why `auto` leaves its ADR stage out on a network without ReLU.
pub const NO_RELU_LEFT_OUT: &str = "the model has no ReLU: nothing for activation descent to relax";

pub struct Outcome {
    pub best: Vec<Best>,
    pub initial: Vec<(crate::goal::Assessment, Vec<f32>)>,
    pub trace: Vec<TracePoint>,
    pub phases: Vec<Phase>,
    /// Stages of the plan that did not run (ADR on a network without ReLU).
    pub left_out: Vec<LeftOut>,
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
    pub rngs: Vec<ChaCha8Rng>,
    pub progress: &'r mut dyn Progress,
    pub deadline: Option<Instant>,
}

impl<'r, 'a> Ctx<'r, 'a> {
    /// The context of `stage` on `rows`: their free elements, objective
    /// parameters, and random streams seeded for the stage, so that it
    /// searches a row exactly as it would alone.
    #[allow(clippy::too_many_arguments)]
    fn for_stage(
        engine: &'r mut Engine<'a>,
        goals: &'r [Goal],
        rows: &'r [Row],
        settings: &'r Settings,
        stage: Stage,
        tracker: &'r mut Tracker,
        progress: &'r mut dyn Progress,
        deadline: Option<Instant>,
    ) -> Result<Self> {
        let m = engine.model.graph.value(engine.target).size();
        let per_row: Vec<Vec<ArrayD<f32>>> = rows.iter().map(|r| goals[r.task].objective_params(m)).collect();
        let mut free = Array2::zeros((rows.len(), engine.model.graph.input_size()));
        for (r, row) in rows.iter().enumerate() {
            for (i, f) in goals[row.task].feasible.free().into_iter().enumerate() {
                free[[r, i]] = if f { 1.0 } else { 0.0 };
            }
        }
        let rngs = rows
            .iter()
            .map(|row| {
                ChaCha8Rng::seed_from_u64(row_seed(stage.seed(settings.seed), goals[row.task].stream, row.restart))
            })
            .collect();
        Ok(Ctx {
            engine,
            goals,
            rows,
            free,
            params: stack_params(&per_row)?,
            settings,
            tracker,
            rngs,
            progress,
            deadline,
        })
    }

    /// Whether row `r` should stop moving (its goal achieved).
    pub fn frozen(&self, r: usize) -> bool {
        self.settings.stop_when_achieved && self.tracker.achieved(self.rows[r].task)
    }

    /// Why the loop should stop now, if it should.
    pub fn should_stop(&self) -> Option<StopReason> {
        stop_reason(self.settings, self.tracker, self.deadline)
    }

    /// Projects row `r` of `x` into its goal's feasible set.
    pub fn project(&self, x: &mut Array2<f32>, r: usize) {
        let mut row = x.row_mut(r);
        match row.as_slice_mut() {
            Some(s) => self.project_point(r, s),
            None => {
                let mut v = row.to_vec();
                self.project_point(r, &mut v);
                row.assign(&ndarray::ArrayView1::from(&v));
            }
        }
    }

    /// Ends a method's loop after `done` iterations: judges the final `x`
    /// by the true network (unless every goal was already achieved, when
    /// the last judged point stands) and closes the progress bar.
    pub fn finish(&mut self, x: &Array2<f32>, done: usize, stop: StopReason) -> Result<()> {
        let moving = self.moving_rows();
        if stop != StopReason::Achieved && !moving.is_empty() {
            self.eval_rows(x, &moving, done)?;
        }
        self.progress.end();
        Ok(())
    }

    pub fn best_objective(&self) -> Option<f64> {
        self.tracker.best.first().and_then(Option::as_ref).map(|b| b.assessment.objective)
    }

    /// The rows still searching: every row whose goal is not achieved (all
    /// rows without `stop_when_achieved`).
    pub fn moving_rows(&self) -> Vec<usize> {
        (0..self.rows.len()).filter(|&r| !self.frozen(r)).collect()
    }

    /// Projects a point of row `r` into its goal's feasible set.
    pub fn project_point(&self, r: usize, v: &mut [f32]) {
        self.goals[self.rows[r].task].feasible.project(v);
    }

    /// The centre of row `r`'s search: its ball's centre, else its given
    /// start, else the box's centre (0 where unbounded, clamped).
    pub fn centre(&self, r: usize) -> Vec<f32> {
        let g = &self.goals[self.rows[r].task];
        match (&g.feasible.ball, &g.start) {
            (Some(b), _) => b.center.clone(),
            (None, Start::Given(s)) => s.clone(),
            (None, Start::Random) => g
                .feasible
                .lower
                .iter()
                .zip(&g.feasible.upper)
                .map(|(l, u)| if l.is_finite() && u.is_finite() { l + (u - l) / 2.0 } else { 0.0f32.clamp(*l, *u) })
                .collect(),
        }
    }

    /// Row `r`'s score (lower is better: the classification margin) for
    /// the true output `y`.
    pub fn score(&self, r: usize, y: ArrayView1<f32>) -> f64 {
        let goal = &self.goals[self.rows[r].task];
        let a = goal.assess(y.as_slice().unwrap_or(&y.to_vec()));
        if a.score.is_nan() {
            f64::INFINITY
        } else {
            a.score
        }
    }

    /// The true gradient of `objective` (with `params`, one slice per row of
    /// the batch) at rows `active` of `x`, as one call of those rows only;
    /// judges the points. Results are in the order of `active`.
    pub fn gradient_rows(
        &mut self,
        objective: Objective,
        params: &[ArrayD<f32>],
        x: &Array2<f32>,
        active: &[usize],
        iteration: usize,
    ) -> Result<GradientResult> {
        let xs = x.select(Axis(0), active);
        let free = self.free.select(Axis(0), active);
        let p: Vec<ArrayD<f32>> = params.iter().map(|a| a.select(Axis(0), active)).collect();
        let r = self.engine.gradient(objective, &xs, &free, &p)?;
        let rows: Vec<Row> = active.iter().map(|&i| self.rows[i]).collect();
        self.tracker.observe(self.goals, &rows, iteration, &xs, &r.truth, None);
        Ok(r)
    }

    /// The true network at rows `active` of `x`, as one call of those rows
    /// only; judges the points. Results are in the order of `active`.
    pub fn eval_rows(&mut self, x: &Array2<f32>, active: &[usize], iteration: usize) -> Result<Truth> {
        let xs = x.select(Axis(0), active);
        let t = self.engine.eval(&xs)?;
        let rows: Vec<Row> = active.iter().map(|&i| self.rows[i]).collect();
        self.tracker.observe(self.goals, &rows, iteration, &xs, &t, None);
        Ok(t)
    }
}

/// Why a search should stop now, if it should: every goal achieved (when
/// it stops on that), or the deadline passed.
fn stop_reason(settings: &Settings, tracker: &Tracker, deadline: Option<Instant>) -> Option<StopReason> {
    if settings.stop_when_achieved && tracker.all_achieved() {
        return Some(StopReason::Achieved);
    }
    if crate::interrupt::passed(deadline) {
        return Some(StopReason::Timeout);
    }
    None
}

/// One stage of a run: a method with its loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Adr,
    Gd,
    Pgd,
    Apgd(Loss),
    ApgdT,
    Square,
    Adam,
}

impl Stage {
    /// The stage's name in reports (`found_by`, phases).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Adr => "adr",
            Stage::Gd => "gd",
            Stage::Pgd => "pgd",
            Stage::Apgd(Loss::Ce) => "apgd-ce",
            Stage::Apgd(Loss::Dlr) => "apgd-dlr",
            Stage::Apgd(Loss::Margin) => "apgd-margin",
            Stage::ApgdT => "apgd-t",
            Stage::Square => "square",
            Stage::Adam => "adam",
        }
    }

    /// The seed of the stage's random streams: the run's seed for the
    /// paper's methods, mixed with the stage's name for the others.
    fn seed(self, seed: u64) -> u64 {
        match self {
            Stage::Adr | Stage::Gd | Stage::Pgd => seed,
            _ => self.name().bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)),
        }
    }

    /// Whether the stage needs classification goals.
    fn classification_only(self) -> bool {
        matches!(self, Stage::ApgdT | Stage::Square)
    }

    /// The stages `settings.algorithm` runs on `goals`, in order, and the
    /// stages left out: on a network without ReLU (`relu` false) `auto`
    /// runs without its ADR stage.
    pub fn plan_for(settings: &Settings, goals: &[Goal], relu: bool) -> (Vec<Stage>, Vec<LeftOut>) {
        let mut plan = Self::plan(settings, goals);
        let mut left_out = Vec::new();
        if !relu && settings.algorithm == Algorithm::Auto && plan.contains(&Stage::Adr) {
            plan.retain(|s| *s != Stage::Adr);
            left_out.push(LeftOut { stage: Stage::Adr.name(), reason: NO_RELU_LEFT_OUT });
        }
        (plan, left_out)
    }

    /// The stages `settings.algorithm` runs on `goals`, in order.
    pub fn plan(settings: &Settings, goals: &[Goal]) -> Vec<Stage> {
        let classification = all_classification(goals);
        match settings.algorithm {
            Algorithm::Adr => vec![Stage::Adr],
            Algorithm::Gd => vec![Stage::Gd],
            Algorithm::Pgd => vec![Stage::Pgd],
            Algorithm::Apgd => vec![Stage::Apgd(settings.loss)],
            Algorithm::ApgdT => vec![Stage::ApgdT],
            Algorithm::Square => vec![Stage::Square],
            Algorithm::Adam => vec![Stage::Adam],
            Algorithm::Auto if !classification => vec![Stage::Pgd, Stage::Adr],
            Algorithm::Auto => {
                let mut plan = vec![Stage::Apgd(Loss::Ce)];
                if settings.preset == Preset::Fast {
                    return plan;
                }
                if settings.preset == Preset::Strong {
                    plan.push(Stage::Apgd(Loss::Dlr));
                }
                plan.push(Stage::ApgdT);
                plan.push(Stage::Square);
                plan.push(Stage::Adr);
                plan
            }
        }
    }
}

/// Start points: restart 0 at the goal's start (unless `all_random` or the
/// goal asks for a random start), the others random in the feasible set.
/// A given start off the goal's ball centre is a warm start (an audit's
/// bisection): restart 0 starts there even when `all_random`.
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
        let warm = matches!((&g.start, &g.feasible.ball), (Start::Given(s), Some(b)) if *s != b.center);
        let point = match (&g.start, row.restart, all_random && !warm) {
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
/// `settings.restarts` starts: in one batch, or, beyond the engine's
/// [`Engine::max_rows`], in waves of that many rows (restart-major), each
/// stage running its waves in turn. One wave gives exactly the one-batch
/// search; with several, the tracker still keeps each goal's best over all
/// of them, and a later stage starts from it.
pub fn optimise(
    engine: &mut Engine,
    goals: &[Goal],
    settings: &Settings,
    progress: &mut dyn Progress,
    deadline: Option<Instant>,
) -> Result<Outcome> {
    let started = Instant::now();
    if settings.algorithm == Algorithm::Adr {
        engine.model.require_relu()?;
    }
    let (plan, left_out) = Stage::plan_for(settings, goals, engine.has_relu());
    if let Some(stage) = plan.iter().find(|s| s.classification_only()) {
        if !all_classification(goals) {
            return Err(Error::ClassificationOnly { method: stage.name() });
        }
    }
    let restarts = settings.restarts.max(1);
    let total = goals.len().saturating_mul(restarts);
    let wave = engine.max_rows().clamp(1, total.max(1));
    let waves: Vec<std::ops::Range<usize>> = (0..total).step_by(wave).map(|s| s..(s + wave).min(total)).collect();
    // Restart-major: a wave holds every goal's next restarts.
    let wave_rows = |w: &std::ops::Range<usize>| -> Vec<Row> {
        w.clone().map(|f| Row { task: f % goals.len(), restart: f / goals.len() }).collect()
    };
    let stop_now = |tracker: &Tracker| stop_reason(settings, tracker, deadline).is_some();
    let mut tracker = Tracker::new(goals.len());
    // The given starts are judged first: the report's initial objective,
    // and a feasible candidate whatever the method.
    // (Every restart of a goal starts there: its first one stands for all.)
    if goals.iter().all(|g| matches!(g.start, Start::Given(_))) {
        let firsts: Vec<Row> = (0..goals.len()).map(|task| Row { task, restart: 0 }).collect();
        for rows in firsts.chunks(wave) {
            let x0 = given_starts(goals, rows);
            let truth = engine.eval(&x0)?;
            tracker.observe(goals, rows, 0, &x0, &truth, None);
        }
        tracker.trace.clear();
    }
    let mut phases = Vec::new();
    let mut adr_stats = None;
    let mut stopped = StopReason::Iterations;
    for (i, &stage) in plan.iter().enumerate() {
        if i > 0 && stop_now(&tracker) {
            break;
        }
        let t = Instant::now();
        tracker.phase = stage.name();
        let offset = tracker.offset;
        let mut longest = 0;
        for (k, w) in waves.iter().enumerate() {
            if k > 0 && stop_now(&tracker) {
                break;
            }
            tracker.offset = offset;
            // Goals achieved in an earlier wave do not search again.
            let rows: Vec<Row> = wave_rows(w)
                .into_iter()
                .filter(|r| k == 0 || !(settings.stop_when_achieved && tracker.achieved(r.task)))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut ctx = Ctx::for_stage(engine, goals, &rows, settings, stage, &mut tracker, progress, deadline)?;
            let (iterations, stop, stats) = run_stage(&mut ctx, stage, i > 0)?;
            longest = longest.max(iterations);
            stopped = stop;
            if stats.is_some() {
                adr_stats = stats;
            }
        }
        tracker.offset = offset + longest;
        let seconds = t.elapsed().as_secs_f64();
        *engine.stage_seconds.entry(stage.name()).or_default() += seconds;
        phases.push(Phase {
            method: stage.name(),
            iterations: longest,
            seconds,
            achieved: (0..goals.len()).filter(|&t| tracker.achieved(t)).count(),
            best_objective: tracker.best.first().and_then(Option::as_ref).map(|b| b.assessment.objective),
        });
    }
    let normaliser_loading = adr_stats.as_ref().map_or(0.0, |s: &AdrStats| s.normalisers.load_seconds);
    let load_seconds = engine.load_seconds + normaliser_loading;
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
        left_out,
        stopped,
        iterations,
        adr: adr_stats,
        seconds: started.elapsed().as_secs_f64(),
        load_seconds,
    })
}

/// Runs one stage on the rows still searching; `after` says whether an
/// earlier stage ran (ADR then starts each goal's first restart at the best
/// point found so far).
fn run_stage(ctx: &mut Ctx, stage: Stage, after: bool) -> Result<(usize, StopReason, Option<AdrStats>)> {
    let (goals, rows) = (ctx.goals, ctx.rows);
    match stage {
        Stage::Adr => {
            let mut x = starts(goals, rows, &mut ctx.rngs, !after && ctx.settings.random_start);
            if after {
                for (r, row) in rows.iter().enumerate() {
                    if let (0, Some(b)) = (row.restart, &ctx.tracker.best[row.task]) {
                        x.row_mut(r).assign(&ndarray::Array1::from(b.x.clone()));
                    }
                }
            }
            let (it, stop, stats) = adr::run(ctx, x)?;
            Ok((it, stop, Some(stats)))
        }
        Stage::Gd => {
            let x = starts(goals, rows, &mut ctx.rngs, ctx.settings.random_start);
            let (it, stop) = gd::run(ctx, x)?;
            Ok((it, stop, None))
        }
        Stage::Pgd => {
            let x = starts(goals, rows, &mut ctx.rngs, true);
            let (it, stop) = pgd::run(ctx, x)?;
            Ok((it, stop, None))
        }
        Stage::Apgd(loss) => {
            let x = starts(goals, rows, &mut ctx.rngs, true);
            let m = ctx.engine.model.graph.value(ctx.engine.target).size();
            let objective = goals[0].objective_with(Algorithm::Apgd, false, loss, m);
            let params = ctx.params.clone();
            let (it, stop) = apgd::run(ctx, x, &apgd::Loss { objective, params: &params }, ctx.settings.apgd_steps)?;
            Ok((it, stop, None))
        }
        Stage::ApgdT => {
            let (it, stop) = apgd_targeted(ctx)?;
            Ok((it, stop, None))
        }
        Stage::Square => {
            let (it, stop) = square::run(ctx, ctx.settings.square_queries)?;
            Ok((it, stop, None))
        }
        Stage::Adam => {
            let x = starts(goals, rows, &mut ctx.rngs, true);
            let (it, stop) = adam::run(ctx, x, ctx.settings.adam_steps)?;
            Ok((it, stop, None))
        }
    }
}

/// Whether every goal is a classification goal.
fn all_classification(goals: &[Goal]) -> bool {
    goals.iter().all(|g| matches!(g.criterion, Criterion::Class { .. }))
}

/// APGD-T: APGD on the targeted DLR loss toward each of the
/// `apgd_targets` most likely wrong classes at the centre, one after the
/// other, on the rows still searching (a targeted goal: toward its target,
/// once). With fewer than four classes, APGD on the margin.
fn apgd_targeted(ctx: &mut Ctx) -> Result<(usize, StopReason)> {
    let m = ctx.engine.model.graph.value(ctx.engine.target).size();
    let steps = ctx.settings.apgd_steps;
    let targeted_goals = ctx.goals.iter().all(|g| matches!(g.criterion, Criterion::Class { target: Some(_), .. }));
    if m < crate::objective::DLR_TARGETED_CLASSES {
        let x = starts(ctx.goals, ctx.rows, &mut ctx.rngs, true);
        let params = ctx.params.clone();
        return apgd::run(ctx, x, &apgd::Loss { objective: Objective::Margin, params: &params }, steps);
    }
    let targets = if targeted_goals { 1 } else { ctx.settings.apgd_targets.min(m - 1) };
    // The classes ranked at each row's centre, the label excluded.
    let all: Vec<usize> = (0..ctx.rows.len()).collect();
    let centres =
        Array2::from_shape_vec((all.len(), ctx.free.ncols()), all.iter().flat_map(|&r| ctx.centre(r)).collect())
            .map_err(|e| Error::internal(format!("centres: {e}")))?;
    let clean = ctx.engine.eval(&centres)?;
    let ranked: Vec<Vec<usize>> = (0..ctx.rows.len())
        .map(|r| {
            let label = match ctx.goals[ctx.rows[r].task].criterion {
                Criterion::Class { label, .. } => label,
                _ => 0,
            };
            wrong_classes_by_likelihood(&clean.y.row(r).to_vec(), label)
        })
        .collect();
    let mut done = 0;
    let mut stop = StopReason::Iterations;
    for k in 0..targets {
        if ctx.should_stop().is_some() {
            break;
        }
        let per_row: Vec<Vec<ArrayD<f32>>> = ranked
            .iter()
            .enumerate()
            .map(|(r, order)| ctx.goals[ctx.rows[r].task].targeted_dlr_params(m, order[k.min(order.len() - 1)]))
            .collect();
        let params = stack_params(&per_row)?;
        let x = starts(ctx.goals, ctx.rows, &mut ctx.rngs, true);
        let loss = apgd::Loss { objective: Objective::Dlr { targeted: true }, params: &params };
        let saved = ctx.tracker.offset;
        ctx.tracker.offset = saved + done;
        let (it, s) = apgd::run(ctx, x, &loss, steps)?;
        ctx.tracker.offset = saved;
        done += it;
        stop = s;
    }
    Ok((done, stop))
}

/// The classes other than `label`, most likely first by the outputs `y`
/// (ties: the lower class first).
pub fn wrong_classes_by_likelihood(y: &[f32], label: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..y.len()).filter(|&c| c != label).collect();
    order.sort_by(|&a, &b| y[b].partial_cmp(&y[a]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b)));
    order
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
