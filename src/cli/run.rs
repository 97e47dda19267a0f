//! `adr-onnx run`: searches the model's input for a goal, writes the JSON
//! report and artifacts, and exits 0 (achieved), 1 (not achieved) or 2.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::front;
use adr_onnx::input::sha256_hex;
use adr_onnx::ir::Graph;
use adr_onnx::memory::Workload;
use adr_onnx::onnx::import_proto;
use adr_onnx::optim::engine::Engine;
use adr_onnx::optim::{optimise, Settings};
use adr_onnx::original::{FileCheck, FileRunner, OriginalModel};
use adr_onnx::report::{artifacts, ModelInfo, RunFacts, RunReport};
use adr_onnx::runtime::select::select;

use super::backend::BackendArgs;
use super::memory::MemoryArgs;
use super::method::MethodArgs;
use super::progress::Bar;
use super::stdout::outln;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The ONNX model (for reconstruction goals, the generator).
    model: PathBuf,
    /// The goal file (JSON, see docs/goals.md).
    #[arg(long)]
    goal: PathBuf,
    /// The radius of a target_class goal, instead of the goal file's epsilon.
    #[arg(long, value_parser = super::audit::positive_radius)]
    epsilon: Option<f64>,
    #[command(flatten)]
    method: MethodArgs,
    /// Write the JSON report here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder for the artifacts (default: beside --out as <report>.artifacts, else a fresh
    /// ./adr-onnx-artifacts-<n>); files of an earlier run there are removed.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    memory: MemoryArgs,
}

/// The artifact folder named by the arguments; `None`: a fresh default
/// folder, claimed when the artifacts are written.
fn artifact_dir(args: &RunArgs) -> Option<PathBuf> {
    match (&args.artifacts, &args.out) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(out)) => {
            let stem = out.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
            Some(out.with_file_name(format!("{stem}.artifacts")))
        }
        (None, None) => None,
    }
}

fn model_info(path: &Path, output: &str) -> anyhow::Result<ModelInfo> {
    let bytes = adr_onnx::input::read(path)?;
    Ok(ModelInfo { path: path.display().to_string(), sha256: sha256_hex(&bytes), output: output.to_string() })
}

