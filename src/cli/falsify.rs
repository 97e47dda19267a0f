//! `adr-onnx falsify`: searches a VNN-LIB property's unsafe set for a
//! counterexample; writes `sat` with the assignment, `timeout`, `unknown`,
//! or `error` and its reason (a falsifier never claims `unsat`). One
//! instance (model and property), or a batch listed in a VNN-COMP
//! `instances.csv`.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use adr_onnx::goal::schema::MethodBlock;
use adr_onnx::memory::MemoryLimit;
use adr_onnx::original::{LoadedOriginal, OriginalModel};
use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest, Selected};
use adr_onnx::runtime::tract::TractBackend;
use adr_onnx::runtime::Device;
use adr_onnx::vnnlib::falsify::{falsify, vnncomp_error_text, vnncomp_text, FalsifyConfig, FalsifyOutcome, Verdict};
use adr_onnx::vnnlib::files;
use anyhow::Context;

use super::backend::BackendArgs;
use super::memory::MemoryArgs;
use super::method::MethodArgs;
use super::progress::Bar;
use super::stdout::{out, outln};

#[derive(clap::Args, Debug)]
pub struct FalsifyArgs {
    /// The ONNX network (`.onnx`, or gzipped `.onnx.gz`).
    #[arg(required_unless_present = "instances", conflicts_with = "instances")]
    model: Option<PathBuf>,
    /// The VNN-LIB property (`.vnnlib` or `.vnnlib.gz`): its unsafe set is searched.
    #[arg(required_unless_present = "instances", conflicts_with = "instances")]
    property: Option<PathBuf>,
    /// Seconds for the whole command, loading included (the answer is then `timeout`).
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Write the result (VNN-COMP format) here instead of standard output;
    /// written on every outcome, `error` and its reason included.
    #[arg(long, conflicts_with = "instances")]
    out: Option<PathBuf>,
    /// Write a JSON report of the search here.
    #[arg(long, conflicts_with = "instances")]
    report: Option<PathBuf>,
    /// Run every row `onnx,vnnlib,timeout` of this CSV (paths relative to
    /// it; the row's timeout replaces --timeout) and print a summary table.
    #[arg(long, requires = "out_dir")]
    instances: Option<PathBuf>,
    /// With --instances: the folder for one result file per row.
    #[arg(long, requires = "instances")]
    out_dir: Option<PathBuf>,
    /// Stop after this many rounds of restarts (answer `unknown`).
    #[arg(long)]
    rounds: Option<usize>,
    /// The optimiser is auto (PGD, then ADR from PGD's best) unless --method
    /// says otherwise; restarts are per disjunct and round (default 8).
    #[command(flatten)]
    method: MethodArgs,
    /// No progress bar and no notes on standard error.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    memory: MemoryArgs,
}

/// The runtimes that re-run counterexamples on the original file, as the
/// report's confirmations name them.
const TRACT_CHECK: &str = "tract (original file)";
const ORT_CHECK: &str = "onnxruntime (original file)";

/// The search backend and the ONNX Runtime checker, chosen once.
struct Runtimes {
    selected: Selected,
    checker: Option<Selected>,
    /// Why ONNX Runtime cannot check counterexamples, when it cannot.
    checker_missing: Option<String>,
}

fn runtimes(backend: &BackendArgs) -> anyhow::Result<Runtimes> {
    let request = backend.request();
    let selected = select(&request)?;
    // ONNX Runtime re-checks counterexamples whenever its library (the one
    // the backend flags name) loads; without it tract alone confirms them.
    let checker_request = BackendRequest { choice: BackendChoice::Ort, device: Device::Cpu, threads: 1, ..request };
    let (checker, checker_missing) = match select(&checker_request) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(format!("{e}").replace('\n', " "))),
    };
    Ok(Runtimes { selected, checker, checker_missing })
}

/// Settings shared by every instance of a command.
struct Common {
    method: MethodBlock,
    memory: MemoryLimit,
    rounds: Option<usize>,
    quiet: bool,
}

/// One instance's outcome and its JSON report.
struct InstanceRun {
    outcome: FalsifyOutcome,
    report: serde_json::Value,
}

