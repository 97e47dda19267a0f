//! `adr-onnx bench`: times per forward pass, ADR iteration and PGD step on
//! the fixtures, per batch, thread count and backend; peak memory of a run;
//! a plot of time against batch size.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::bench::{measure, suite, table, Case, CaseSpec};
use adr_onnx::goal::schema::{Algorithm, MethodBlock};
use adr_onnx::memory::{self, Workload};
use adr_onnx::report::plot::{write_annotated_plot, Annotations, LinePlot, Series};
use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest};
use adr_onnx::runtime::Device;
use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;

use super::memory::MemoryArgs;
use super::stdout::{out, outln};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The shared fixtures folder.
    #[arg(long, default_value = "../shared/fixtures")]
    fixtures: PathBuf,
    /// Backends to time: tract, ort, or both.
    #[arg(long, value_delimiter = ',', default_value = "tract,ort", value_parser = timed_backend)]
    backends: Vec<BackendChoice>,
    /// Thread counts (default: 1 and all cores).
    #[arg(long, value_delimiter = ',')]
    threads: Vec<usize>,
    /// ADR iterations and PGD steps timed per case.
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    /// Only these workloads (mnist_cnn, rand_large, vae_decoder).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// These batch sizes instead of each workload's own (MNIST CNN: 1, 64,
    /// 256; the others: 1, 64).
    #[arg(long, value_delimiter = ',')]
    batches: Vec<usize>,
    /// Sets a method field for the ADR runs (e.g. normalisers=exact).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also measure the peak memory of a `run` per workload, batch and
    /// usable backend (one thread, the --set pairs passed on).
    #[arg(long)]
    rss: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Write the JSON here too.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Plot time per iteration against batch size.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// The ONNX Runtime library (also passed to the runs of --rss).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    #[command(flatten)]
    memory: MemoryArgs,
    /// The adr-onnx source folder, which holds models/mnist_cnn_pgd.onnx and
    /// testdata/goals (default: the current folder when it holds that model,
    /// else the folder this binary was built from).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// A backend `--backends` times: tract or ort (`auto` would time one of them under another name).
fn timed_backend(s: &str) -> Result<BackendChoice, String> {
    match BackendChoice::from_str(s, false) {
        Ok(c) if c != BackendChoice::Auto => Ok(c),
        _ => Err(format!("unknown backend '{s}' (tract, ort)")),
    }
}

/// The model that marks a folder as the adr-onnx source folder.
const PROJECT_MARKER: &str = "models/mnist_cnn_pgd.onnx";

/// `--project`, else the current folder when it holds the MNIST model, else
/// the folder this binary was built from.
fn project_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match flag {
        Some(d) => d.to_path_buf(),
        None if Path::new(PROJECT_MARKER).is_file() => PathBuf::from("."),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    };
    anyhow::ensure!(
        dir.join("testdata/goals").is_dir(),
        "--project {}: no testdata/goals folder there (pass the adr-onnx source folder)",
        dir.display()
    );
    Ok(dir)
}

/// Fails with one line saying where the fixtures were looked for and how
/// to point at them, when a workload's model is not there.
fn require_fixture(model: &Path, fixtures: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        model.is_file(),
        "bench needs {}, which is not there: pass --fixtures DIR (the shared fixtures folder, now {}) \
         and --project DIR (the adr-onnx source folder), or --only the workloads you have (docs/benchmarks.md)",
        model.display(),
        fixtures.display()
    );
    Ok(())
}

/// A scratch folder removed when dropped, whichever way the run ends.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> anyhow::Result<Self> {
        let d = std::env::temp_dir().join(format!("adr-onnx-bench-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).with_context(|| d.display().to_string())?;
        Ok(ScratchDir(d))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Serialize)]
struct Rss {
    model: String,
    batch: usize,
    backend: String,
    peak_rss_mib: Option<f64>,
}

