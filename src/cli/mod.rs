//! Command-line interface: raw arguments (clap), validated into each
//! command's configuration, dispatched.

mod audit;
mod audit_export;
mod audit_status;
mod backend;
mod bench;
mod derive;
mod doctor;
mod falsify;
mod inspect;
mod memory;
mod method;
mod progress;
mod run;
mod shell;
mod stdout;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The goal was achieved, or the command did what it was asked.
pub const EXIT_OK: u8 = 0;
/// The optimisation ran but did not achieve its goal.
pub const EXIT_NOT_ACHIEVED: u8 = 1;
/// Bad input, I/O failure or any other error.
pub const EXIT_ERROR: u8 = 2;

/// `--version`: the version, the git commit and the enabled features.
pub fn version_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        let onnxruntime = cfg!(feature = "onnxruntime");
        format!(
            "{} (commit {}, features: {}; backends: tract{})",
            env!("CARGO_PKG_VERSION"),
            env!("ADR_ONNX_GIT_COMMIT"),
            if onnxruntime { "onnxruntime" } else { "none" },
            if onnxruntime { ", onnxruntime (loaded at run time)" } else { "" }
        )
    })
}

#[derive(Parser, Debug)]
#[command(
    name = "adr-onnx",
    version = version_line(),
    about = "Activation-descent regularized input optimisation for ONNX ReLU networks"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show a model's inputs, outputs, layers and ReLU sites, and which
    /// methods apply (exit 2 when its ops cannot be imported).
    Inspect(inspect::InspectArgs),
    /// Write the model's sigmoid surrogate f_hat(x, eta) as an ONNX file.
    Derive(derive::DeriveArgs),
    /// Search the model's input for a goal (ADR-GD, PGD, GD or a portfolio).
    Run(run::RunArgs),
    /// Attack every sample of a dataset: robust accuracy, shardable.
    Audit(Box<audit::AuditArgs>),
    /// Merge the reports of audit shards into one.
    AuditMerge(audit::MergeArgs),
    /// Which backends and devices this machine can use, and why not.
    Doctor(doctor::DoctorArgs),
    /// Time forward passes, ADR iterations and PGD steps on the fixtures.
    Bench(bench::BenchArgs),
    /// Search a VNN-LIB property for a counterexample (sat, or timeout/unknown).
    Falsify(falsify::FalsifyArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff).
    Man(shell::ManArgs),
}

impl Cli {
    /// Whether the command ends its search on SIGTERM and SIGINT and still
    /// writes its result (`falsify`, whose result file VNN-COMP's scripts
    /// read), rather than ending at once.
    pub fn stops_on_termination(&self) -> bool {
        matches!(self.command, Command::Falsify(_))
    }
}

/// Runs a parsed command with a panic caught, as `main` does and the
/// Python package's CLI does: the exit code, or the error (`None`: a
/// panic, whose message the panic hook printed).
pub fn run_caught(cli: Cli) -> Result<ExitCode, Option<anyhow::Error>> {
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(code)) => Ok(code),
        Ok(Err(e)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// What the command line's parser asked for instead of a command: help or
/// the version on standard output (exit 0, or 2 with an error line where
/// it cannot be written), or a usage error on standard error (exit 2).
pub fn parse_failure(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_ERROR));
    }
    match stdout::write_all(e.render().to_string().as_bytes()) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(w) => {
            eprintln!("adr-onnx: error: {}", error_line(&w));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error's message as the one line `adr-onnx: error: ` prints.
pub fn error_line(e: &anyhow::Error) -> String {
    let line = format!("{e:#}").replace('\n', " ");
    adr_onnx::error::clip_middle(&line, adr_onnx::error::LINE_CHARS)
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Derive(a) => derive::run(a),
        Command::Run(a) => run::run(a),
        Command::Audit(a) => audit::run(*a),
        Command::AuditMerge(a) => audit::merge(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Falsify(a) => falsify::run(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
    }
}
