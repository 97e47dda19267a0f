//! `adr-onnx falsify`: searches a VNN-LIB property's unsafe set for a
//! counterexample; prints `sat` with the assignment, or `timeout`/`unknown`
//! (a falsifier never claims `unsat`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest};
use adr_onnx::vnnlib::falsify::{falsify, vnncomp_text, FalsifyConfig, Verdict};
use adr_onnx::vnnlib::{original, parse_vnnlib};

use super::backend::BackendArgs;
use super::method::MethodArgs;
use super::progress::Bar;

#[derive(clap::Args, Debug)]
pub struct FalsifyArgs {
    /// The ONNX network.
    model: PathBuf,
    /// The VNN-LIB property: its unsafe set is searched.
    property: PathBuf,
    /// Seconds before giving up (the answer is then `timeout`).
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Write the result (VNN-COMP format) here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write a JSON report of the search here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Stop after this many rounds of restarts (answer `unknown`).
    #[arg(long)]
    rounds: Option<usize>,
    /// The optimiser is auto (PGD, then ADR from PGD's best) unless --method
    /// says otherwise; restarts are per disjunct and round (default 8).
    #[command(flatten)]
    method: MethodArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// The runtimes that re-run counterexamples on the original file, as the
/// report's confirmations name them.
const TRACT_CHECK: &str = "tract (original file)";
const ORT_CHECK: &str = "onnxruntime (original file)";

pub fn run(args: FalsifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.timeout.is_finite() && args.timeout > 0.0, "--timeout must be a positive number of seconds");
    let outputs: Vec<&std::path::Path> = args.out.iter().chain(&args.report).map(PathBuf::as_path).collect();
    adr_onnx::output::refuse_clobber(&[&args.model, &args.property], &outputs)?;
    let text = adr_onnx::input::read_document(&args.property, "a VNN-LIB property")?;
    let property = parse_vnnlib(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.property.display()))?;
    let model = adr_onnx::onnx::import(&args.model)?;
    model.require_relu()?;
    let request = args.backend.request();
    let selected = select(&request)?;
    // ONNX Runtime re-checks counterexamples whenever its library (the one
    // the backend flags name) loads; without it tract alone confirms them.
    let checker_request =
        BackendRequest { choice: BackendChoice::Ort, device: Some("cpu".into()), threads: 1, ..request };
    let (checker, checker_missing) = match select(&checker_request) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(format!("{e}").replace('\n', " "))),
    };
    let model_path = args.model.clone();
    let confirm = |x: &[f32]| -> adr_onnx::Result<Vec<(String, Vec<f64>)>> {
        let mut v = vec![(TRACT_CHECK.to_string(), original::run_with_tract(&model_path, &model, x)?)];
        if let Some(c) = &checker {
            v.push((ORT_CHECK.to_string(), original::run_with(c.backend.as_ref(), &model_path, &model, x)?));
        }
        Ok(v)
    };
    let method = args.method.block()?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout {} is too large", args.timeout))?;
    let config = FalsifyConfig { timeout, max_rounds: args.rounds, method };
    let mut bar = Bar::new(!args.quiet && std::io::stderr().is_terminal());
    let outcome = falsify(&model, &property, &args.property, selected.backend.as_ref(), &config, &confirm, &mut bar)?;
    if let Some(why) = &checker_missing {
        eprintln!("adr-onnx: note: counterexamples confirmed by tract alone; ONNX Runtime could not check them: {why}");
    }
    let confirmed_by: Vec<&str> =
        [Some(TRACT_CHECK), checker.as_ref().map(|_| ORT_CHECK)].into_iter().flatten().collect();
    let text = vnncomp_text(&outcome);
    match &args.out {
        Some(p) => adr_onnx::output::write(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    if let Some(p) = &args.report {
        let report = serde_json::json!({
            "schema_version": 1,
            "tool": adr_onnx::report::ToolInfo::current(),
            "model": args.model.display().to_string(),
            "property": args.property.display().to_string(),
            "backend": selected.info,
            "timeout_seconds": args.timeout,
            "confirmation": {
                "runtimes": confirmed_by,
                "onnxruntime_unavailable": checker_missing,
            },
            "outcome": outcome,
        });
        adr_onnx::output::write(p, (serde_json::to_string_pretty(&report)? + "\n").as_bytes())?;
    }
    Ok(ExitCode::from(if outcome.verdict == Verdict::Sat { super::EXIT_OK } else { super::EXIT_NOT_ACHIEVED }))
}
