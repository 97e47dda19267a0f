//! `adr-onnx audit` and `adr-onnx audit-merge`: robust accuracy of a model
//! over a dataset, shardable over machines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::audit::{self, page, AuditInput, AuditReport, Shard};
use adr_onnx::error::clip;
use adr_onnx::goal::data::read_npy;
use adr_onnx::memory;
use adr_onnx::report::sha256_hex;
use anyhow::Context;

use super::backend::BackendArgs;
use super::memory::MemoryArgs;
use super::method::MethodArgs;
use super::progress::Bar;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The ONNX classifier.
    model: PathBuf,
    /// The images, `.npy` with the samples along the first axis.
    #[arg(long)]
    images: PathBuf,
    /// Their labels, `.npy` of integers.
    #[arg(long)]
    labels: PathBuf,
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
    /// template's epsilon; each sample gets its `min_epsilon`.
    #[arg(long, value_delimiter = ',', value_parser = positive_radius)]
    epsilons: Vec<f64>,
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
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    memory: MemoryArgs,
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
    /// The audited images (for the page; checked against the reports).
    #[arg(long)]
    images: Option<PathBuf>,
    /// The audited labels: every shard's labels are checked against them
    /// (and, with --images, the reports' dataset_sha256).
    #[arg(long)]
    labels: Option<PathBuf>,
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
    let mut inputs = vec![&args.model, &args.images, &args.labels, &args.goal];
    inputs.extend(&args.targets);
    adr_onnx::output::refuse_clobber(
        &inputs.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        &std::iter::once(&args.out).chain(&args.page).chain(&args.curve).map(PathBuf::as_path).collect::<Vec<_>>(),
    )?;
    let limit = args.memory.limit();
    let model = adr_onnx::onnx::import(&args.model)?;
    model.require_relu()?;
    limit.check("audit", &memory::model_estimate(&model.graph, memory::Runtime::Tract))?;
    let model_bytes = read_bytes(&args.model)?;
    let images = read_npy(&args.images)?;
    let labels = audit::read_labels(&args.labels)?;
    let targets = match &args.targets {
        Some(p) => Some((p.as_path(), audit::read_labels(p)?)),
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
        args.labels.display(),
        labels.len()
    );
    anyhow::ensure!(args.limit != Some(0), "--limit 0: the dataset holds no sample");
    let audited = args.limit.map_or(count, |limit| limit.min(count));
    let images_sha256 = sha256_hex(&read_bytes(&args.images)?);
    let labels_sha256 = sha256_hex(&read_bytes(&args.labels)?);
    let text = read_json_document(&args.goal, Some("a goal template"))?;
    let template: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", args.goal.display()))?;
    let cli = args.method.block()?;
    let selected = adr_onnx::runtime::select::select(&args.backend.request())?;
    let input = AuditInput {
        model: &model,
        model_sha256: sha256_hex(&model_bytes),
        images: &images,
        images_path: &args.images,
        dataset_sha256: audit::dataset_sha256(&images_sha256, &labels_sha256, audited),
        images_sha256,
        labels: &labels,
        labels_path: &args.labels,
        limit: args.limit,
        template_path: &args.goal,
        template,
        cli,
        backend: selected.backend.as_ref(),
        batch: args.batch,
        epsilons: radii(&args.epsilons),
        targets,
        shard: args.shard.unwrap_or(Shard::WHOLE),
        memory: limit,
        runtime: memory::Runtime::named(&selected.info.name),
    };
    let started = std::time::Instant::now();
    let mut bar = Bar::new(!args.quiet && std::io::stderr().is_terminal());
    let report = audit::run(&input, &mut bar)?;
    write_json(&args.out, &report)?;
    if let Some(p) = &args.page {
        page::write_html(p, &report, &images, &args.model.display().to_string())?;
    }
    if let Some(p) = &args.curve {
        write_curve(p, &report)?;
    }
    if !args.quiet {
        eprintln!(
            "audited {} samples in {:.1} s: {}",
            report.summary.samples,
            started.elapsed().as_secs_f64(),
            accuracy_words(&report.summary)
        );
    }
    Ok(ExitCode::from(super::EXIT_OK))
}

/// The figures of a summary line: clean accuracy, attack success, robust accuracy.
fn accuracy_words(s: &audit::Summary) -> String {
    format!(
        "clean accuracy {:.2}%, attack success {}/{} ({:.2}%), robust accuracy {:.2}%",
        100.0 * s.clean_accuracy,
        s.successes,
        s.attacked,
        100.0 * s.attack_success_rate,
        100.0 * s.robust_accuracy
    )
}

/// `--epsilons` values: positive numbers, finite in f32.
fn positive_radius(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (v as f32).is_finite() && v as f32 > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not a positive, finite 32-bit radius"))
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

pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.images.is_none() || args.page.is_some(), "--images is only used with --page");
    let inputs: Vec<&Path> =
        args.reports.iter().chain(&args.images).chain(&args.labels).map(PathBuf::as_path).collect();
    let outputs: Vec<&Path> = std::iter::once(&args.out).chain(&args.page).map(PathBuf::as_path).collect();
    adr_onnx::output::refuse_clobber(&inputs, &outputs)?;
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
        let labels = audit::read_labels(labels_path)?;
        for (path, report) in &reports {
            audit::check_labels(path, report, labels_path, &labels)?;
        }
    }
    let merged = audit::merge(reports)?;
    // Checked before anything is written.
    let images = match (&args.page, &args.images) {
        (Some(_), Some(path)) => {
            let sha = sha256_hex(&read_bytes(path)?);
            anyhow::ensure!(
                sha == merged.images_sha256,
                "{}: not the audited images (SHA-256 {sha}, the reports' images_sha256 is {})",
                path.display(),
                merged.images_sha256
            );
            if let Some(labels_path) = &args.labels {
                let labels_sha = sha256_hex(&read_bytes(labels_path)?);
                anyhow::ensure!(
                    audit::dataset_sha256(&sha, &labels_sha, merged.dataset_samples) == merged.dataset_sha256,
                    "{}: not the audited labels (the reports' dataset_sha256 differs)",
                    labels_path.display()
                );
            }
            Some(read_npy(path)?)
        }
        _ => None,
    };
    write_json(&args.out, &merged)?;
    if let (Some(p), Some(images)) = (&args.page, &images) {
        page::write_html(p, &merged, images, "the merged audit")?;
    }
    if !args.quiet {
        eprintln!(
            "merged {} shard reports, {} samples: {}; report {}",
            args.reports.len(),
            merged.summary.samples,
            accuracy_words(&merged.summary),
            args.out.display()
        );
    }
    Ok(ExitCode::from(super::EXIT_OK))
}
