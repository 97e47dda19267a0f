//! Falsification of a VNN-LIB property: every disjunct of the unsafe set
//! becomes a goal (its input box, and the largest violation margin of its
//! output constraints to push below zero), all run as one batch in rounds of
//! restarts until a counterexample is found or the time is up. A
//! counterexample is reported only after the ORIGINAL model file, run by
//! tract's own importer and by ONNX Runtime when available, confirms it.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::parse::Property;
use crate::error::{Error, Result};
use crate::goal::feasible::FeasibleSet;
use crate::goal::schema::MethodBlock;
use crate::goal::{Criterion, Goal, GoalKind, Start};
use crate::onnx::ImportedModel;
use crate::optim::engine::Engine;
use crate::optim::{optimise, Progress, Settings};
use crate::runtime::Backend;

/// Output constraints are confirmed within this tolerance (VNN-COMP's).
pub const CONFIRM_TOLERANCE: f64 = 1e-4;

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
    /// Largest constraint margin of the disjunct there (<= 0: satisfied).
    pub margin: f64,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub disjunct: usize,
    pub input: Vec<f64>,
    pub output: Vec<f64>,
    pub confirmations: Vec<Confirmation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FalsifyOutcome {
    pub verdict: Verdict,
    /// Seconds the search ran: to the counterexample for `sat`.
    pub seconds: f64,
    pub rounds: usize,
    pub disjuncts: usize,
    /// Best (lowest) largest margin reached per disjunct.
    pub best_margins: Vec<f64>,
    /// Counterexamples found but not confirmed (never printed as sat).
    pub unconfirmed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    pub settings: Settings,
}

pub struct FalsifyConfig {
    pub timeout: Duration,
    /// Rounds of restarts at most (`None`: until the timeout).
    pub max_rounds: Option<usize>,
    pub method: MethodBlock,
}

/// The f32 box inside the f64 box `[lo, hi]`: its bounds rounded inwards.
/// An interval holding no f32 (a bound pinned to a value f32 cannot hold)
/// becomes the f32 nearest its middle, which the confirmation accepts
/// within [`super::parse::f32_rounding_tolerance`].
fn inside_f32(lo: f64, hi: f64) -> (f32, f32) {
    let mut l = lo as f32;
    if f64::from(l) < lo {
        l = l.next_up();
    }
    let mut h = hi as f32;
    if f64::from(h) > hi {
        h = h.next_down();
    }
    if l > h {
        let mid = (lo + (hi - lo) / 2.0) as f32;
        return (mid, mid);
    }
    (l, h)
}

/// One goal per disjunct; constraint rows padded to the largest count with
/// rows that never bind.
pub fn goals_for(property: &Property, model: &ImportedModel, file: &Path) -> Result<Vec<Goal>> {
    if property.disjuncts.is_empty() {
        return Err(Error::Invalid(format!("{}: the property has no disjuncts (an empty unsafe set)", file.display())));
    }
    let n = model.graph.input_size();
    let target =
        model.default_objective().ok_or_else(|| Error::Invalid("the model has no differentiable output".into()))?;
    let m = model.graph.value(target.value).size();
    if property.num_inputs != n {
        return Err(Error::Invalid(format!(
            "{}: the property declares {} inputs, the model has {n}",
            file.display(),
            property.num_inputs
        )));
    }
    if property.num_outputs != m {
        return Err(Error::Invalid(format!(
            "{}: the property declares {} outputs, output '{}' has {m}",
            file.display(),
            property.num_outputs,
            target.name
        )));
    }
    let rows = property.disjuncts.iter().map(|d| d.output.len()).max().unwrap_or(0).max(1);
    property
        .disjuncts
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let (lower, upper): (Vec<f32>, Vec<f32>) =
                d.input.lower.iter().zip(&d.input.upper).map(|(&l, &h)| inside_f32(l, h)).unzip();
            let start: Vec<f32> = lower.iter().zip(&upper).map(|(l, h)| l + (h - l) / 2.0).collect();
            // Padding rows never bind; a disjunct without output constraints
            // (every input of its box is unsafe) has margin -1 everywhere.
            let mut a = vec![0.0f32; rows * m];
            let mut b = vec![if d.output.is_empty() { -1.0f32 } else { -1e30 }; rows];
            for (r, c) in d.output.iter().enumerate() {
                for (j, &v) in c.coeffs.iter().enumerate() {
                    a[r * m + j] = v as f32;
                }
                b[r] = c.constant as f32;
            }
            Ok(Goal {
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
            })
        })
        .collect()
}

