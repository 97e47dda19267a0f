//! Artifacts of a run, for a person to look at: the best input as `.npy`
//! (always) and as PNG when it is an image, the perturbation of an attack
//! made visible, and a plot of the objective per iteration.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use serde::Serialize;

use super::picture::{image_layout, write_image_png, write_perturbation_png};
use super::plot::{write_line_plot, LinePlot, Series};
use crate::error::{Error, Result};
use crate::goal::{Goal, GoalKind, Start};
use crate::ir::Graph;
use crate::optim::track::TracePoint;

/// Paths of what was written (relative paths as given on the command line).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Artifacts {
    pub directory: String,
    pub best_input_npy: String,
    /// Per model input, for models with several inputs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub best_input_npy_per_input: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_input_png: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perturbation_png: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective_plot_png: Option<String>,
}

/// Enlargement of small images in PNGs.
fn png_scale(shape: &[usize]) -> u32 {
    let side = shape.iter().copied().max().unwrap_or(1).max(1);
    (256 / side).clamp(1, 8) as u32
}

/// Writes an `.npy` atomically (`crate::output`).
pub fn write_npy(path: &Path, a: &ArrayD<f32>) -> Result<()> {
    crate::output::write_with(path, |w| a.write_npy(w).map_err(std::io::Error::other))
}

/// The file of one model input's best point, for models with several inputs.
fn per_input_npy(dir: &Path, input_name: &str) -> PathBuf {
    let safe: String =
        input_name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    dir.join(format!("best_input.{safe}.npy"))
}

/// Every file [`write_all`] may write into `dir`, so that a command can
/// refuse, before any work, artifacts that would replace its inputs: the
/// files of any model, and with `graph` those of its inputs.
pub fn planned(dir: &Path, graph: Option<&Graph>) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        ["best_input.npy", "best_input.png", "perturbation.png", "objective.png"].iter().map(|f| dir.join(f)).collect();
    if let Some(graph) = graph.filter(|g| g.inputs.len() > 1) {
        v.extend(graph.inputs.iter().map(|&i| per_input_npy(dir, &graph.value(i).name)));
    }
    v
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Writes every artifact of a run into `dir` (created if needed).
pub fn write_all(
    dir: &Path,
    graph: &Graph,
    batched_model: bool,
    goal: &Goal,
    best_x: &[f32],
    trace: &[TracePoint],
) -> Result<Artifacts> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Artifacts { directory: display(dir), ..Artifacts::default() };
    let shapes: Vec<(String, Vec<usize>)> =
        graph.inputs.iter().map(|&v| (graph.value(v).name.clone(), graph.value(v).shape.clone())).collect();
    let view_shape = |s: &[usize]| -> Vec<usize> {
        if batched_model {
            [&[1], s].concat()
        } else {
            s.to_vec()
        }
    };
    let best_npy: PathBuf = dir.join("best_input.npy");
    if let [(_, shape)] = shapes.as_slice() {
        let a = ArrayD::from_shape_vec(IxDyn(&view_shape(shape)), best_x.to_vec())
            .map_err(|e| Error::data(&best_npy, e.to_string()))?;
        write_npy(&best_npy, &a)?;
        if let Some(layout) = image_layout(shape) {
            let image = ArrayD::from_shape_vec(IxDyn(shape), best_x.to_vec())
                .map_err(|e| Error::data(&best_npy, e.to_string()))?;
            let (lo, hi) = image_range(goal, best_x);
            let png = dir.join("best_input.png");
            write_image_png(&png, image.view(), layout, lo, hi, png_scale(shape))
                .map_err(|e| Error::data(&png, e.to_string()))?;
            out.best_input_png = Some(display(&png));
            if let (GoalKind::TargetClass, Start::Given(x0)) = (goal.kind, &goal.start) {
                let delta: Vec<f32> = best_x.iter().zip(x0).map(|(a, b)| a - b).collect();
                let delta =
                    ArrayD::from_shape_vec(IxDyn(shape), delta).map_err(|e| Error::data(&png, e.to_string()))?;
                let p = dir.join("perturbation.png");
                write_perturbation_png(&p, delta.view(), layout, png_scale(shape))
                    .map_err(|e| Error::data(&p, e.to_string()))?;
                out.perturbation_png = Some(display(&p));
            }
        }
    } else {
        write_npy(
            &best_npy,
            &ArrayD::from_shape_vec(IxDyn(&[best_x.len()]), best_x.to_vec())
                .map_err(|e| Error::data(&best_npy, e.to_string()))?,
        )?;
        let mut offset = 0;
        for (name, shape) in &shapes {
            let n: usize = shape.iter().product();
            let p = per_input_npy(dir, name);
            let a = ArrayD::from_shape_vec(IxDyn(&view_shape(shape)), best_x[offset..offset + n].to_vec())
                .map_err(|e| Error::data(&p, e.to_string()))?;
            write_npy(&p, &a)?;
            out.best_input_npy_per_input.push(display(&p));
            offset += n;
        }
    }
    out.best_input_npy = display(&best_npy);
    if !trace.is_empty() {
        let p = dir.join("objective.png");
        write_line_plot(&p, &objective_plot(goal, trace)).map_err(|e| Error::data(&p, e.to_string()))?;
        out.objective_plot_png = Some(display(&p));
    }
    Ok(out)
}

/// The value range an image is drawn with: the goal's box when finite,
/// else the data's own range.
fn image_range(goal: &Goal, x: &[f32]) -> (f32, f32) {
    let lo = goal.feasible.lower.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = goal.feasible.upper.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if goal.kind == GoalKind::TargetClass && lo.is_finite() && hi.is_finite() {
        if let Some(b) = &goal.feasible.ball {
            let c_lo = b.center.iter().copied().fold(f32::INFINITY, f32::min);
            let c_hi = b.center.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            return (lo.min(c_lo), hi.max(c_hi));
        }
        return (lo, hi);
    }
    let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

fn objective_plot(goal: &Goal, trace: &[TracePoint]) -> LinePlot {
    let label = match goal.kind {
        GoalKind::TargetClass => "cross-entropy of the true label",
        GoalKind::Reconstruction => "mean squared error",
        GoalKind::OutputBound => "output",
        GoalKind::Property => "largest constraint margin",
    };
    let points = |f: &dyn Fn(&TracePoint) -> f64| trace.iter().map(|t| (t.iteration as f64, f(t))).collect();
    LinePlot {
        title: format!("{} ({})", goal.criterion_text(), trace.last().map_or("", |t| t.phase)),
        x_label: "iteration".into(),
        y_label: format!("true {label}"),
        series: vec![
            Series { name: "this iteration (best restart)".into(), points: points(&|t| t.objective) },
            Series { name: "best so far".into(), points: points(&|t| t.best_objective) },
        ],
        log_x: false,
        log_y: goal.kind == GoalKind::Reconstruction,
    }
}