/// Loads and falsifies one instance within `timeout` seconds counted from
/// `started`.
fn falsify_instance(
    rt: &Runtimes,
    common: &Common,
    model_path: &Path,
    property_path: &Path,
    timeout: f64,
    started: Instant,
) -> anyhow::Result<InstanceRun> {
    anyhow::ensure!(timeout.is_finite() && timeout > 0.0, "the timeout must be a positive number of seconds");
    let budget =
        Duration::try_from_secs_f64(timeout).map_err(|_| anyhow::anyhow!("the timeout {timeout} is too large"))?;
    let property = files::read_property(property_path)?;
    // Plain or gzipped, as the competition ships it.
    let original = OriginalModel { path: model_path.to_path_buf(), proto: files::read_model(model_path)? };
    let model = adr_onnx::onnx::import_proto(model_path, &original.proto)?;
    let model = adr_onnx::front::within_memory(model, &common.memory, "falsify")?;
    let tract_check = LoadedOriginal::new(&TractBackend, &original, &model);
    let ort_check = rt.checker.as_ref().map(|c| LoadedOriginal::new(c.backend.as_ref(), &original, &model));
    let confirm = |x: &[f32]| -> adr_onnx::Result<Vec<(String, Vec<f64>)>> {
        let mut v = vec![(TRACT_CHECK.to_string(), tract_check.run(x)?)];
        if let Some(c) = &ort_check {
            v.push((ORT_CHECK.to_string(), c.run(x)?));
        }
        Ok(v)
    };
    let config = FalsifyConfig {
        timeout: budget.saturating_sub(started.elapsed()),
        max_rounds: common.rounds,
        method: common.method.clone(),
        memory: common.memory.clone(),
        runtime: rt.selected.runtime,
    };
    let mut bar = Bar::new(!common.quiet && std::io::stderr().is_terminal());
    let outcome = falsify(&model, &property, property_path, rt.selected.backend.as_ref(), &config, &confirm, &mut bar)?;
    let confirmed_by: Vec<&str> =
        [Some(TRACT_CHECK), rt.checker.as_ref().map(|_| ORT_CHECK)].into_iter().flatten().collect();
    let report = serde_json::json!({
        "schema_version": adr_onnx::document::FALSIFY_REPORT.schema_version,
        "kind": adr_onnx::document::FALSIFY_REPORT.kind,
        "tool": adr_onnx::report::ToolInfo::current(),
        "model": model_path.display().to_string(),
        "property": property_path.display().to_string(),
        "backend": rt.selected.info,
        "timeout_seconds": timeout,
        "confirmation": {
            "runtimes": confirmed_by,
            "onnxruntime_unavailable": rt.checker_missing,
        },
        "outcome": outcome,
    });
    Ok(InstanceRun { outcome, report })
}

/// Runs `f`, turning a panic into an error so that a result file is still
/// written (the panic hook has printed the message).
fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(anyhow::anyhow!("internal error (a panic)")))
}

fn write_result(path: &Path, text: &str) -> anyhow::Result<()> {
    Ok(adr_onnx::output::write(path, text.as_bytes())?)
}

pub fn run(args: FalsifyArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // A bad `--set` is the result file's `error` too (checked in `guarded`).
    let method = args.method.block();
    let common = |method| Common { method, memory: args.memory.limit(), rounds: args.rounds, quiet: args.quiet };
    if let (Some(csv), Some(out_dir)) = (&args.instances, &args.out_dir) {
        return run_batch(&args.backend, &common(method?), csv, out_dir);
    }
    let (Some(model_path), Some(property_path)) = (&args.model, &args.property) else {
        anyhow::bail!("give a model and a property, or --instances");
    };
    let outputs: Vec<&Path> = args.out.iter().chain(&args.report).map(PathBuf::as_path).collect();
    let refused = adr_onnx::output::refuse_clobber(&[model_path, property_path], &outputs)
        .and_then(|()| adr_onnx::output::refuse_unwritable(&outputs, &[]));
    if let Err(e) = refused {
        // The result file is written in every case where it can be: the
        // refusal may concern --report alone.
        if let Some(out) = &args.out {
            let writable = adr_onnx::output::refuse_clobber(&[model_path, property_path], &[out])
                .and_then(|()| adr_onnx::output::refuse_unwritable(&[out], &[]));
            if writable.is_ok() {
                write_result(out, &vnncomp_error_text(&e.to_string()))?;
            }
        }
        return Err(e.into());
    }
    let result = guarded(|| {
        let common = common(method?);
        let rt = runtimes(&args.backend)?;
        let run = falsify_instance(&rt, &common, model_path, property_path, args.timeout, started)?;
        Ok((rt, run))
    });
    let (rt, run) = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(out) = &args.out {
                write_result(out, &vnncomp_error_text(&format!("{e:#}")))?;
            }
            // An earlier run's report would contradict the result file.
            if let Some(Err(r)) = args.report.as_deref().map(adr_onnx::output::remove_if_present) {
                return Err(e.context(format!("removing the earlier report: {r}")));
            }
            return Err(e);
        }
    };
    if !args.quiet {
        if let (Some(why), Verdict::Sat) = (&rt.checker_missing, run.outcome.verdict) {
            eprintln!(
                "adr-onnx: note: counterexample confirmed by tract alone; ONNX Runtime could not check it: {why}"
            );
        }
        for l in &run.outcome.left_out {
            eprintln!("adr-onnx: note: {} left out: {}", l.stage, l.reason);
        }
        if let (Verdict::Unknown, Some(reason)) = (run.outcome.verdict, &run.outcome.reason) {
            if !run.outcome.disjuncts_without_f32_point.is_empty() && run.outcome.rounds == 0 {
                eprintln!("adr-onnx: note: {reason}");
            }
        }
    }
    let text = vnncomp_text(&run.outcome);
    match &args.out {
        Some(p) => write_result(p, &text)?,
        None => out!("{text}")?,
    }
    if let Some(p) = &args.report {
        adr_onnx::output::write(p, (serde_json::to_string_pretty(&run.report)? + "\n").as_bytes())?;
    }
    Ok(ExitCode::from(if run.outcome.verdict == Verdict::Sat { super::EXIT_OK } else { super::EXIT_NOT_ACHIEVED }))
}

