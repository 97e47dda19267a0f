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
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_counterexample: Option<f64>,
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

/// The smallest f32 not below `v` and the largest not above `v`: a box in
/// f32 that lies inside the f64 box.
fn inside_f32(lo: f64, hi: f64) -> (f32, f32) {
    let mut l = lo as f32;
    if f64::from(l) < lo {
        l = l.next_up();
    }
    let mut h = hi as f32;
    if f64::from(h) > hi {
        h = h.next_down();
    }
    (l, h.max(l))
}

/// One goal per disjunct; constraint rows padded to the largest count with
/// rows that never bind.
pub fn goals_for(property: &Property, model: &ImportedModel, file: &Path) -> Result<Vec<Goal>> {
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
            let mut a = vec![0.0f32; rows * m];
            let mut b = vec![-1.0f32; rows];
            if d.output.is_empty() {
                b[0] = -1.0;
            }
            for (r, c) in d.output.iter().enumerate() {
                for (j, &v) in c.coeffs.iter().enumerate() {
                    a[r * m + j] = v as f32;
                }
                b[r] = c.constant as f32;
            }
            for r in d.output.len()..rows {
                b[r] = if d.output.is_empty() { -1.0 } else { -1e30 };
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
    let deadline = started + config.timeout;
    let goals = goals_for(property, model, file)?;
    let neurons = crate::surrogate::relu_sites(&model.graph).iter().map(|s| s.neurons).sum();
    let base = MethodBlock {
        algorithm: config.method.algorithm.or(Some(crate::goal::schema::Algorithm::Auto)),
        restarts: config.method.restarts.or(Some(8)),
        iterations: config.method.iterations.or(Some(300)),
        pgd_steps: config.method.pgd_steps.or(Some(300)),
        ..config.method.clone()
    };
    let mut settings = Settings::resolve(&goals[0], &base, neurons);
    settings.stop_when_achieved = true;
    settings.validate().map_err(Error::Invalid)?;
    let first_seed = settings.seed;
    let mut engine =
        Engine::new(model, backend, goals[0].target, goals[0].output, goals.len() * settings.restarts, settings.alpha);
    let mut best_margins = vec![f64::INFINITY; goals.len()];
    let mut unconfirmed = 0;
    let mut rounds = 0;
    loop {
        settings.seed = first_seed.wrapping_add(rounds as u64);
        let outcome = optimise(&mut engine, &goals, &settings, progress, Some(deadline))?;
        rounds += 1;
        for (k, best) in outcome.best.iter().enumerate() {
            best_margins[k] = best_margins[k].min(best.assessment.score);
            if !best.assessment.achieved {
                continue;
            }
            let x: Vec<f64> = best.x.iter().map(|&v| f64::from(v)).collect();
            let d = &property.disjuncts[k];
            let in_box = d.input.contains(&x, 0.0);
            let confirmations: Vec<Confirmation> = confirm(&best.x)?
                .into_iter()
                .map(|(runtime, outputs)| {
                    let margin = d.output.iter().map(|c| c.margin(&outputs)).fold(f64::NEG_INFINITY, f64::max);
                    let margin = if d.output.is_empty() { 0.0 } else { margin };
                    Confirmation { confirmed: in_box && margin <= CONFIRM_TOLERANCE, runtime, outputs, margin }
                })
                .collect();
            if !confirmations.is_empty() && confirmations.iter().all(|c| c.confirmed) {
                let output = confirmations[0].outputs.clone();
                return Ok(FalsifyOutcome {
                    verdict: Verdict::Sat,
                    seconds: started.elapsed().as_secs_f64(),
                    seconds_to_counterexample: Some(started.elapsed().as_secs_f64()),
                    rounds,
                    disjuncts: goals.len(),
                    best_margins,
                    unconfirmed,
                    counterexample: Some(Counterexample { disjunct: k, input: x, output, confirmations }),
                    settings,
                });
            }
            unconfirmed += 1;
        }
        let timed_out = Instant::now() >= deadline;
        let done = config.max_rounds.is_some_and(|r| rounds >= r);
        if timed_out || done {
            return Ok(FalsifyOutcome {
                verdict: if timed_out { Verdict::Timeout } else { Verdict::Unknown },
                seconds: started.elapsed().as_secs_f64(),
                seconds_to_counterexample: None,
                rounds,
                disjuncts: goals.len(),
                best_margins,
                unconfirmed,
                counterexample: None,
                settings,
            });
        }
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
    fn f32_box_stays_inside_the_f64_box() {
        for (lo, hi) in [(-0.30353115613746867, -0.29855281193475053), (0.1, 0.1), (1e-9, 2e-9)] {
            let (l, h) = inside_f32(lo, hi);
            assert!(f64::from(l) >= lo && f64::from(h) <= hi || (lo == hi), "{lo} {hi}: {l} {h}");
        }
    }
}
