//! `adr-onnx derive`: writes the sigmoid surrogate of a model as a standard
//! ONNX file (interface in docs/surrogate.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::goal::schema::{Algorithm, MethodBlock};
use adr_onnx::lower::step::{gradient_graph, step_graph, surrogate_graph, Problem};
use adr_onnx::optim::settings::check_alpha;
use adr_onnx::surrogate::gate::DEFAULT_ALPHA;
use adr_onnx::writer::Precision;

#[derive(clap::Args, Debug)]
pub struct DeriveArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Where to write the surrogate (`-o` or `--out`; `--output` too).
    #[arg(short = 'o', long = "out", visible_alias = "output")]
    output: PathBuf,
    /// Sharpness of the gates, g(eta) = 1 - sigmoid(alpha (eta - 0.5 + 1e-6))
    /// (default 2000, or the goal's `method.alpha` with --step).
    #[arg(long)]
    alpha: Option<f64>,
    /// Write the step graph of a goal instead (ADR's; the true-gradient
    /// graph with --method gd or pgd), for inspection.
    #[arg(long, requires = "goal")]
    step: bool,
    /// The goal whose step graph --step writes.
    #[arg(long)]
    goal: Option<PathBuf>,
    /// Batch size of the step graph.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Whose graph --step writes.
    #[arg(long, value_enum, default_value_t = Algorithm::Adr)]
    method: Algorithm,
}

pub fn run(args: DeriveArgs) -> anyhow::Result<ExitCode> {
    if let Some(a) = args.alpha {
        // The settings' rule, before any file is read: the derived graphs
        // hold alpha as a 32-bit float.
        check_alpha(a).map_err(|_| anyhow::anyhow!("--alpha must be a positive, finite 32-bit number, got {a:?}"))?;
    }
    let inputs: Vec<&Path> = std::iter::once(args.model.as_path()).chain(args.goal.as_deref()).collect();
    adr_onnx::output::refuse_clobber(&inputs, &[&args.output])?;
    adr_onnx::output::refuse_unwritable(&[&args.output], &[])?;
    let model = adr_onnx::onnx::import(&args.model)?;
    model.require_relu()?;
    let g = match (&args.goal, args.step) {
        (Some(goal), true) => {
            anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
            let goal = adr_onnx::goal::load(goal, &model)?;
            // The graph `run` would build: the goal's settings, --alpha over them.
            let cli = MethodBlock { alpha: args.alpha, ..MethodBlock::default() };
            let settings = adr_onnx::front::settings(&model, &goal, &cli).map_err(|e| {
                anyhow::anyhow!("settings (from {}'s method block, --alpha and the defaults): {e}", goal.file.display())
            })?;
            let classes = model.graph.value(goal.target).size();
            let objective = goal.objective_with(args.method, settings.normalised_objective, settings.loss, classes);
            let mut p = Problem::new(&model, goal.target, objective, settings.alpha, Precision::F32);
            p.report = Some(goal.output);
            // Only ADR (alone or as `auto`'s last stage) searches the
            // surrogate; every other method reads the true gradient.
            if matches!(args.method, Algorithm::Adr | Algorithm::Auto) {
                step_graph(&p, args.batch)
            } else {
                gradient_graph(&p, args.batch)
            }
        }
        _ => surrogate_graph(&model, args.alpha.unwrap_or(DEFAULT_ALPHA), Precision::F32),
    };
    adr_onnx::output::write(&args.output, &g.to_bytes())?;
    eprintln!(
        "wrote {}: inputs {}; outputs {}",
        args.output.display(),
        g.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
        g.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(ExitCode::from(super::EXIT_OK))
}