#[derive(Serialize)]
struct BenchReport {
    version: String,
    cpus: usize,
    cases: Vec<Case>,
    rss: Vec<Rss>,
}

/// What a child `run` for `--rss` needs besides the workload.
struct RssRun<'a> {
    backend: &'a str,
    /// The bench's `--set` pairs, passed on.
    sets: &'a [String],
    ort_lib: Option<&'a Path>,
    iterations: usize,
}

fn rss_of_run(model: &Path, goal: &Path, batch: usize, how: &RssRun) -> anyhow::Result<Option<f64>> {
    let stem = model.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let dir = ScratchDir::new(&format!("{stem}-{batch}-{}", how.backend))?;
    let out = dir.0.join("report.json");
    let exe = std::env::current_exe().context("the path of this adr-onnx binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("run")
        .arg(model)
        .arg("--goal")
        .arg(goal)
        .args([
            "--restarts",
            &batch.to_string(),
            "--iterations",
            &how.iterations.to_string(),
            "--quiet",
            "--backend",
            how.backend,
        ])
        .args(how.sets.iter().flat_map(|s| ["--set", s.as_str()]))
        .args(["--set", "stop_when_achieved=false", "--out"])
        .arg(&out)
        .arg("--artifacts")
        .arg(dir.0.join("artifacts"));
    if let Some(lib) = how.ort_lib {
        cmd.arg("--ort-lib").arg(lib);
    }
    let status = cmd.status().context("starting the run for --rss")?;
    anyhow::ensure!(
        status.code().is_some_and(|c| c <= 1),
        "--rss: the run of {} (batch {batch}, backend {}) failed ({status})",
        model.display(),
        how.backend
    );
    let text = std::fs::read_to_string(&out).with_context(|| out.display().to_string())?;
    let report: serde_json::Value = serde_json::from_str(&text).with_context(|| out.display().to_string())?;
    Ok(report["timing"]["peak_rss_mib"].as_f64())
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = if args.threads.is_empty() {
        if cpus > 1 {
            vec![1, cpus]
        } else {
            vec![1]
        }
    } else {
        args.threads.clone()
    };
    let method = super::method::parse_sets(&args.set)?;
    let limit = args.memory.limit();
    let project = project_dir(args.project.as_deref())?;
    let mut cases = Vec::new();
    let mut rss = Vec::new();
    let workloads = suite(&project, &args.fixtures);
    if let Some(unknown) = args.only.iter().find(|o| !workloads.iter().any(|w| w.name == o.as_str())) {
        let known: Vec<&str> = workloads.iter().map(|w| w.name).collect();
        anyhow::bail!("--only: no workload '{unknown}' (known: {})", known.join(", "));
    }
    if args.batches.contains(&0) {
        anyhow::bail!("--batches: a batch size must be at least 1");
    }
    let workloads: Vec<_> =
        workloads.into_iter().filter(|w| args.only.is_empty() || args.only.iter().any(|o| o == w.name)).collect();
    for w in &workloads {
        require_fixture(&w.model, &args.fixtures)?;
    }
    if !args.json {
        out!("{}", table(&[]))?;
    }
    for w in workloads {
        let batches = if args.batches.is_empty() { &w.batches } else { &args.batches };
        let model = adr_onnx::front::import_model(&w.model, &limit, "bench")?;
        let goal = adr_onnx::goal::load(&w.goal, &model)?;
        for &choice in &args.backends {
            let backend = choice.name();
            // --rss measures only the backends that could be selected.
            let mut selected_once = false;
            for &t in &threads {
                let req = BackendRequest { choice, device: Device::Cpu, ort_lib: args.ort_lib.clone(), threads: t };
                let selected = match select(&req) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("skipping {backend}: {e}");
                        break;
                    }
                };
                selected_once = true;
                // The largest batch, as ADR runs it (ADR, with the --set pairs).
                let largest = batches.iter().copied().max().unwrap_or(1);
                let adr = MethodBlock { algorithm: Some(Algorithm::Adr), restarts: Some(largest), ..method.clone() };
                let settings = adr_onnx::front::settings(&model, &goal, &adr)
                    .map_err(|e| adr_onnx::Error::BenchSettings { file: w.goal.clone(), message: e.to_string() })?;
                let mut workload =
                    Workload::of(&model.graph, selected.runtime, &settings, std::slice::from_ref(&goal), (1, None));
                workload.restarts.1 = "--batches";
                limit.check("bench", &memory::estimate(&workload))?;
                for &batch in batches {
                    let spec = CaseSpec {
                        name: w.name.to_string(),
                        model: &model,
                        goal: &goal,
                        batch,
                        threads: t,
                        backend: selected.backend.as_ref(),
                        backend_name: selected.info.name.clone(),
                        iterations: args.iterations,
                        method: method.clone(),
                    };
                    let case = measure(&spec).with_context(|| format!("{} batch {batch}", w.name))?;
                    if !args.json {
                        // The table grows a row at a time; it is not printed again at the end.
                        out!("{}", table(std::slice::from_ref(&case)).lines().nth(1).unwrap_or_default())?;
                        outln!()?;
                    }
                    cases.push(case);
                }
            }
            if args.rss && selected_once {
                let how =
                    RssRun { backend, sets: &args.set, ort_lib: args.ort_lib.as_deref(), iterations: args.iterations };
                for &batch in batches {
                    let peak = rss_of_run(&w.model, &w.goal, batch, &how)?;
                    rss.push(Rss {
                        model: w.name.to_string(),
                        batch,
                        backend: backend.to_string(),
                        peak_rss_mib: peak,
                    });
                }
            }
        }
    }
    let report = BenchReport { version: super::version_line().to_string(), cpus, cases, rss };
    let json = adr_onnx::document::to_json(adr_onnx::document::BENCH_REPORT, &report)?;
    if let Some(p) = &args.out {
        adr_onnx::output::write(p, json.as_bytes())?;
    }
    if args.json {
        out!("{json}")?;
    } else {
        for r in &report.rss {
            outln!(
                "peak RSS of a run: {} batch {} ({}): {:.1} MiB",
                r.model,
                r.batch,
                r.backend,
                r.peak_rss_mib.unwrap_or(f64::NAN)
            )?;
        }
    }
    if let Some(p) = &args.plot {
        // Few points per line: each measured batch gets a marker.
        let notes = Annotations { point_markers: true, ..Annotations::default() };
        write_annotated_plot(p, &scaling_plot(&report.cases), &notes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    Ok(ExitCode::from(super::EXIT_OK))
}

/// `1 thread`, `4 threads`.
fn thread_count(n: usize) -> String {
    if n == 1 {
        "1 thread".into()
    } else {
        format!("{n} threads")
    }
}

/// Milliseconds per sample of an ADR iteration against batch size, per
/// model and backend, at the largest thread count (the forward passes are in
/// the table; ten lines are as many as a reader tells apart).
fn scaling_plot(cases: &[Case]) -> LinePlot {
    let most = cases.iter().map(|c| c.threads).max().unwrap_or(1);
    let mut series: Vec<Series> = Vec::new();
    for c in cases.iter().filter(|c| c.threads == most) {
        let name = format!("{} {}", c.model, c.backend);
        let point = (c.batch as f64, c.adr_iter_ms / c.batch as f64);
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(point),
            None => series.push(Series { name, points: vec![point] }),
        }
    }
    LinePlot {
        title: format!("ADR iteration per sample against batch ({})", thread_count(most)),
        x_label: "batch".into(),
        y_label: "ms per sample".into(),
        series,
        log_x: true,
        log_y: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_read_as_english() {
        assert_eq!(thread_count(1), "1 thread");
        assert_eq!(thread_count(2), "2 threads");
    }
}
