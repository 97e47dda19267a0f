//! `adr-onnx audit` and `adr-onnx audit-merge`: robust accuracy of a model
//! over a dataset, shardable over machines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::audit::provenance::Origin;
use adr_onnx::audit::session::Session;
use adr_onnx::audit::{self, page, AuditInput, AuditReport, Shard};
use adr_onnx::error::clip;
use adr_onnx::input::sha256_hex;
use adr_onnx::onnx::{import_proto, proto::decode_model};
use adr_onnx::original::{FileRunner, OriginalModel};
use anyhow::Context;

use super::audit_export::{file_name, ExportArgs};
use super::audit_status::AuditWatcher;
use super::backend::BackendArgs;
use super::memory::MemoryArgs;
use super::method::MethodArgs;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The ONNX classifier.
    model: PathBuf,
    /// The images: `.npy` with the samples along the first axis, a `.npz`
    /// archive holding the arrays `images` and `labels`, an image folder
    /// (one subfolder of PNG/JPEG files per class), or a `.csv` of features
    /// and a `label` column.
    #[arg(long)]
    images: PathBuf,
    /// Their labels, `.npy` of integers (only with a `.npy` of images).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// The goal template: a target_class goal without `input` and `label`
    /// (with `target`: a targeted audit).
    #[arg(long)]
    goal: PathBuf,
    /// Audit every N-th sample starting at K (K/N).
    #[arg(long, value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Only the first N samples of the dataset (N > 0).
    #[arg(long)]
    limit: Option<usize>,
    /// Goals per batch.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// A robustness curve: attack at each radius in turn (comma-separated,
    /// e.g. 0.05,0.1,0.2), each on the samples still robust, instead of the
    /// template's epsilon; then bisect between the radii for each flipped
    /// sample's `min_epsilon`.
    #[arg(long, value_delimiter = ',', value_parser = positive_radius)]
    epsilons: Vec<f64>,
    /// With --epsilons: bisect each flipped sample's radius until the
    /// bracket is at most this fraction of the listed radius that flipped
    /// it, in (0, 1]; 1: the listed radii only [default: 0.05].
    #[arg(long, requires = "epsilons", value_parser = tolerance_fraction)]
    epsilon_tolerance: Option<f64>,
    /// Attack at this radius instead of the template's epsilon.
    #[arg(long, value_parser = positive_radius, conflicts_with = "epsilons")]
    epsilon: Option<f64>,
    /// A targeted audit with one target class per sample (`.npy` of
    /// integers, one per label); the template then gives no `target`.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// With --epsilons: also draw the curve (robust accuracy against
    /// epsilon) as a PNG.
    #[arg(long, requires = "epsilons")]
    curve: Option<PathBuf>,
    #[command(flatten)]
    method: MethodArgs,
    /// The JSON report.
    #[arg(long)]
    out: PathBuf,
    /// Also write a self-contained HTML page with the worst examples.
    #[arg(long)]
    page: Option<PathBuf>,
    /// No progress bar and no summary line.
    #[arg(long)]
    quiet: bool,
    /// Off a terminal: seconds between status lines (0: after every batch).
    #[arg(long, default_value_t = 30.0, value_parser = seconds)]
    status_every: f64,
    /// Continue an interrupted audit from its partial file (`OUT.partial`)
    /// without attacking its finished samples again; without one, start.
    #[arg(long)]
    resume: bool,
    /// Stop (exit 2) once this run attacked N samples, keeping the partial
    /// file, as an interruption would: for testing --resume.
    #[arg(long, hide = true)]
    stop_after: Option<usize>,
    /// Also write the successful adversarial examples as one `.npy` stack
    /// (float32, the images' shape past the first axis), in sample order.
    #[arg(long)]
    adversarials: Option<PathBuf>,
    #[command(flatten)]
    export: ExportArgs,
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    memory: MemoryArgs,
}

/// A non-negative, finite number of seconds.
fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a non-negative number of seconds")),
    }
}

/// The partial file of the audit writing `out`.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard reports, in any order.
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// The merged report.
    #[arg(long)]
    out: PathBuf,
    /// Also write the HTML page (needs the images).
    #[arg(long, requires = "images")]
    page: Option<PathBuf>,
    /// The audited images, `.npy`, `.npz`, image folder or `.csv` (for the
    /// page; checked against the reports).
    #[arg(long)]
    images: Option<PathBuf>,
    /// The audited model (checked against the reports): its input shape
    /// decodes an image folder given as --images.
    #[arg(long, requires = "images")]
    model: Option<PathBuf>,
    /// The audited labels (`.npy`, or the `.npz` of the audit): every
    /// shard's labels are checked against them
    /// (and, with --images, the reports' dataset_sha256).
    #[arg(long)]
    labels: Option<PathBuf>,
    #[command(flatten)]
    export: ExportArgs,
    /// No summary line on standard error.
    #[arg(long)]
    quiet: bool,
}