/// Refuses outputs (the report and the artifacts, those of every model
/// input once `graph` is known) that would replace an input: the model,
/// the goal, and the files the goal names (`read`).
fn refuse_clobber(args: &RunArgs, dir: Option<&Path>, graph: Option<&Graph>, read: &[PathBuf]) -> anyhow::Result<()> {
    let mut outputs = dir.map(|dir| artifacts::planned(dir, graph)).unwrap_or_default();
    outputs.extend(args.out.clone());
    let outputs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    let inputs: Vec<&Path> =
        [args.model.as_path(), args.goal.as_path()].into_iter().chain(read.iter().map(PathBuf::as_path)).collect();
    Ok(adr_onnx::output::refuse_clobber(&inputs, &outputs)?)
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let dir = artifact_dir(&args);
    refuse_clobber(&args, dir.as_deref(), None, &[])?;
    // The report's folder is created as the artifacts' is; without a
    // folder named, the artifacts go to a fresh one in `.`.
    let out_dir = args.out.as_deref().map(adr_onnx::output::folder_of);
    let here = PathBuf::from(".");
    let folders = [out_dir.as_ref(), Some(dir.as_ref().unwrap_or(&here))];
    if let Some(out) = args.out.as_deref().filter(|o| std::fs::symlink_metadata(o).is_ok_and(|m| m.is_dir())) {
        anyhow::bail!("{}: is a folder, not a file to write", out.display());
    }
    adr_onnx::output::refuse_unwritable(&[], &folders.into_iter().flatten().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let limit = args.memory.limit();
    // The file as read, to check the result against.
    let original = OriginalModel { path: args.model.clone(), proto: adr_onnx::onnx::proto::read_model(&args.model)? };
    let model = front::within_memory(import_proto(&args.model, &original.proto)?, &limit, "run")?;
    let mut text = adr_onnx::input::read_document(&args.goal, "a goal file")?;
    let goal_files = adr_onnx::goal::data::files_named(&args.goal, &text);
    refuse_clobber(&args, dir.as_deref(), Some(&model.graph), &goal_files)?;
    let all_targets = asks_all_targets(&text);
    // `with_target` rewrites the text, which would hide a repeated key.
    if let Some(r) = adr_onnx::goal::strict_json::first_repeated_key(&text) {
        anyhow::bail!(
            "{}: at {}: key `{}` appears twice in this object",
            args.goal.display(),
            r.pointer,
            adr_onnx::error::clip(&r.key)
        );
    }
    if let Some(e) = args.epsilon {
        // Checked as written first (a repeated key, a bad field), then
        // given the command line's radius.
        adr_onnx::goal::parse(&args.goal, &with_target(&text, all_targets, None), &model)?;
        let written: serde_json::Value = serde_json::from_str(&text)?;
        text = adr_onnx::goal::with_epsilon(&args.goal, &written, e)?.to_string();
    }
    // With `"target": "all"`, the goal without a target sizes everything;
    // each search then gets its own target.
    let goal = adr_onnx::goal::parse(&args.goal, &with_target(&text, all_targets, None), &model)?;
    let cli = args.method.block()?;
    let settings = front::settings(&model, &goal, &cli).map_err(|e| {
        anyhow::anyhow!("settings (from {}'s method block, the flags and the defaults): {e}", args.goal.display())
    })?;
    let selected = select(&args.backend.request())?;
    let goals = std::slice::from_ref(&goal);
    // Restarts beyond what memory holds at once stream through waves.
    let wave =
        limit.rows_that_fit("run", &Workload::of(&model.graph, selected.runtime, &settings, goals, (1, None)))?;
    let mut engine =
        front::engine(&model, selected.backend.as_ref(), &goal, &settings, settings.restarts).with_max_rows(wave);
    let show = !args.quiet && std::io::stderr().is_terminal();
    let mut bar = Bar::new(show);
    let (goal, outcome) = if all_targets {
        search_every_target(&args.goal, &text, &model, goal, &mut engine, &settings, &mut bar)?
    } else {
        let outcome = optimise(&mut engine, std::slice::from_ref(&goal), &settings, &mut bar, None)?;
        (goal, outcome)
    };
    let best = &outcome.best[0];
    let (file_backend, file_runtime) = adr_onnx::runtime::select::file_runtime(&args.backend.request());
    let file = FileRunner { original: &original, backend: file_backend.as_ref(), runtime: file_runtime };
    let file_check = check_against_file(file, &model, &goal.output_name, best)?;
    let dir = match dir {
        Some(dir) => dir,
        None => artifacts::claim_fresh_dir(Path::new(""))?,
    };
    // An earlier run's report goes first: a run killed while replacing the
    // artifacts must not leave it beside artifacts it does not describe.
    if let Some(out) = &args.out {
        let folder = adr_onnx::output::folder_of(out);
        std::fs::create_dir_all(&folder).map_err(|e| adr_onnx::error::Error::io(&folder, e))?;
        adr_onnx::output::remove_if_present(out)?;
    }
    let written =
        artifacts::write_all(&dir, &model.graph, model.batched, &goal, (&best.x, &best.output), &outcome.trace)?;
    let report = RunReport::build(RunFacts {
        model: model_info(&args.model, &goal.output_name)?,
        goal: &goal,
        settings: &settings,
        backend: selected.info.clone(),
        outcome: &outcome,
        artifacts: written,
        file_check: Some(file_check),
    });
    let json = serde_json::to_string_pretty(&report)?;
    match &args.out {
        Some(p) => adr_onnx::output::write(p, (json + "\n").as_bytes())?,
        None => outln!("{json}")?,
    }
    if !args.quiet {
        if let Some(why) = report.file_check.as_ref().and_then(|c| c.unavailable.as_ref()) {
            eprintln!("adr-onnx: note: {}: the result was not checked against the file: {why}", args.model.display());
        }
        for l in &report.left_out {
            eprintln!("adr-onnx: note: {} left out: {}", l.stage, l.reason);
        }
        eprintln!("{}", summary_line(&report, args.out.as_deref()));
    }
    Ok(ExitCode::from(if report.achieved { super::EXIT_OK } else { super::EXIT_NOT_ACHIEVED }))
}

/// The best point's output (the tensor `output`) against the model file's
/// own there: an error, before any report or artifact, when the network
/// the search ran on disagrees with the file.
fn check_against_file(
    file: FileRunner,
    model: &adr_onnx::onnx::ImportedModel,
    output: &str,
    best: &adr_onnx::optim::track::Best,
) -> anyhow::Result<FileCheck> {
    let x = ndarray::ArrayView2::from_shape((1, best.x.len()), &best.x)?;
    let derived = ndarray::ArrayView2::from_shape((1, best.output.len()), &best.output)?;
    Ok(file.check(model, output, x, derived)?)
}

/// Whether a goal's text asks for every wrong class as a target (a
/// target_class goal with `"target": "all"`; a reconstruction goal's
/// `target` is data).
fn asks_all_targets(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| {
        v.get("kind").and_then(|k| k.as_str()) == Some("target_class")
            && v.get("target").and_then(|t| t.as_str()) == Some("all")
    })
}

