//! `adr-onnx inspect`: the model's interface, layers and ReLU sites. Exit
//! 0 for a model that imports (one without ReLU too: its summary says that
//! activation descent does not apply and which methods do); 2 for one whose
//! ops cannot be imported (the error line names every unsupported node).

use std::path::PathBuf;
use std::process::ExitCode;

use adr_onnx::summary::ModelSummary;

use super::stdout::out;

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let model = adr_onnx::onnx::import(&args.model)?;
    let summary = ModelSummary::of(&model);
    if args.json {
        out!("{}", adr_onnx::document::to_json(adr_onnx::document::INSPECT_REPORT, &summary)?)?;
    } else {
        out!("{}", summary.render_text())?;
    }
    Ok(ExitCode::from(super::EXIT_OK))
}
