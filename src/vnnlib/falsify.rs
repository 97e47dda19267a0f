//! Falsification of a VNN-LIB property: every disjunct of the unsafe set
//! whose box holds a float32 input becomes a goal (its float32 box, and the
//! largest violation margin of its output constraints to push below zero);
//! goals run in batches of disjuncts that share settings resolved from
//! their own boxes, in rounds of restarts until a counterexample is found
//! or the time is up. A counterexample is reported only after the ORIGINAL
//! model file, run by tract's own importer and by ONNX Runtime when
//! available, shows an input inside the box as written whose float32
//! outputs violate the property exactly (`exact`).

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::exact::{self, Bound};
use super::parse::{InputBox, Property};
use super::sample;
use crate::error::{Error, Result};
use crate::goal::feasible::FeasibleSet;
use crate::goal::schema::MethodBlock;
use crate::goal::{Criterion, Goal, GoalKind, Start};
use crate::memory::{self, Estimate, MemoryLimit, Workload};
use crate::onnx::ImportedModel;
use crate::optim::engine::Engine;
use crate::optim::{optimise, LeftOut, Progress, Settings, Stage};
use crate::runtime::select::Runtime;
use crate::runtime::Backend;

/// The verdict a falsifier may give: it never claims `unsat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Sat,
    Timeout,
    Unknown,
}

/// One independent re-evaluation of a counterexample.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub runtime: String,
    pub outputs: Vec<f64>,
    /// Largest constraint margin of the disjunct there, in f64 (<= 0, or
    /// < 0 for a strict constraint: satisfied); the decision itself is exact.
    pub margin: f64,
    /// Whether the input lies in the box and every constraint holds exactly.
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub disjunct: usize,
    /// The pass that found it: `sample` (`auto`'s random sampling pass),
    /// `start` (the box centre) or the optimiser's stage (`adam`, `pgd`,
    /// `adr`, ...).
    pub found_by: &'static str,
    /// The float32 input as f64: each value lies in the box as written.
    pub input: Vec<f64>,
    /// The outputs printed with it: the last confirming runtime's.
    pub output: Vec<f64>,
    pub confirmations: Vec<Confirmation>,
}

/// A disjunct whose box holds no float32 input: it cannot be searched,
/// and no counterexample of it can be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoF32Point {
    pub disjunct: usize,
    /// The first input whose interval holds no float32 value.
    pub input: usize,
    pub lower: f64,
    pub upper: f64,
}

impl fmt::Display for NoF32Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "disjunct {}: no float32 value of X_{} lies in [{}, {}]",
            self.disjunct,
            self.input,
            exact::decimal(self.lower),
            exact::decimal(self.upper)
        )
    }
}

/// The settings one group of disjuncts ran with (resolved from each
/// disjunct's own box; disjuncts with equal settings share a group).
#[derive(Debug, Clone, Serialize)]
pub struct SettingsGroup {
    pub disjuncts: Vec<usize>,
    pub settings: Settings,
    /// Restarts per disjunct of the Adam pass of each round of
    /// `auto` (absent for other methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adam_restarts: Option<usize>,
    /// Points per disjunct of the random sampling pass that opens each
    /// round of `auto` (absent for other methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FalsifyOutcome {
    pub verdict: Verdict,
    /// Why there is no counterexample, for `timeout` and `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds the search ran: to the counterexample for `sat`.
    pub seconds: f64,
    pub rounds: usize,
    pub disjuncts: usize,
    /// Best (lowest) largest margin reached per disjunct (infinite where
    /// the disjunct was never searched).
    pub best_margins: Vec<f64>,
    /// Candidates the search found but the original file did not confirm
    /// exactly (never printed as sat).
    pub unconfirmed: usize,
    /// Disjuncts left out because their box holds no float32 input.
    pub disjuncts_without_f32_point: Vec<NoF32Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    pub settings: Vec<SettingsGroup>,
    /// Stages of the method that did not run, and why (`auto`'s ADR stage
    /// on a network without ReLU).
    pub left_out: Vec<LeftOut>,
}

pub struct FalsifyConfig {
    pub timeout: Duration,
    /// Rounds of restarts at most (`None`: until the timeout).
    pub max_rounds: Option<usize>,
    pub method: MethodBlock,
    /// The memory the search may use, checked before any graph is built.
    pub memory: MemoryLimit,
    /// The runtime of the search backend, for the memory estimate.
    pub runtime: Runtime,
}

