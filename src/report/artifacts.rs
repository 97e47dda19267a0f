//! Artifacts of a run, for a person to look at: the best input as `.npy`
//! (always) and as PNG when it is an image, the perturbation of an attack
//! made visible, a reconstruction's target beside its decoded output, and a
//! plot of the objective per iteration. Owns the artifact folder: files of
//! an earlier run there are removed, and the default folder is a fresh one.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use serde::Serialize;

use super::picture::{image_layout, write_image_png, write_perturbation_png, write_side_by_side_png};
use super::plot::{write_annotated_plot, Annotations, LinePlot, Series};
use crate::error::{Error, Result};
use crate::goal::{Criterion, Goal, GoalKind, Start};
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
    /// Reconstruction goals with an image output: target | decoded best.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconstruction_png: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective_plot_png: Option<String>,
}

/// The files [`write_all`] writes whatever the model: those an earlier run
/// may have left and a later one removes.
const FIXED_FILES: [&str; 5] =
    ["best_input.npy", "best_input.png", "perturbation.png", "reconstruction.png", "objective.png"];
/// The folder `run` writes into without `--artifacts` or `--out` gets this
/// name with `-1`, `-2`, … (the first that does not exist yet).
pub const DEFAULT_DIR_STEM: &str = "adr-onnx-artifacts";
/// Most numbered default folders tried before giving up.
const MOST_DEFAULT_DIRS: usize = 100_000;

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
    let mut v: Vec<PathBuf> = FIXED_FILES.iter().map(|f| dir.join(f)).collect();
    if let Some(graph) = graph.filter(|g| g.inputs.len() > 1) {
        v.extend(graph.inputs.iter().map(|&i| per_input_npy(dir, &graph.value(i).name)));
    }
    v
}

/// Whether `name` is one of the files [`write_all`] writes (per-input
/// `best_input.<name>.npy` included).
fn is_artifact_name(name: &str) -> bool {
    FIXED_FILES.contains(&name) || (name.starts_with("best_input.") && name.ends_with(".npy"))
}

/// Removes from `dir` the files an earlier run wrote there (only names
/// [`write_all`] writes; nothing else is touched), so that none is mistaken
/// for this run's. A missing folder has none.
pub fn remove_stale(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        // A link is removed, never followed.
        let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        let is_file = kind.is_file() || kind.is_symlink();
        let is_ours = entry.file_name().to_str().is_some_and(is_artifact_name);
        if is_file && is_ours {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Creates and returns a folder in `parent` that did not exist before:
/// `<DEFAULT_DIR_STEM>-<n>` for the smallest `n` from 1 on, so that a
/// default folder is never shared with an earlier or a concurrent run.
pub fn claim_fresh_dir(parent: &Path) -> Result<PathBuf> {
    for n in 1..=MOST_DEFAULT_DIRS {
        let dir = parent.join(format!("{DEFAULT_DIR_STEM}-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    let last = parent.join(format!("{DEFAULT_DIR_STEM}-{MOST_DEFAULT_DIRS}"));
    Err(Error::io(&last, std::io::Error::other("every numbered artifact folder exists; give --artifacts DIR")))
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Writes every artifact of a run into `dir` (created if needed), after
/// removing the files an earlier run left there. `best_output` is the
/// reported output at `best_x`.
pub fn write_all(
    dir: &Path,
    graph: &Graph,
    batched_model: bool,
    goal: &Goal,
    (best_x, best_output): (&[f32], &[f32]),
    trace: &[TracePoint],
) -> Result<Artifacts> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    remove_stale(dir)?;
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
    if let Criterion::Reconstruction { target, .. } = &goal.criterion {
        out.reconstruction_png = write_reconstruction(dir, &graph.value(goal.output).shape, target, best_output)?;
    }
    if !trace.is_empty() {
        let p = dir.join("objective.png");
        let (plot, notes) = objective_plot(goal, trace);
        write_annotated_plot(&p, &plot, &notes).map_err(|e| Error::data(&p, e.to_string()))?;
        out.objective_plot_png = Some(display(&p));
    }
    Ok(out)
}

/// `reconstruction.png`: the target beside the decoded output, over their
/// common range, when the output is an image.
fn write_reconstruction(dir: &Path, shape: &[usize], target: &[f32], decoded: &[f32]) -> Result<Option<String>> {
    let Some(layout) = image_layout(shape) else { return Ok(None) };
    let png = dir.join("reconstruction.png");
    let as_image = |values: &[f32]| {
        ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).map_err(|e| Error::data(&png, e.to_string()))
    };
    let (target_image, decoded_image) = (as_image(target)?, as_image(decoded)?);
    let (lo, hi) = value_range(target.iter().chain(decoded));
    write_side_by_side_png(&png, &[target_image.view(), decoded_image.view()], layout, lo, hi, png_scale(shape))
        .map_err(|e| Error::data(&png, e.to_string()))?;
    Ok(Some(display(&png)))
}

/// The finite values' range, widened to a unit span around a constant.
pub fn value_range<'a>(values: impl Iterator<Item = &'a f32>) -> (f32, f32) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    }
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
    value_range(x.iter())
}

/// The plot of the success criterion per iteration: what is plotted, with
/// its threshold and the iterations where each stage begins.
fn objective_plot(goal: &Goal, trace: &[TracePoint]) -> (LinePlot, Annotations) {
    let (y_label, by_score) = goal.plotted_criterion();
    let points = |f: &dyn Fn(&TracePoint) -> f64| trace.iter().map(|t| (t.iteration as f64, f(t))).collect();
    let (now, best): (Vec<_>, Vec<_>) = if by_score {
        (points(&|t| t.score), points(&|t| t.best_score))
    } else {
        (points(&|t| t.objective), points(&|t| t.best_objective))
    };
    let stages = stage_starts(trace);
    let plot = LinePlot {
        title: format!(
            "{} ({})",
            goal.criterion_text(),
            stages.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", ")
        ),
        x_label: "iteration".into(),
        y_label: format!("true {y_label}"),
        series: vec![
            Series { name: "this iteration (best restart)".into(), points: now },
            Series { name: "best so far".into(), points: best },
        ],
        log_x: false,
        log_y: goal.kind == GoalKind::Reconstruction,
    };
    let marks = if stages.len() > 1 { stages } else { Vec::new() };
    (plot, Annotations { threshold: goal.criterion.threshold(), marks, point_markers: false })
}

