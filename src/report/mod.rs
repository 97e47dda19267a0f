//! The run report: a versioned JSON document (schema in docs/report.md)
//! with everything needed to reproduce and judge a run, and the artifacts
//! beside it.

pub mod artifacts;
pub mod picture;
pub mod plot;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::goal::{Assessment, Goal, GoalKind};
use crate::optim::track::TracePoint;
use crate::optim::{AdrStats, LeftOut, Outcome, Phase, Settings, StopReason};

/// Why an image or a plot could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("shape {shape:?} does not match layout {layout} with 1 or 3 channels")]
    NotAnImage { shape: Vec<usize>, layout: &'static str },
    #[error("original shape {original:?} differs from adversarial shape {adversarial:?}")]
    ShapeMismatch { original: Vec<usize>, adversarial: Vec<usize> },
    #[error("intensity range [{lo}, {hi}] is not finite with lo < hi")]
    InvalidRange { lo: f32, hi: f32 },
    #[error("scale must be at least 1, got {0}")]
    InvalidScale(u32),
    #[error("an image of {width}x{height} pixels is too large")]
    TooLarge { width: u64, height: u64 },
    #[error("could not encode PNG: {0}")]
    Encode(#[from] image::ImageError),
    #[error("could not write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not register the built-in plot font")]
    FontRegistration,
    #[error("could not draw plot: {0}")]
    Plot(String),
}

/// The run report's `schema_version` (bumped when a stable field changes
/// meaning or disappears; history in docs/report.md).
pub const SCHEMA_VERSION: u32 = crate::document::RUN_REPORT.schema_version;

/// The tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub commit: &'static str,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo { name: "adr-onnx", version: env!("CARGO_PKG_VERSION"), commit: env!("ADR_ONNX_GIT_COMMIT") }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: String,
    pub sha256: String,
    /// The tensor reported as the output.
    pub output: String,
}

pub use crate::runtime::select::BackendInfo;

/// The true network at a point.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The reported objective: cross-entropy of the true label, the output
    /// element, or the mean squared error.
    pub objective: f64,
    pub score: f64,
    pub achieved: bool,
    pub output: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_class: Option<usize>,
}

