//! Best tracking by the TRUE network: every evaluated point of every row is
//! judged by its goal, the best per goal kept (achieved first, then the
//! lowest score), and a trace of the first goal recorded.

use ndarray::Array2;
use serde::Serialize;

use super::engine::Truth;
use super::Row;
use crate::goal::{Assessment, Goal};

/// The best point found for one goal.
#[derive(Debug, Clone, Serialize)]
pub struct Best {
    #[serde(skip)]
    pub x: Vec<f32>,
    /// The true network's reported output there.
    pub output: Vec<f32>,
    #[serde(flatten)]
    pub assessment: Assessment,
    /// Iteration (counted over all phases) at which it was evaluated.
    pub iteration: usize,
    pub restart: usize,
    /// The algorithm (phase) that found it, or `start` for the given start.
    pub phase: &'static str,
}

/// One point of the trace of the first goal.
#[derive(Debug, Clone, Serialize)]
pub struct TracePoint {
    pub iteration: usize,
    pub phase: &'static str,
    /// True objective of this iteration's best restart.
    pub objective: f64,
    /// Best true objective so far.
    pub best_objective: f64,
    /// The criterion's score of this iteration's best restart (attacks: the
    /// margin, achieved below 0) and of the best so far.
    pub score: f64,
    pub best_score: f64,
    /// Surrogate loss, consistency loss and multiplier of restart 0 (ADR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
}

/// Per-row values of an ADR step, for the trace.
pub struct AdrSignals<'a> {
    pub loss: &'a [f32],
    pub consistency: &'a [f32],
    pub c: &'a [f32],
}

pub struct Tracker {
    pub best: Vec<Option<Best>>,
    /// Assessment and output at each goal's given start.
    pub initial: Vec<Option<(Assessment, Vec<f32>)>>,
    pub trace: Vec<TracePoint>,
    /// Iterations of earlier phases, added to this phase's counts.
    pub offset: usize,
    pub phase: &'static str,
}

/// Whether `a` beats `b`: achieved first, then the lower score; a NaN
/// score (an overflowing network) loses to any number.
fn better(a: &Assessment, b: &Assessment) -> bool {
    let lower = a.score < b.score || (b.score.is_nan() && !a.score.is_nan());
    (a.achieved && !b.achieved) || (a.achieved == b.achieved && lower)
}

impl Tracker {
    pub fn new(goals: usize) -> Self {
        Tracker { best: vec![None; goals], initial: vec![None; goals], trace: Vec::new(), offset: 0, phase: "start" }
    }

    /// Judges every row's point `x` with its true values.
    pub fn observe(
        &mut self,
        goals: &[Goal],
        rows: &[Row],
        iteration: usize,
        x: &Array2<f32>,
        truth: &Truth,
        adr: Option<AdrSignals>,
    ) {
        let it = self.offset + iteration;
        let mut first_goal_now: Option<Assessment> = None;
        for (r, row) in rows.iter().enumerate() {
            let goal = &goals[row.task];
            let y = truth.y.row(r);
            // A step that overflowed leaves a point no file can be run at
            // (a runtime may even map its NaN to a finite output).
            let a = if x.row(r).iter().all(|v| v.is_finite()) {
                goal.assess(y.as_slice().unwrap_or(&y.to_vec()))
            } else {
                Assessment::UNUSABLE
            };
            if iteration == 0 && row.restart == 0 && self.initial[row.task].is_none() {
                self.initial[row.task] = Some((a, truth.output.row(r).to_vec()));
            }
            if row.task == 0 && first_goal_now.is_none_or(|b| better(&a, &b)) {
                first_goal_now = Some(a);
            }
            if self.best[row.task].as_ref().is_none_or(|b| better(&a, &b.assessment)) {
                self.best[row.task] = Some(Best {
                    x: x.row(r).to_vec(),
                    output: truth.output.row(r).to_vec(),
                    assessment: a,
                    iteration: it,
                    restart: row.restart,
                    phase: self.phase,
                });
            }
        }
        if let (Some(now), Some(best)) = (first_goal_now, self.best.first().and_then(Option::as_ref)) {
            let pick = |v: Option<&[f32]>| v.and_then(|s| s.first()).map(|&f| f64::from(f));
            self.trace.push(TracePoint {
                iteration: it,
                phase: self.phase,
                objective: now.objective,
                best_objective: best.assessment.objective,
                score: now.score,
                best_score: best.assessment.score,
                loss: pick(adr.as_ref().map(|a| a.loss)),
                consistency: pick(adr.as_ref().map(|a| a.consistency)),
                c: pick(adr.as_ref().map(|a| a.c)),
            });
        }
    }

    pub fn achieved(&self, task: usize) -> bool {
        self.best[task].as_ref().is_some_and(|b| b.assessment.achieved)
    }

    pub fn all_achieved(&self) -> bool {
        (0..self.best.len()).all(|t| self.achieved(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_point_that_is_not_finite_is_never_the_best() {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        let model = crate::onnx::import_proto(Path::new("mlp.onnx"), &zoo.graph.model).unwrap();
        let text = r#"{"kind": "target_class", "input": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "label": 1, "epsilon": 0.1,
                       "bounds": null}"#;
        let goal = crate::goal::parse(Path::new("g.json"), text, &model).unwrap();
        let rows = [Row { task: 0, restart: 0 }, Row { task: 0, restart: 1 }];
        let mut x = Array2::from_elem((2, 6), 0.1f32);
        x[[1, 3]] = f32::NAN;
        // A runtime that maps the NaN to a finite output (tract's ReLU does)
        // reports a flip at row 1.
        let y = ndarray::arr2(&[[0.0f32, 1.0, 0.5], [2.0, 1.0, 0.5]]);
        let truth = Truth { y: y.clone(), output: y, pre: Vec::new() };
        let mut tracker = Tracker::new(1);
        tracker.observe(std::slice::from_ref(&goal), &rows, 0, &x, &truth, None);
        let best = tracker.best[0].as_ref().unwrap();
        assert_eq!((best.restart, best.assessment.achieved), (0, false));
        assert!(!tracker.achieved(0));
    }
}