fn write_json(path: &Path, report: &AuditReport) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    Ok(adr_onnx::output::write(path, (json + "\n").as_bytes())?)
}

fn read_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    Ok(adr_onnx::input::read(path)?)
}

/// A JSON document in which no object repeats a key: a goal template (at
/// most `input::DOCUMENT_CAP` bytes) or a shard report (`what` is `None`,
/// no cap).
fn read_json_document(path: &Path, what: Option<&'static str>) -> anyhow::Result<String> {
    let text = match what {
        Some(what) => adr_onnx::input::read_document(path, what)?,
        None => adr_onnx::input::read_text(path)?,
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() {
        if let Some(r) = adr_onnx::goal::strict_json::first_repeated_key(&text) {
            anyhow::bail!("{}: at {}: key `{}` appears twice in this object", path.display(), r.pointer, clip(&r.key));
        }
    }
    Ok(text)
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = vec![&args.model, &args.images, &args.goal];
    inputs.extend(args.labels.iter().chain(&args.targets));
    let partial = partial_path(&args.out);
    let outputs = [&args.out, &partial].into_iter().chain(&args.page).chain(&args.curve).chain(&args.adversarials);
    let outputs: Vec<&Path> = outputs.chain(args.export.outputs()).map(PathBuf::as_path).collect();
    adr_onnx::output::refuse_clobber(&inputs.iter().map(|p| p.as_path()).collect::<Vec<_>>(), &outputs)?;
    adr_onnx::output::refuse_unwritable(&outputs, &[])?;
    anyhow::ensure!(
        args.resume || !partial.exists(),
        "{}: the partial file of an interrupted audit: continue it with --resume, or delete it",
        partial.display()
    );
    let limit = args.memory.limit();
    let model_bytes = read_bytes(&args.model)?;
    // The file as read, to check the derived network against.
    let original = OriginalModel { path: args.model.clone(), proto: decode_model(&args.model, &model_bytes)? };
    let model = adr_onnx::front::within_memory(import_proto(&args.model, &original.proto)?, &limit, "audit")?;
    if !args.quiet && adr_onnx::surrogate::relu_sites(&model.graph).is_empty() {
        eprintln!(
            "adr-onnx: note: {}: {}; `auto` runs without its adr stage",
            args.model.display(),
            adr_onnx::optim::NO_RELU_LEFT_OUT
        );
    }
    let dataset = adr_onnx::dataset::load(&args.images, args.labels.as_deref(), &model.input_shape())?;
    let (images, labels) = (&dataset.images, &dataset.labels);
    let targets = match &args.targets {
        Some(p) => Some((p.as_path(), adr_onnx::dataset::read_labels(p)?)),
        None => None,
    };
    let Some(&count) = images.shape().first() else {
        anyhow::bail!("{}: expected samples along the first axis, found a scalar", args.images.display());
    };
    // Before --limit, which would hide the mismatch.
    anyhow::ensure!(
        count == labels.len(),
        "{} holds {count} images but {} holds {} labels",
        args.images.display(),
        dataset.labels_path.display(),
        labels.len()
    );
    anyhow::ensure!(args.limit != Some(0), "--limit 0: the dataset holds no sample");
    let audited = args.limit.map_or(count, |limit| limit.min(count));
    let (images_sha256, labels_sha256) = (dataset.images_sha256.clone(), &dataset.labels_sha256);
    let text = read_json_document(&args.goal, Some("a goal template"))?;
    let mut template: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", args.goal.display()))?;
    // The report's goal is at the radius its robust accuracy is measured at:
    // with --epsilons the largest (a sample counts robust when no listed
    // radius flipped it).
    let epsilons = radii(&args.epsilons);
    if let Some(e) = args.epsilon.or(epsilons.last().copied()) {
        template = adr_onnx::goal::with_epsilon(&args.goal, &template, e)?;
    }
    let cli = args.method.block()?;
    let selected = adr_onnx::runtime::select::select(&args.backend.request())?;
    let (file_backend, file_runtime) = adr_onnx::runtime::select::file_runtime(&args.backend.request());
    let input = AuditInput {
        model: &model,
        model_sha256: sha256_hex(&model_bytes),
        images,
        images_path: &args.images,
        dataset_sha256: audit::dataset_sha256(&images_sha256, labels_sha256, audited),
        images_sha256,
        labels,
        labels_path: &dataset.labels_path,
        limit: args.limit,
        template_path: &args.goal,
        template,
        cli,
        backend: selected.backend.as_ref(),
        batch: args.batch,
        epsilons,
        epsilon_tolerance: args.epsilon_tolerance.unwrap_or(audit::bisect::DEFAULT_TOLERANCE),
        targets,
        shard: args.shard.unwrap_or(Shard::WHOLE),
        file: Some(FileRunner { original: &original, backend: file_backend.as_ref(), runtime: file_runtime }),
        memory: limit,
        runtime: selected.runtime,
    };
    let started = std::time::Instant::now();
    let every = std::time::Duration::from_secs_f64(args.status_every);
    let mut watcher = AuditWatcher::new(args.quiet, std::io::stderr().is_terminal(), every);
    let origin = Origin {
        backend: selected.info.name.clone(),
        backend_version: selected.info.version.clone().unwrap_or_default(),
        device: selected.info.device.clone(),
        model_file: file_name(&args.model),
    };
    let mut session = Session {
        progress: &mut watcher,
        partial: Some((partial.clone(), args.resume)),
        stop_after: args.stop_after,
        origin,
        held: None,
    };
    let report = audit::run(&input, &mut session);
    // The partial file's lock, held until the file is gone.
    let held = session.held.take();
    watcher.finish();
    // Only a run that held the partial file may remove it (a run refused by
    // another's lock removed that run's file).
    if report.is_err() && held.is_some() {
        forget_empty_partial(&partial);
    }
    let report = report?;
    write_json(&args.out, &report)?;
    if let Some(p) = &args.adversarials {
        let stack = audit::export::adversarial_stack(&args.out, &report, images.shape().get(1..).unwrap_or_default())?;
        adr_onnx::report::artifacts::write_npy(p, &stack)?;
    }
    args.export.write(&report, &file_name(&args.model))?;
    if let Some(p) = &args.page {
        page::write_html(p, &report, images, &args.model.display().to_string())?;
    }
    if let Some(p) = &args.curve {
        write_curve(p, &report)?;
    }
    if !args.quiet {
        note_unchecked(&args.model.display().to_string(), &report);
    }
    if !args.quiet {
        eprintln!(
            "audited {} samples in {:.1} s: {}",
            report.summary.samples,
            started.elapsed().as_secs_f64(),
            accuracy_words(&report)
        );
    }
    // The report holds every result now; the lock goes after the file.
    std::fs::remove_file(&partial).with_context(|| format!("removing {}", partial.display()))?;
    drop(held);
    Ok(args.export.verdict(&report))
}

/// Removes a partial file that holds no result (its header alone): an audit
/// that failed before its first batch finished leaves nothing to resume,
/// and a corrected command must not be refused for it.
fn forget_empty_partial(partial: &Path) {
    let lines = std::fs::read_to_string(partial).map(|t| t.lines().filter(|l| !l.trim().is_empty()).count());
    if lines.is_ok_and(|n| n <= 1) {
        let _ = std::fs::remove_file(partial);
    }
}

/// The figures of a summary line: clean accuracy, attack success, robust
/// accuracy and the radius it holds at, and the samples a targeted audit
/// did not attack because their label is the target (not robust).
fn accuracy_words(report: &AuditReport) -> String {
    let s = &report.summary;
    let radius = report.goal.get("epsilon").and_then(serde_json::Value::as_f64);
    let at_target = report.samples.iter().filter(|r| r.skip_reason.as_deref() == Some(audit::SKIP_LABEL_IS_TARGET));
    let at_target = at_target.count();
    format!(
        "clean accuracy {:.2}%, attack success {}/{} ({:.2}%), robust accuracy {:.2}%{}{}",
        100.0 * s.clean_accuracy,
        s.successes,
        s.attacked,
        100.0 * s.attack_success_rate,
        100.0 * s.robust_accuracy,
        radius.map(|e| format!(" at epsilon {e}")).unwrap_or_default(),
        match at_target {
            0 => String::new(),
            n => format!(" ({n} samples of the target's class not attacked, counted not robust)"),
        }
    )
}

/// `--epsilons` values: positive numbers, finite in f32.
pub(super) fn positive_radius(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (v as f32).is_finite() && v as f32 > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not a positive, finite 32-bit radius"))
    }
}