/// The iteration where each stage of the trace begins, with its name.
fn stage_starts(trace: &[TracePoint]) -> Vec<(f64, String)> {
    let mut starts: Vec<(f64, String)> = Vec::new();
    for t in trace {
        if starts.last().is_none_or(|(_, phase)| phase != t.phase) {
            starts.push((t.iteration as f64, t.phase.to_string()));
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_artifacts_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let ours = ["best_input.npy", "perturbation.png", "reconstruction.png", "best_input.x_1.npy"];
        let theirs = ["notes.txt", "best_input.npy.bak", "input.npy"];
        for name in ours.iter().chain(&theirs) {
            std::fs::write(dir.path().join(name), b"old").unwrap();
        }
        std::fs::create_dir(dir.path().join("objective.png")).unwrap();
        remove_stale(dir.path()).unwrap();
        for name in ours {
            assert!(!dir.path().join(name).exists(), "{name} left");
        }
        for name in theirs {
            assert!(dir.path().join(name).exists(), "{name} removed");
        }
        assert!(dir.path().join("objective.png").is_dir(), "a folder is not a stale file");
        remove_stale(&dir.path().join("missing")).unwrap();
    }

    #[test]
    fn fresh_default_folders_are_never_reused() {
        let parent = tempfile::tempdir().unwrap();
        let first = claim_fresh_dir(parent.path()).unwrap();
        let second = claim_fresh_dir(parent.path()).unwrap();
        assert_eq!(first, parent.path().join("adr-onnx-artifacts-1"));
        assert_eq!(second, parent.path().join("adr-onnx-artifacts-2"));
        assert!(first.is_dir() && second.is_dir());
        assert!(claim_fresh_dir(&parent.path().join("missing").join("deeper")).is_err());
    }

    #[test]
    fn value_range_ignores_non_finite_values() {
        assert_eq!(value_range([0.0, f32::NAN, 2.0].iter()), (0.0, 2.0));
        assert_eq!(value_range([3.0, 3.0].iter()), (2.5, 3.5));
        assert_eq!(value_range([f32::NAN].iter()), (0.0, 1.0));
    }
}