/// A disjunct's float32 box: per input, the smallest and largest float32
/// inside the box as written, or the first input without one.
pub fn f32_box(k: usize, input: &InputBox) -> std::result::Result<(Vec<f32>, Vec<f32>), NoF32Point> {
    (0..input.lower.len())
        .map(|i| {
            let no_point = || NoF32Point {
                disjunct: k,
                input: i,
                lower: input.lower.get(i).copied().unwrap_or(f64::NAN),
                upper: input.upper.get(i).copied().unwrap_or(f64::NAN),
            };
            let (lo, hi) = input.bounds(i).ok_or_else(no_point)?;
            exact::f32_interval(lo, hi).ok_or_else(no_point)
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(|v| v.into_iter().unzip())
}

/// The f32 constant `b` of a goal row for the property's `c` (`strict`:
/// `< 0`): the smallest float32 at least `c` (above `c` when strict), so
/// that a margin at most 0 in the goal's own arithmetic aims at the
/// property's, strictly where it is strict; `f32::MAX` beyond the range.
fn goal_constant(c: f64, strict: bool) -> f32 {
    exact::smallest_f32_admitted(Bound { value: c, strict }).unwrap_or(f32::MAX)
}

/// The goals of a property: one per disjunct with a float32 point.
#[derive(Debug)]
pub struct PropertyGoals {
    pub goals: Vec<Goal>,
    /// `disjuncts[g]`: the disjunct goal `g` searches.
    pub disjuncts: Vec<usize>,
    pub without_f32_point: Vec<NoF32Point>,
}

/// Refuses a model whose input declares a fixed first dimension above 1:
/// VNN-LIB numbers every value of the input tensor as the file declares
/// it, where adr-onnx reads the first axis as a batch of independent
/// samples and searches one of them (a property over one row would be
/// answered for a tensor the file cannot take).
fn refuse_fixed_batches(model: &ImportedModel) -> Result<()> {
    if !model.batched || model.import_batch <= 1 {
        return Ok(());
    }
    let input =
        model.inputs.iter().find(|i| i.shape.first().and_then(|d| d.parse::<usize>().ok()).is_some_and(|d| d > 1));
    let (name, shape) = input.map_or_else(|| (String::new(), String::new()), |i| (i.name.clone(), i.shape.join(", ")));
    Err(Error::Model {
        path: model.path.clone(),
        message: format!(
            "input '{}' [{shape}] has a fixed first dimension of {}: VNN-LIB numbers every value of the input \
             tensor, and adr-onnx reads the first axis as a batch of independent samples; falsify needs a first \
             dimension of 1 or a symbolic one",
            crate::error::clip(&name),
            model.import_batch
        ),
    })
}

/// One goal per disjunct whose box holds a float32 point; constraint rows
/// padded to the largest count with rows that never bind.
pub fn goals_for(property: &Property, model: &ImportedModel, file: &Path) -> Result<PropertyGoals> {
    if property.disjuncts.is_empty() {
        return Err(Error::EmptyProperty { file: file.to_path_buf() });
    }
    refuse_fixed_batches(model)?;
    let n = model.graph.input_size();
    let target = model.default_objective().ok_or(Error::NoDifferentiableOutput)?;
    // A checker reads the model's first output: Y must be that one.
    if let Some(first) = model.outputs.first().filter(|first| first.name != target.name) {
        return Err(Error::FirstOutputNotSearchable {
            model: model.path.clone(),
            first: first.name.clone(),
            searchable: target.name.clone(),
        });
    }
    let m = model.graph.value(target.value).size();
    if property.num_inputs != n {
        return Err(Error::PropertyInputs { file: file.to_path_buf(), declared: property.num_inputs, model: n });
    }
    if property.num_outputs != m {
        return Err(Error::PropertyOutputs {
            file: file.to_path_buf(),
            declared: property.num_outputs,
            output: target.name.clone(),
            model: m,
        });
    }
    let rows = property.disjuncts.iter().map(|d| d.output.len()).max().unwrap_or(0).max(1);
    let mut out = PropertyGoals { goals: Vec::new(), disjuncts: Vec::new(), without_f32_point: Vec::new() };
    for (k, d) in property.disjuncts.iter().enumerate() {
        let (lower, upper) = match f32_box(k, &d.input) {
            Ok(b) => b,
            Err(none) => {
                out.without_f32_point.push(none);
                continue;
            }
        };
        let start: Vec<f32> = lower
            .iter()
            .zip(&upper)
            .map(|(&l, &h)| (((f64::from(l) + f64::from(h)) / 2.0) as f32).clamp(l, h))
            .collect();
        // Padding rows never bind; a disjunct without output constraints
        // (every input of its box is unsafe) has margin -1 everywhere.
        let mut a = vec![0.0f32; rows * m];
        let mut b = vec![if d.output.is_empty() { -1.0f32 } else { -1e30 }; rows];
        for (r, c) in d.output.iter().enumerate() {
            for (j, &v) in c.coeffs.iter().enumerate() {
                a[r * m + j] = v as f32;
            }
            b[r] = goal_constant(c.constant, c.strict);
        }
        out.goals.push(Goal {
            file: file.to_path_buf(),
            echo: serde_json::json!({ "disjunct": k }),
            kind: GoalKind::Property,
            target: target.value,
            output: target.value,
            output_name: target.name.clone(),
            start: Start::Given(start),
            feasible: FeasibleSet { lower, upper, ball: None },
            criterion: Criterion::Constraints { a, b, rows },
            method: MethodBlock::default(),
            stream: k as u64,
        });
        out.disjuncts.push(k);
    }
    Ok(out)
}

/// Runs the original model file on one input: by tract's own importer, and
/// by `ort` when given. Returns (runtime, outputs) pairs.
pub type OriginalRunner<'a> = &'a dyn Fn(&[f32]) -> Result<Vec<(String, Vec<f64>)>>;

/// Goals run together: at most [`DISJUNCTS_PER_BATCH`] goals of one
/// settings group.
struct Batch<'a> {
    /// Indices into the property's goals.
    members: Vec<usize>,
    goals: Vec<Goal>,
    /// Points per goal of `auto`'s random sampling pass (0: none).
    samples: usize,
    /// The passes of a round after the sample, in order: `auto`'s Adam
    /// pass, then the method.
    passes: Vec<Settings>,
    engine: Engine<'a>,
}

/// Rows times parameters an Adam pass may hold: about 16 M multiply-adds
/// per forward pass, which keeps a pass of 100 steps near a second on one
/// core (ACAS Xu: 1,024 restarts a disjunct).
const ADAM_ROW_PARAMETERS: usize = 1 << 24;
const ADAM_RESTARTS: std::ops::RangeInclusive<usize> = 8..=1024;

/// Restarts per disjunct of `auto`'s Adam pass on `goals` disjuncts of
/// `model`: many for a small network, as verifiers' attack stages run
/// (alpha-beta-CROWN runs 10,000 on ACAS Xu), fewer for a large one; a
/// power of two.
fn adam_restarts(model: &ImportedModel, goals: usize) -> usize {
    let parameters: usize = model.graph.nodes().iter().map(|n| n.op.parameter_count()).sum();
    let fit = ADAM_ROW_PARAMETERS / parameters.max(1).saturating_mul(goals.max(1));
    let restarts = fit.clamp(*ADAM_RESTARTS.start(), *ADAM_RESTARTS.end());
    1 << restarts.ilog2()
}

/// Mixed into the seed of a round's second Adam pass, so that its starts
/// differ from the first's.
const SECOND_ADAM_STREAM: u64 = 0x4144_414d_0002;

/// The passes of one round of a batch of `goals` disjuncts: `auto` opens
/// each round with two Adam passes of many restarts (the falsifiers'
/// attack stage), each with its own starts, before its own stages (PGD,
/// then ADR). One pass in ten misses ACAS Xu 1_3 or 1_5 prop_2; a second
/// pass costs a pass, where PGD and ADR before the next round cost a
/// second or more (docs/results.md, 5c).
fn passes(model: &ImportedModel, settings: &Settings, goals: usize) -> Vec<Settings> {
    if settings.algorithm != crate::goal::schema::Algorithm::Auto {
        return vec![settings.clone()];
    }
    let adam = settings.with_algorithm(crate::goal::schema::Algorithm::Adam).with_restarts(adam_restarts(model, goals));
    let second = adam.with_seed(adam.seed ^ SECOND_ADAM_STREAM);
    vec![adam, second, settings.clone()]
}

/// Points per disjunct of the random sampling pass that opens each round
/// of `auto` (none for other methods).
fn samples(model: &ImportedModel, settings: &Settings, goals: usize) -> usize {
    match settings.algorithm {
        crate::goal::schema::Algorithm::Auto => adam_restarts(model, goals) * sample::SAMPLES_PER_ADAM_RESTART,
        _ => 0,
    }
}

/// Refuses a search whose batches, all held at once, would need more than
/// `config.memory`.
fn check_memory(
    model: &ImportedModel,
    goals: &[Goal],
    groups: &[(Settings, Vec<usize>)],
    config: &FalsifyConfig,
) -> Result<()> {
    let mut total: Option<Estimate> = None;
    for (settings, members) in groups {
        for chunk in members.chunks(DISJUNCTS_PER_BATCH) {
            let batch: Vec<Goal> = chunk.iter().map(|&g| goals[g].clone()).collect();
            let goals_flag = (batch.len(), Some("the disjuncts (64 a batch)"));
            let group = members.len().min(DISJUNCTS_PER_BATCH);
            let rows = passes(model, settings, group).iter().map(|p| p.restarts).max().unwrap_or(1);
            let largest = settings.with_restarts(rows);
            let e = memory::estimate(&Workload::of(&model.graph, config.runtime, &largest, &batch, goals_flag));
            total = Some(match total {
                None => e,
                Some(t) if e.bytes > t.bytes => Estimate { bytes: e.bytes.saturating_add(t.bytes), ..e },
                Some(t) => Estimate { bytes: t.bytes.saturating_add(e.bytes), ..t },
            });
        }
    }
    match total {
        Some(e) => config.memory.check("falsify", &e),
        None => Ok(()),
    }
}

pub fn falsify(
    model: &ImportedModel,
    property: &Property,
    file: &Path,
    backend: &dyn Backend,
    config: &FalsifyConfig,
    confirm: OriginalRunner,
    progress: &mut dyn Progress,
) -> Result<FalsifyOutcome> {
    let started = Instant::now();
    let deadline = started.checked_add(config.timeout);
    let planned = goals_for(property, model, file)?;
    let base = MethodBlock {
        algorithm: config.method.algorithm.or(Some(crate::goal::schema::Algorithm::Auto)),
        restarts: config.method.restarts.or(Some(8)),
        iterations: config.method.iterations.or(Some(300)),
        pgd_steps: config.method.pgd_steps.or(Some(300)),
        // A disjunct's search ends at its first counterexample, whatever
        // the flags say (a property goal always has its threshold).
        stop_when_achieved: Some(true),
        ..config.method.clone()
    };
    // Each goal's settings come from its own box (the PGD step follows
    // the box's radius); goals with equal settings form one group.
    let mut groups: Vec<(Settings, Vec<usize>)> = Vec::new();
    for (g, goal) in planned.goals.iter().enumerate() {
        let settings = crate::front::settings(model, goal, &base)
            .map_err(|e| Error::DisjunctSettings { disjunct: planned.disjuncts[g], message: e.to_string() })?;
        match groups.iter_mut().find(|(s, _)| *s == settings) {
            Some((_, members)) => members.push(g),
            None => groups.push((settings, vec![g])),
        }
    }
    check_memory(model, &planned.goals, &groups, config)?;
    let mut batches: Vec<Batch> = Vec::new();
    for (settings, members) in &groups {
        for chunk in members.chunks(DISJUNCTS_PER_BATCH) {
            let goals: Vec<Goal> = chunk.iter().map(|&g| planned.goals[g].clone()).collect();
            let Some(first) = goals.first() else { continue };
            // Every batch of a group gets the Adam restarts of its first.
            let group = members.len().min(DISJUNCTS_PER_BATCH);
            let passes = passes(model, settings, group);
            let rows = passes.iter().map(|p| p.restarts).max().unwrap_or(1);
            let engine = crate::front::engine(model, backend, first, settings, goals.len() * rows);
            let samples = samples(model, settings, group);
            batches.push(Batch { members: chunk.to_vec(), goals, samples, passes, engine });
        }
    }
    let settings_report: Vec<SettingsGroup> = groups
        .iter()
        .map(|(settings, members)| SettingsGroup {
            disjuncts: members.iter().map(|&g| planned.disjuncts[g]).collect(),
            settings: settings.clone(),
            adam_restarts: (settings.algorithm == crate::goal::schema::Algorithm::Auto)
                .then(|| adam_restarts(model, members.len().min(DISJUNCTS_PER_BATCH))),
            samples: Some(samples(model, settings, members.len().min(DISJUNCTS_PER_BATCH))).filter(|&n| n > 0),
        })
        .collect();
    let mut search = Search {
        best_margins: vec![f64::INFINITY; property.disjuncts.len()],
        unconfirmed: 0,
        rounds: 0,
        without_f32_point: planned.without_f32_point.clone(),
        settings: settings_report,
        left_out: Vec::new(),
        started,
    };
    // The stages left out are known before any runs (a pass that finds a
    // counterexample ends the search before the next one's plan is made).
    for batch in &batches {
        for pass in &batch.passes {
            search.note_left_out(Stage::plan_for(pass, &batch.goals, batch.engine.has_relu()).1);
        }
    }
    if batches.is_empty() {
        let reason = format!(
            "no disjunct's box holds a float32 input, so no counterexample can be written ({})",
            describe(&planned.without_f32_point)
        );
        return Ok(search.finish(Verdict::Unknown, Some(reason), None));
    }
    loop {
        // Every batch's sample before any batch's passes: with many
        // disjuncts, a counterexample that sampling finds in a late batch
        // is not kept waiting behind the passes of all the earlier ones.
        for batch in batches.iter_mut() {
            let seed = base_seed(batch);
            if let Some(counterexample) = search.sample(batch, seed, &planned, property, confirm, deadline)? {
                search.rounds += 1;
                return Ok(search.finish(Verdict::Sat, None, Some(counterexample)));
            }
        }
        for batch in batches.iter_mut() {
            for pass in &batch.passes {
                if crate::interrupt::passed(deadline) {
                    break;
                }
                let settings = pass.with_seed(pass.seed.wrapping_add(search.rounds as u64));
                let outcome = optimise(&mut batch.engine, &batch.goals, &settings, progress, deadline)?;
                if let Some(counterexample) =
                    search.judge(outcome, &batch.members, &batch.goals, &planned, property, confirm)?
                {
                    search.rounds += 1;
                    return Ok(search.finish(Verdict::Sat, None, Some(counterexample)));
                }
            }
        }
        search.rounds += 1;
        let timed_out = crate::interrupt::passed(deadline);
        if timed_out || config.max_rounds.is_some_and(|r| search.rounds >= r) {
            let (verdict, what) = if timed_out {
                (Verdict::Timeout, format!("the timeout passed after {} rounds", search.rounds))
            } else {
                (Verdict::Unknown, format!("{} rounds ran", search.rounds))
            };
            let mut reason = format!("no counterexample confirmed: {what}");
            if search.unconfirmed > 0 {
                reason += &format!(", {} candidates were not confirmed exactly", search.unconfirmed);
            }
            if !search.without_f32_point.is_empty() {
                reason += &format!("; not searched: {}", describe(&search.without_f32_point));
            }
            return Ok(search.finish(verdict, Some(reason), None));
        }
    }
}

/// The run's seed (`--seed`), which the first pass of a batch carries
/// (each round adds its number to it).
fn base_seed(batch: &Batch) -> u64 {
    batch.passes.first().map_or(0, |p| p.seed)
}

/// The disjuncts without a float32 point, in one line (the first few).
fn describe(none: &[NoF32Point]) -> String {
    let shown: Vec<String> = none.iter().take(3).map(ToString::to_string).collect();
    match none.len() {
        n if n > shown.len() => format!("{} and {} more disjuncts", shown.join("; "), n - shown.len()),
        _ => shown.join("; "),
    }
}

/// Goals per batch of a round: bounds memory for properties with many disjuncts.
const DISJUNCTS_PER_BATCH: usize = 64;

/// A point a pass found for disjunct `disjunct` (searched as `goal`),
/// judged on the true network.
struct Candidate<'a> {
    disjunct: usize,
    goal: &'a Goal,
    x: &'a [f32],
    assessment: crate::goal::Assessment,
    /// The pass that found it (the counterexample's `found_by`).
    found_by: &'static str,
}