/// `--epsilon-tolerance`: a fraction in (0, 1].
fn tolerance_fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not a fraction in (0, 1]"))
    }
}

/// The radii ascending, each once.
fn radii(given: &[f64]) -> Vec<f64> {
    let mut v = given.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The robustness curve of an audit as a PNG.
fn write_curve(path: &Path, report: &AuditReport) -> anyhow::Result<()> {
    use adr_onnx::report::plot::{write_line_plot, LinePlot, Series};
    let points = report.curve.iter().map(|p| (p.epsilon, 100.0 * p.robust_accuracy)).collect();
    let plot = LinePlot {
        title: format!("robust accuracy, {} samples", report.summary.samples),
        x_label: "epsilon".into(),
        y_label: "robust accuracy (%)".into(),
        series: vec![Series { name: "robust accuracy".into(), points }],
        log_x: false,
        log_y: false,
    };
    write_line_plot(path, &plot).with_context(|| format!("writing {}", path.display()))
}

/// The input shape of the model `path`, refused unless its SHA-256 is
/// `model_sha256` (the reports').
fn audited_input_shape(path: &Path, model_sha256: &str) -> anyhow::Result<Vec<usize>> {
    let sha = sha256_hex(&read_bytes(path)?);
    anyhow::ensure!(
        sha == model_sha256,
        "{}: not the audited model (SHA-256 {sha}, the reports' model_sha256 is {model_sha256})",
        path.display()
    );
    Ok(adr_onnx::onnx::import(path)?.input_shape())
}

/// The note on standard error where the file of `model` could not be run
/// to check the derived network (for some shard of a merge).
fn note_unchecked(model: &str, report: &AuditReport) {
    if let Some(why) = report.provenance.file_check.as_ref().and_then(|c| c.unavailable.as_ref()) {
        eprintln!("adr-onnx: note: {model}: the derived network was not checked against the file: {why}");
    }
}

pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.images.is_none() || args.page.is_some(), "--images is only used with --page");
    let inputs: Vec<&Path> =
        args.reports.iter().chain(&args.images).chain(&args.labels).chain(&args.model).map(PathBuf::as_path).collect();
    let outputs: Vec<&Path> =
        std::iter::once(&args.out).chain(&args.page).chain(args.export.outputs()).map(PathBuf::as_path).collect();
    adr_onnx::output::refuse_clobber(&inputs, &outputs)?;
    adr_onnx::output::refuse_unwritable(&outputs, &[])?;
    let reports = args
        .reports
        .iter()
        .map(|p| {
            let text = read_json_document(p, None)?;
            let report = serde_json::from_str::<AuditReport>(&text).with_context(|| {
                format!("{}: not an audit report (schema version {})", p.display(), audit::AUDIT_SCHEMA_VERSION)
            })?;
            Ok((p.clone(), report))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(labels_path) = &args.labels {
        let labels = adr_onnx::dataset::read_labels(labels_path)?;
        for (path, report) in &reports {
            audit::check_labels(path, report, labels_path, &labels)?;
        }
    }
    let merged = audit::merge(reports)?;
    // Checked before anything is written.
    let images = match (&args.page, &args.images) {
        (Some(_), Some(path)) => {
            let sha = adr_onnx::dataset::sha256(path)?;
            anyhow::ensure!(
                sha == merged.images_sha256,
                "{}: not the audited images (SHA-256 {sha}, the reports' images_sha256 is {})",
                path.display(),
                merged.images_sha256
            );
            if let Some(labels_path) = &args.labels {
                let labels_sha = adr_onnx::dataset::sha256(labels_path)?;
                anyhow::ensure!(
                    audit::dataset_sha256(&sha, &labels_sha, merged.dataset_samples) == merged.dataset_sha256,
                    "{}: not the audited labels (the reports' dataset_sha256 differs)",
                    labels_path.display()
                );
            }
            let shape = match &args.model {
                Some(m) => Some(audited_input_shape(m, &merged.model_sha256)?),
                None if path.is_dir() => {
                    anyhow::bail!("{}: an image folder needs --model (the audited model)", path.display())
                }
                None => None,
            };
            Some(adr_onnx::dataset::read_images(path, shape.as_deref())?)
        }
        _ => None,
    };
    write_json(&args.out, &merged)?;
    if let (Some(p), Some(images)) = (&args.page, &images) {
        page::write_html(p, &merged, images, "the merged audit")?;
    }
    args.export.write(&merged, &merged.provenance.model_file)?;
    if !args.quiet {
        note_unchecked(&merged.provenance.model_file, &merged);
        eprintln!(
            "merged {} shard reports, {} samples: {}; report {}",
            args.reports.len(),
            merged.summary.samples,
            accuracy_words(&merged),
            args.out.display()
        );
    }
    Ok(args.export.verdict(&merged))
}
