//! `adr-onnx derive`: writes the sigmoid surrogate of a model as a standard
//! ONNX file (interface in docs/surrogate.md).

use std::path::PathBuf;
use std::process::ExitCode;

use adr_onnx::lower::step::surrogate_graph;
use adr_onnx::lower::Precision;
use adr_onnx::surrogate::gate::DEFAULT_ALPHA;
use anyhow::Context;

#[derive(clap::Args, Debug)]
pub struct DeriveArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Where to write the surrogate.
    #[arg(short, long)]
    output: PathBuf,
    /// Sharpness of the gates, g(eta) = 1 - sigmoid(alpha (eta - 0.5 + 1e-6)).
    #[arg(long, default_value_t = DEFAULT_ALPHA)]
    alpha: f64,
}

pub fn run(args: DeriveArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.alpha.is_finite() && args.alpha > 0.0,
        "--alpha must be a positive number, got {}",
        args.alpha
    );
    let model = adr_onnx::onnx::import(&args.model)?;
    model.require_relu()?;
    let g = surrogate_graph(&model, args.alpha, Precision::F32);
    std::fs::write(&args.output, g.to_bytes()).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "wrote {}: inputs {}; outputs {}",
        args.output.display(),
        g.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
        g.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(ExitCode::from(super::EXIT_OK))
}