impl Point {
    fn new(a: &Assessment, output: &[f32], kind: GoalKind) -> Self {
        let predicted_class = (kind == GoalKind::TargetClass).then(|| crate::goal::argmax(output));
        Point { objective: a.objective, score: a.score, achieved: a.achieved, output: output.to_vec(), predicted_class }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BestPoint {
    #[serde(flatten)]
    pub point: Point,
    pub iteration: usize,
    pub restart: usize,
    pub phase: &'static str,
    pub input_npy: String,
    /// Distances from the start (attacks: from the clean input).
    pub distance_linf: f64,
    pub distance_l2: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub total_seconds: f64,
    pub load_seconds: f64,
    pub seconds_per_iteration: f64,
    /// Peak resident memory of the process so far (Linux), in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

/// The process's peak resident set size (`VmHWM`), in MiB, where `/proc` tells.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// One stage of the run as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub method: &'static str,
    pub iterations: usize,
    pub seconds: f64,
    /// Whether the goal was achieved at the end of the stage.
    pub achieved: bool,
    pub best_objective: Option<f64>,
}

impl PhaseRow {
    /// `goals`: how many goals the run searched (a phase counts those achieved).
    fn new(p: &Phase, goals: usize) -> Self {
        PhaseRow {
            method: p.method,
            iterations: p.iterations,
            seconds: p.seconds,
            achieved: p.achieved >= goals.max(1),
            best_objective: p.best_objective,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    /// `run_report` (the document type; the goal's kind is `goal_kind`).
    pub kind: &'static str,
    pub tool: ToolInfo,
    pub model: ModelInfo,
    pub goal_file: String,
    pub goal: Value,
    pub goal_kind: GoalKind,
    pub criterion: String,
    pub method: &'static str,
    pub settings: Settings,
    pub backend: BackendInfo,
    pub seed: u64,
    pub achieved: bool,
    pub stopped: StopReason,
    pub iterations: usize,
    pub initial: Point,
    pub best: BestPoint,
    pub phases: Vec<PhaseRow>,
    /// Stages of the method that did not run, and why (`auto`'s ADR stage
    /// on a network without ReLU).
    pub left_out: Vec<LeftOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adr: Option<AdrStats>,
    /// At most [`TRACE_POINTS`] points of the first goal's trace.
    pub trace: Vec<TracePoint>,
    pub timing: Timing,
    pub artifacts: artifacts::Artifacts,
    /// `best.output` against the model file itself run at the best input
    /// (by ONNX Runtime where its library loads, else by tract;
    /// independently of the derived network).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_check: Option<crate::original::FileCheck>,
}

pub const TRACE_POINTS: usize = 200;

/// At most `max` (at least 2) points, evenly spread, the first and the last kept.
pub fn subsample<T: Clone>(v: &[T], max: usize) -> Vec<T> {
    let max = max.max(2);
    if v.len() <= max {
        return v.to_vec();
    }
    let last = v.len() - 1;
    (0..max).map(|i| v[i * last / (max - 1)].clone()).collect()
}

/// Distances between two points: L-infinity and L2, of the values as
/// stored (differences taken in f64, where those of two f32s are exact).
pub fn distances(a: &[f32], b: &[f32]) -> (f64, f64) {
    let diff = |(x, y): (&f32, &f32)| f64::from(*x) - f64::from(*y);
    let linf = a.iter().zip(b).map(|p| diff(p).abs()).fold(0.0, f64::max);
    let l2 = a.iter().zip(b).map(|p| diff(p).powi(2)).sum::<f64>().sqrt();
    (linf, l2)
}

/// What the report is built from.
pub struct RunFacts<'a> {
    pub model: ModelInfo,
    pub goal: &'a Goal,
    pub settings: &'a Settings,
    pub backend: BackendInfo,
    pub outcome: &'a Outcome,
    pub artifacts: artifacts::Artifacts,
    /// The best input's output against the model file's own there.
    pub file_check: Option<crate::original::FileCheck>,
}

impl RunReport {
    pub fn build(f: RunFacts) -> RunReport {
        let o = f.outcome;
        let best = &o.best[0];
        let (initial_a, initial_out) = &o.initial[0];
        let start = match &f.goal.start {
            crate::goal::Start::Given(s) => s.clone(),
            crate::goal::Start::Random => best.x.clone(),
        };
        let (linf, l2) = distances(&best.x, &start);
        let evaluated: usize = o.phases.iter().map(|p| p.iterations).sum::<usize>().max(1);
        RunReport {
            schema_version: SCHEMA_VERSION,
            kind: crate::document::RUN_REPORT.kind,
            tool: ToolInfo::current(),
            model: f.model,
            goal_file: f.goal.file.display().to_string(),
            goal: f.goal.echo.clone(),
            goal_kind: f.goal.kind,
            criterion: f.goal.criterion_text(),
            method: f.settings.algorithm.name(),
            settings: f.settings.as_acted(),
            backend: f.backend,
            seed: f.settings.seed,
            achieved: best.assessment.achieved,
            stopped: o.stopped,
            iterations: o.iterations,
            initial: Point::new(initial_a, initial_out, f.goal.kind),
            best: BestPoint {
                point: Point::new(&best.assessment, &best.output, f.goal.kind),
                iteration: best.iteration,
                restart: best.restart,
                phase: best.phase,
                input_npy: f.artifacts.best_input_npy.clone(),
                distance_linf: linf,
                distance_l2: l2,
            },
            phases: o.phases.iter().map(|p| PhaseRow::new(p, o.best.len())).collect(),
            left_out: o.left_out.clone(),
            adr: o.adr.clone(),
            trace: subsample(&o.trace, TRACE_POINTS),
            timing: Timing {
                total_seconds: o.seconds,
                load_seconds: o.load_seconds,
                seconds_per_iteration: (o.seconds - o.load_seconds).max(0.0) / evaluated as f64,
                peak_rss_mib: peak_rss_mib(),
            },
            artifacts: f.artifacts,
            file_check: f.file_check,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsample_keeps_first_and_last() {
        let v: Vec<usize> = (0..1001).collect();
        let s = subsample(&v, 200);
        assert_eq!(s.len(), 200);
        assert_eq!(s.first(), Some(&0));
        assert_eq!(s.last(), Some(&1000));
    }
}
