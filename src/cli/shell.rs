//! `adr-onnx completions SHELL` and `adr-onnx man`: shell completion
//! scripts and the man page, generated from the command-line definition
//! itself so that they never drift from it.

use std::process::ExitCode;

use clap::CommandFactory;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {}

/// Prints the completion script of `args.shell` on standard output.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "adr-onnx", &mut script);
    super::stdout::write_all(&script)?;
    Ok(ExitCode::from(super::EXIT_OK))
}

/// Prints the man page (roff, section 1) on standard output.
pub fn man(_: ManArgs) -> anyhow::Result<ExitCode> {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut page)?;
    super::stdout::write_all(&page)?;
    Ok(ExitCode::from(super::EXIT_OK))
}