/// The goal text with its `target` set to `class` (none: removed), when
/// `replace`; else the text as it is.
fn with_target(text: &str, replace: bool, class: Option<usize>) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else { return text.to_string() };
    match (replace, v.as_object_mut()) {
        (true, Some(o)) => {
            match class {
                Some(c) => o.insert("target".into(), c.into()),
                None => o.remove("target"),
            };
            v.to_string()
        }
        _ => text.to_string(),
    }
}

/// `"target": "all"`: one targeted search per class other than the label,
/// the most likely at the start first, until one is reached. Returns the
/// goal of the last search (its target the class reached, or the last one
/// tried) and its outcome, with every search's phases, iterations and
/// seconds.
fn search_every_target(
    path: &Path,
    text: &str,
    model: &adr_onnx::onnx::ImportedModel,
    untargeted: adr_onnx::goal::Goal,
    engine: &mut Engine,
    settings: &Settings,
    bar: &mut Bar,
) -> anyhow::Result<(adr_onnx::goal::Goal, adr_onnx::optim::Outcome)> {
    let (adr_onnx::goal::Criterion::Class { label, .. }, adr_onnx::goal::Start::Given(x0)) =
        (&untargeted.criterion, &untargeted.start)
    else {
        anyhow::bail!("{}: target \"all\" needs a target_class goal", path.display());
    };
    let start = ndarray::Array2::from_shape_vec((1, x0.len()), x0.clone())?;
    let clean = engine.eval(&start)?;
    let classes = adr_onnx::optim::wrong_classes_by_likelihood(&clean.y.row(0).to_vec(), *label);
    let mut searched: Option<(adr_onnx::goal::Goal, adr_onnx::optim::Outcome)> = None;
    for class in classes {
        let goal = adr_onnx::goal::parse(path, &with_target(text, true, Some(class)), model)?;
        let mut outcome = optimise(engine, std::slice::from_ref(&goal), settings, bar, None)?;
        if let Some((_, before)) = &searched {
            let mut phases = before.phases.clone();
            phases.append(&mut outcome.phases);
            outcome.phases = phases;
            outcome.iterations += before.iterations;
            outcome.seconds += before.seconds;
        }
        let reached = outcome.best[0].assessment.achieved;
        searched = Some((goal, outcome));
        if reached {
            break;
        }
    }
    searched.ok_or_else(|| anyhow::anyhow!("{}: the model has no class but the label", path.display()))
}

/// One line on what a run found: achieved or not, by which stage, the
/// score, the distance from the start, the time and where the report is.
fn summary_line(r: &adr_onnx::report::RunReport, out: Option<&Path>) -> String {
    let verdict = if r.achieved { "achieved" } else { "not achieved" };
    let report = out.map_or_else(|| "report on stdout".to_string(), |p| format!("report {}", p.display()));
    format!(
        "{verdict} by {}: score {:.6}, L-inf {:.6} from the start, {} iterations in {:.1} s; {report}",
        r.best.phase, r.best.point.score, r.best.distance_linf, r.iterations, r.timing.total_seconds
    )
}