/// What a search has gathered so far.
struct Search {
    best_margins: Vec<f64>,
    unconfirmed: usize,
    rounds: usize,
    without_f32_point: Vec<NoF32Point>,
    settings: Vec<SettingsGroup>,
    left_out: Vec<LeftOut>,
    started: Instant,
}

impl Search {
    fn note_left_out(&mut self, left_out: Vec<LeftOut>) {
        for l in left_out {
            if !self.left_out.contains(&l) {
                self.left_out.push(l);
            }
        }
    }

    /// Records a pass's outcome on a batch (its `members`, searched as
    /// `goals`): the best margins, the stages left out, and the first
    /// candidate that the original file confirms. Candidates are judged also once the deadline has passed: there is at
    /// most one per disjunct of the batch, and a pass that the deadline cut
    /// short may have found its counterexample early on. A stop request
    /// (Ctrl-C in the Python package, whose call then drops the result)
    /// ends the judging at once.
    fn judge(
        &mut self,
        outcome: crate::optim::Outcome,
        members: &[usize],
        goals: &[Goal],
        planned: &PropertyGoals,
        property: &Property,
        confirm: OriginalRunner,
    ) -> Result<Option<Counterexample>> {
        self.note_left_out(outcome.left_out);
        for (i, best) in outcome.best.iter().enumerate() {
            if crate::interrupt::requested() {
                break;
            }
            let (Some(&g), Some(goal)) = (members.get(i), goals.get(i)) else { continue };
            let k = planned.disjuncts[g];
            let candidate =
                Candidate { disjunct: k, goal, x: &best.x, assessment: best.assessment, found_by: best.phase };
            if let Some(c) = self.judge_point(property, candidate, confirm)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Records a candidate: its disjunct's margin, and, when it satisfies
    /// its goal, the counterexample the original file confirms or one more
    /// unconfirmed.
    fn judge_point(
        &mut self,
        property: &Property,
        candidate: Candidate,
        confirm: OriginalRunner,
    ) -> Result<Option<Counterexample>> {
        let Candidate { disjunct: k, goal, x, assessment, found_by } = candidate;
        if let Some(m) = self.best_margins.get_mut(k) {
            *m = m.min(assessment.score);
        }
        if !assessment.achieved {
            return Ok(None);
        }
        let found = confirmed(property, k, x, &goal.feasible, found_by, confirm)?;
        if found.is_none() {
            self.unconfirmed += 1;
        }
        Ok(found)
    }

    /// `auto`'s random sampling pass of this round on `batch`: its points
    /// judged on the true network in calls of at most the engine's rows,
    /// each goal in turn; the first confirmed counterexample ends it.
    fn sample(
        &mut self,
        batch: &mut Batch,
        seed: u64,
        planned: &PropertyGoals,
        property: &Property,
        confirm: OriginalRunner,
        deadline: Option<Instant>,
    ) -> Result<Option<Counterexample>> {
        let call_rows = batch.engine.batch.max(1);
        for (goal, &g) in batch.goals.iter().zip(&batch.members) {
            let k = planned.disjuncts[g];
            let mut rng = sample::stream(seed, goal.stream, self.rounds);
            let mut left = batch.samples;
            while left > 0 && !crate::interrupt::passed(deadline) {
                let x = sample::points(&goal.feasible, left.min(call_rows), &mut rng);
                left -= x.nrows();
                let truth = batch.engine.eval(&x)?;
                for (x, y) in x.rows().into_iter().zip(truth.y.rows()) {
                    // Each confirmation runs the original model, and a
                    // sample may hold many satisfying points that fail it:
                    // the deadline is checked before every point.
                    if crate::interrupt::passed(deadline) {
                        return Ok(None);
                    }
                    let point = x.to_vec();
                    let assessment = goal.assess(&y.to_vec());
                    let candidate = Candidate { disjunct: k, goal, x: &point, assessment, found_by: "sample" };
                    if let Some(c) = self.judge_point(property, candidate, confirm)? {
                        return Ok(Some(c));
                    }
                }
            }
        }
        Ok(None)
    }

    fn finish(
        self,
        verdict: Verdict,
        reason: Option<String>,
        counterexample: Option<Counterexample>,
    ) -> FalsifyOutcome {
        FalsifyOutcome {
            verdict,
            reason,
            seconds: self.started.elapsed().as_secs_f64(),
            rounds: self.rounds,
            disjuncts: self.best_margins.len(),
            best_margins: self.best_margins,
            unconfirmed: self.unconfirmed,
            disjuncts_without_f32_point: self.without_f32_point,
            counterexample,
            settings: self.settings,
            left_out: self.left_out,
        }
    }
}

/// Re-runs disjunct `k`'s candidate `x` (clamped to the float32 box, which
/// lies inside the box as written) on the original file: a counterexample
/// when the input lies in the box exactly and, for every runtime, every
/// output constraint holds exactly at its float32 outputs (strict ones
/// strictly). No tolerance.
fn confirmed(
    property: &Property,
    k: usize,
    x: &[f32],
    feasible: &FeasibleSet,
    found_by: &'static str,
    confirm: OriginalRunner,
) -> Result<Option<Counterexample>> {
    let Some(d) = property.disjuncts.get(k) else {
        return Ok(None);
    };
    let x: Vec<f32> =
        x.iter().zip(feasible.lower.iter().zip(&feasible.upper)).map(|(&v, (&l, &h))| v.max(l).min(h)).collect();
    let input: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    if !d.input.contains(&input) {
        return Ok(None);
    }
    let confirmations: Vec<Confirmation> = confirm(&x)?
        .into_iter()
        .map(|(runtime, outputs)| Confirmation {
            confirmed: property.violated_by(k, &input, &outputs),
            margin: d.margin(&outputs),
            runtime,
            outputs,
        })
        .collect();
    match confirmations.last() {
        Some(c) if confirmations.iter().all(|c| c.confirmed) => {
            let output = c.outputs.clone();
            Ok(Some(Counterexample { disjunct: k, found_by, input, output, confirmations }))
        }
        _ => Ok(None),
    }
}

/// The result in the VNN-COMP format: `sat` and the assignment (each value
/// the shortest decimal that parses back to it exactly), or the verdict
/// alone.
pub fn vnncomp_text(outcome: &FalsifyOutcome) -> String {
    match (&outcome.verdict, &outcome.counterexample) {
        (Verdict::Sat, Some(c)) => {
            let mut s = String::from("sat\n(");
            let pairs: Vec<String> = c
                .input
                .iter()
                .enumerate()
                .map(|(i, &v)| format!("(X_{i} {})", exact::decimal(v)))
                .chain(c.output.iter().enumerate().map(|(j, &v)| format!("(Y_{j} {})", exact::decimal(v))))
                .collect();
            s.push_str(&pairs.join("\n "));
            s.push_str(")\n");
            s
        }
        (Verdict::Timeout, _) => "timeout\n".into(),
        _ => "unknown\n".into(),
    }
}

/// The VNN-COMP result of a run that failed: `error` and the reason on
/// the next line (one line).
pub fn vnncomp_error_text(reason: &str) -> String {
    let one_line: Vec<&str> = reason.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("error\n{}\n", one_line.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_rounds_run_two_adam_passes_from_different_starts_before_its_own_stages() {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        let model = crate::onnx::import_proto(std::path::Path::new("mlp.onnx"), &zoo.graph.model).unwrap();
        let text = r#"{"kind": "output_bound", "output": 0, "direction": "maximize", "bound": 1.0,
                       "input": {"lower": 0.0, "upper": 1.0}, "method": {"algorithm": "auto"}}"#;
        let goal = crate::goal::parse(std::path::Path::new("g.json"), text, &model).unwrap();
        let auto = crate::front::settings(&model, &goal, &MethodBlock::default()).unwrap();
        let p = passes(&model, &auto, 1);
        let algorithms: Vec<_> = p.iter().map(|s| s.algorithm).collect();
        use crate::goal::schema::Algorithm;
        assert_eq!(algorithms, [Algorithm::Adam, Algorithm::Adam, Algorithm::Auto]);
        assert_eq!((p[0].restarts, p[0].seed), (p[1].restarts, auto.seed));
        assert_ne!(p[1].seed, p[0].seed, "the second pass starts elsewhere");
        let pgd = auto.with_algorithm(Algorithm::Pgd);
        assert_eq!(passes(&model, &pgd, 1).len(), 1, "other methods run alone");
    }

    /// `judge` takes no deadline: a pass's satisfying best points are
    /// confirmed on the original model in turn until one holds, also when
    /// the deadline stopped the pass. The ones that fail are counted, and
    /// every margin is recorded.
    #[test]
    fn a_pass_cut_short_has_its_best_points_confirmed_until_one_holds() {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        let model = crate::onnx::import_proto(std::path::Path::new("mlp.onnx"), &zoo.graph.model).unwrap();
        let mut vnnlib = String::new();
        for j in 0..3 {
            vnnlib.push_str(&format!("(declare-const Y_{j} Real)\n"));
        }
        for i in 0..6 {
            vnnlib.push_str(&format!("(declare-const X_{i} Real)\n(assert (>= X_{i} 0))\n(assert (<= X_{i} 1))\n"));
        }
        vnnlib.push_str("(assert (or (>= Y_0 5) (>= Y_0 1)))\n");
        let property = crate::vnnlib::parse_vnnlib(&vnnlib).unwrap();
        let planned = goals_for(&property, &model, std::path::Path::new("p.vnnlib")).unwrap();
        assert_eq!(planned.disjuncts, [0, 1]);
        let calls = std::cell::Cell::new(0);
        // The original model gives Y_0 = 2 everywhere: disjunct 0
        // (Y_0 >= 5) fails confirmation, disjunct 1 (Y_0 >= 1) holds.
        let y = vec![2.0, 0.0, 0.0];
        let runner = |_: &[f32]| -> Result<Vec<(String, Vec<f64>)>> {
            calls.set(calls.get() + 1);
            Ok(vec![("tract".into(), y.clone())])
        };
        let best = |score: f64| crate::optim::track::Best {
            x: vec![0.5; 6],
            output: vec![2.0, 0.0, 0.0],
            assessment: crate::goal::Assessment { score, objective: 2.0, achieved: true },
            iteration: 3,
            restart: 0,
            phase: "adr",
        };
        let outcome = crate::optim::Outcome {
            best: vec![best(-0.5), best(-1.0)],
            initial: Vec::new(),
            trace: Vec::new(),
            phases: Vec::new(),
            left_out: Vec::new(),
            stopped: crate::optim::StopReason::Timeout,
            iterations: 3,
            adr: None,
            seconds: 1.0,
            load_seconds: 0.0,
        };
        let mut search = Search {
            best_margins: vec![f64::INFINITY; 2],
            unconfirmed: 0,
            rounds: 0,
            without_f32_point: Vec::new(),
            settings: Vec::new(),
            left_out: Vec::new(),
            started: Instant::now(),
        };
        let found = search.judge(outcome, &[0, 1], &planned.goals, &planned, &property, &runner).unwrap();
        let found = found.expect("the second candidate confirms");
        assert_eq!((found.disjunct, found.found_by, found.output), (1, "adr", y));
        assert_eq!((calls.get(), search.unconfirmed), (2, 1));
        assert_eq!(search.best_margins, [-0.5, -1.0]);
    }

    /// Records the phases the search begins.
    struct Phases(Vec<String>);

    impl Progress for Phases {
        fn begin(&mut self, phase: &str, _: usize) {
            self.0.push(phase.to_string());
        }
        fn tick(&mut self, _: usize, _: Option<f64>) {}
        fn end(&mut self) {}
    }

    /// With three batches of disjuncts, a counterexample the sample finds
    /// in the last batch is found before any batch runs a pass.
    #[test]
    fn every_batch_is_sampled_before_any_pass_runs() {
        let mut b = crate::writer::GraphBuilder::new("relu1", crate::writer::Precision::F32);
        let x = b.input("x", vec![1, 1]);
        let y = b.relu(&x);
        b.output(&y, "y");
        let model = crate::onnx::import_proto(std::path::Path::new("relu1.onnx"), &b.finish().model).unwrap();
        // 2 * 64 disjuncts where relu(x) = 0 < 1, then one where x >= 2.5 holds.
        let mut disjuncts: Vec<String> = (0..2 * DISJUNCTS_PER_BATCH)
            .map(|i| format!("(and (>= X_0 -{}) (<= X_0 -{}) (>= Y_0 1))", i + 2, i + 1))
            .collect();
        disjuncts.push("(and (>= X_0 2) (<= X_0 3) (>= Y_0 2.5))".into());
        let text =
            format!("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (or {}))\n", disjuncts.join(" "));
        let property = crate::vnnlib::parse_vnnlib(&text).unwrap();
        let config = FalsifyConfig {
            timeout: Duration::from_secs(600),
            max_rounds: Some(1),
            method: MethodBlock::default(),
            memory: crate::memory::MemoryLimit { bytes: 1 << 32, origin: "test".into() },
            runtime: crate::runtime::select::Runtime::Tract,
        };
        let runner = |x: &[f32]| -> Result<Vec<(String, Vec<f64>)>> {
            Ok(vec![("tract".into(), vec![f64::from(x[0].max(0.0))])])
        };
        let mut phases = Phases(Vec::new());
        let backend = crate::runtime::tract::TractBackend;
        let outcome =
            falsify(&model, &property, std::path::Path::new("p.vnnlib"), &backend, &config, &runner, &mut phases)
                .unwrap();
        assert_eq!(outcome.verdict, Verdict::Sat);
        let found = outcome.counterexample.expect("a counterexample");
        assert_eq!((found.disjunct, found.found_by), (2 * DISJUNCTS_PER_BATCH, "sample"));
        assert!(phases.0.is_empty(), "passes ran first: {:?}", phases.0);
    }

    #[test]
    fn goal_constants_round_towards_the_property() {
        assert_eq!(goal_constant(0.0, false), 0.0);
        assert_eq!(goal_constant(0.0, true), f32::from_bits(1), "strict: the smallest float32 above");
        let c = goal_constant(0.3, false);
        assert!(f64::from(c) >= 0.3 && f64::from(c.next_down()) < 0.3);
        assert_eq!(goal_constant(1e300, false), f32::MAX);
        assert_eq!(goal_constant(-1e300, false), f32::MIN);
    }

    #[test]
    fn f32_boxes_lie_inside_the_box_as_written_or_say_which_input_has_none() {
        let input = InputBox::closed(vec![-0.30353115613746867, 0.5], vec![-0.29855281193475053, 0.5]);
        let (lower, upper) = f32_box(0, &input).unwrap();
        assert!(input.contains(&lower.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()));
        assert!(input.contains(&upper.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()));
        let pinned = InputBox::closed(vec![0.0, 0.3], vec![1.0, 0.3]);
        let none = f32_box(4, &pinned).unwrap_err();
        assert_eq!(none, NoF32Point { disjunct: 4, input: 1, lower: 0.3, upper: 0.3 });
        assert_eq!(none.to_string(), "disjunct 4: no float32 value of X_1 lies in [3e-1, 3e-1]");
    }

    #[test]
    fn error_results_have_the_reason_on_one_line() {
        assert_eq!(vnncomp_error_text("m.onnx: bad\n  more"), "error\nm.onnx: bad more\n");
    }
}