/// One row of an `instances.csv`.
struct Instance {
    line: usize,
    model: PathBuf,
    property: PathBuf,
    timeout: f64,
}

/// Reads `onnx,vnnlib,timeout` rows (blank lines and `#` comments
/// skipped); paths relative to the CSV's folder.
fn read_instances(csv: &Path) -> anyhow::Result<Vec<Instance>> {
    let text = adr_onnx::input::read_document(csv, "an instances CSV")?;
    let dir = csv.parent().unwrap_or(Path::new(""));
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [model, property, timeout] = fields.as_slice() else {
            anyhow::bail!(
                "{}: line {line_no}: expected onnx,vnnlib,timeout, got {} fields",
                csv.display(),
                fields.len()
            );
        };
        let timeout: f64 = timeout
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t > 0.0)
            .ok_or_else(|| anyhow::anyhow!("{}: line {line_no}: bad timeout '{timeout}'", csv.display()))?;
        anyhow::ensure!(
            !model.is_empty() && !property.is_empty(),
            "{}: line {line_no}: empty model or property path",
            csv.display()
        );
        rows.push(Instance { line: line_no, model: dir.join(model), property: dir.join(property), timeout });
    }
    anyhow::ensure!(!rows.is_empty(), "{}: no instances", csv.display());
    Ok(rows)
}

/// A file's name without its extensions (`a.onnx.gz` -> `a`).
fn stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_string()
}

/// Runs every row of `csv`, writes `<line>_<model>_<property>.txt` in
/// `out_dir` for each, and prints a summary table. Exit 0 when every row
/// ran (whatever its verdict), 2 when a row ended in an error.
fn run_batch(backend: &BackendArgs, common: &Common, csv: &Path, out_dir: &Path) -> anyhow::Result<ExitCode> {
    let rows = read_instances(csv)?;
    adr_onnx::output::refuse_unwritable(&[], &[out_dir])?;
    std::fs::create_dir_all(out_dir).with_context(|| out_dir.display().to_string())?;
    let rt = runtimes(backend)?;
    if let (Some(why), false) = (&rt.checker_missing, common.quiet) {
        eprintln!("adr-onnx: note: counterexamples confirmed by tract alone; ONNX Runtime could not check them: {why}");
    }
    outln!("{:>5}  {:<8}  {:>8}  {:<40}  {:<40}  result file", "line", "result", "seconds", "model", "property")?;
    let mut errors = 0;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for row in &rows {
        // A signal ended the row under way (its file says so); the rest
        // are left without a file, as not run.
        if adr_onnx::interrupt::requested() {
            break;
        }
        let started = Instant::now();
        let result = guarded(|| falsify_instance(&rt, common, &row.model, &row.property, row.timeout, started));
        let name = format!("{}_{}_{}.txt", row.line, stem(&row.model), stem(&row.property));
        let out = out_dir.join(&name);
        let (word, text) = match &result {
            Ok(run) => (verdict_word(run.outcome.verdict), vnncomp_text(&run.outcome)),
            Err(e) => {
                errors += 1;
                eprintln!("adr-onnx: line {}: error: {}", row.line, format!("{e:#}").replace('\n', " "));
                ("error", vnncomp_error_text(&format!("{e:#}")))
            }
        };
        write_result(&out, &text)?;
        *counts.entry(word).or_default() += 1;
        outln!(
            "{:>5}  {:<8}  {:>8.2}  {:<40}  {:<40}  {}",
            row.line,
            word,
            started.elapsed().as_secs_f64(),
            row.model.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            row.property.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            name
        )?;
    }
    let tally: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    let ran: usize = counts.values().sum();
    let of = if ran < rows.len() { format!("{ran} of ") } else { String::new() };
    outln!("{of}{} instances: {}", rows.len(), tally.join(", "))?;
    if adr_onnx::interrupt::requested() {
        // Stopped by a signal: the row under way ended early (its file says
        // `timeout` or `sat`), the rows not run have no result file.
        let last = ran.checked_sub(1).and_then(|r| rows.get(r)).map_or(0, |r| r.line);
        anyhow::bail!("stopped by a signal during line {last}: {} instances not run", rows.len() - ran);
    }
    Ok(ExitCode::from(if errors == 0 { super::EXIT_OK } else { super::EXIT_ERROR }))
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Sat => "sat",
        Verdict::Timeout => "timeout",
        Verdict::Unknown => "unknown",
    }
}