/// Runs the original model file on one input: by tract's own importer, and
/// by `ort` when given. Returns (runtime, outputs) pairs.
pub type OriginalRunner<'a> = &'a dyn Fn(&[f32]) -> Result<Vec<(String, Vec<f64>)>>;

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
    let goals = goals_for(property, model, file)?;
    let first =
        goals.first().ok_or_else(|| Error::Invalid(format!("{}: the property has no disjuncts", file.display())))?;
    let base = MethodBlock {
        algorithm: config.method.algorithm.or(Some(crate::goal::schema::Algorithm::Auto)),
        restarts: config.method.restarts.or(Some(8)),
        iterations: config.method.iterations.or(Some(300)),
        pgd_steps: config.method.pgd_steps.or(Some(300)),
        ..config.method.clone()
    };
    let mut settings = Settings::resolve(first, &base, crate::surrogate::total_neurons(&model.graph));
    settings.stop_when_achieved = true;
    settings.validate().map_err(|e| Error::Invalid(format!("method settings: {e}")))?;
    let first_seed = settings.seed;
    // Disjuncts run in batches of at most DISJUNCTS_PER_BATCH goals.
    let chunks: Vec<&[Goal]> = goals.chunks(DISJUNCTS_PER_BATCH).collect();
    let mut engines: Vec<Engine> = chunks
        .iter()
        .map(|c| Engine::new(model, backend, first.target, first.output, c.len() * settings.restarts, settings.alpha))
        .collect();
    let mut search = Search { best_margins: vec![f64::INFINITY; goals.len()], unconfirmed: 0, rounds: 0 };
    loop {
        settings.seed = first_seed.wrapping_add(search.rounds as u64);
        for (c, (chunk, engine)) in chunks.iter().zip(engines.iter_mut()).enumerate() {
            let outcome = optimise(engine, chunk, &settings, progress, deadline)?;
            for (i, best) in outcome.best.iter().enumerate() {
                let k = c * DISJUNCTS_PER_BATCH + i;
                search.best_margins[k] = search.best_margins[k].min(best.assessment.score);
                if !best.assessment.achieved {
                    continue;
                }
                match confirmed(property, k, &best.x, confirm)? {
                    Some(counterexample) => {
                        search.rounds += 1;
                        return Ok(search.finish(Verdict::Sat, started, Some(counterexample), goals.len(), settings));
                    }
                    None => search.unconfirmed += 1,
                }
            }
        }
        search.rounds += 1;
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if timed_out || config.max_rounds.is_some_and(|r| search.rounds >= r) {
            let verdict = if timed_out { Verdict::Timeout } else { Verdict::Unknown };
            return Ok(search.finish(verdict, started, None, goals.len(), settings));
        }
    }
}

/// Goals per batch of a round: bounds memory for properties with many disjuncts.
const DISJUNCTS_PER_BATCH: usize = 64;

/// What a search has gathered so far.
struct Search {
    best_margins: Vec<f64>,
    unconfirmed: usize,
    rounds: usize,
}

impl Search {
    fn finish(
        self,
        verdict: Verdict,
        started: Instant,
        counterexample: Option<Counterexample>,
        disjuncts: usize,
        settings: Settings,
    ) -> FalsifyOutcome {
        let seconds = started.elapsed().as_secs_f64();
        FalsifyOutcome {
            verdict,
            seconds,
            rounds: self.rounds,
            disjuncts,
            best_margins: self.best_margins,
            unconfirmed: self.unconfirmed,
            counterexample,
            settings,
        }
    }
}

/// Re-runs disjunct `k`'s candidate `x` on the original file: a
/// counterexample when it lies in the box and every runtime's outputs
/// satisfy the constraints within [`CONFIRM_TOLERANCE`].
fn confirmed(property: &Property, k: usize, x: &[f32], confirm: OriginalRunner) -> Result<Option<Counterexample>> {
    let Some(d) = property.disjuncts.get(k) else {
        return Ok(None);
    };
    let input: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let confirmations: Vec<Confirmation> = confirm(x)?
        .into_iter()
        .map(|(runtime, outputs)| Confirmation {
            confirmed: property.is_counterexample_of(k, &input, &outputs, CONFIRM_TOLERANCE),
            margin: d.margin(&outputs),
            runtime,
            outputs,
        })
        .collect();
    match confirmations.first() {
        Some(c) if confirmations.iter().all(|c| c.confirmed) => {
            let output = c.outputs.clone();
            Ok(Some(Counterexample { disjunct: k, input, output, confirmations }))
        }
        _ => Ok(None),
    }
}

/// The result in the VNN-COMP format: `sat` and the assignment, or the
/// verdict alone.
pub fn vnncomp_text(outcome: &FalsifyOutcome) -> String {
    match (&outcome.verdict, &outcome.counterexample) {
        (Verdict::Sat, Some(c)) => {
            let mut s = String::from("sat\n(");
            let pairs: Vec<String> = c
                .input
                .iter()
                .enumerate()
                .map(|(i, v)| format!("(X_{i} {v:e})"))
                .chain(c.output.iter().enumerate().map(|(j, v)| format!("(Y_{j} {v:e})")))
                .collect();
            s.push_str(&pairs.join("\n "));
            s.push_str(")\n");
            s
        }
        (Verdict::Timeout, _) => "timeout\n".into(),
        _ => "unknown\n".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_box_stays_inside_the_f64_box_or_within_one_rounding() {
        for (lo, hi) in [(-0.30353115613746867, -0.29855281193475053), (0.1, 0.1), (1e-9, 2e-9), (0.0, 0.0)] {
            let (l, h) = inside_f32(lo, hi);
            assert!(l <= h);
            for v in [l, h] {
                let v = f64::from(v);
                let in_box = crate::vnnlib::InputBox { lower: vec![lo], upper: vec![hi] }.contains(&[v]);
                assert!(in_box, "{lo} {hi}: {l} {h}");
            }
            if f64::from(l) >= lo && f64::from(h) <= hi {
                continue;
            }
            assert_eq!(lo, hi, "only a pinned value may need the tolerance");
        }
    }
}
