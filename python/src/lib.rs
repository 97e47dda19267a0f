//! `adr_onnx._native`: the Python extension of adr-onnx. The package
//! `adr_onnx` (python/adr_onnx) wraps it; docs/python.md describes the API.
//!
//! Everything here calls the library's own code paths: `attack` is the
//! audit of `adr-onnx audit` run on arrays in memory; `command` and
//! `cli_main` run the CLI itself (its source, `src/cli`, is compiled into
//! this extension), which `run`, `falsify` and the `adr-onnx` console
//! script use.

// The CLI's source, compiled here as it is into the binary; the extension
// reaches it through `run_caught` and `error_line`.
#[allow(dead_code)]
#[path = "../../src/cli/mod.rs"]
mod cli;

mod attack;
mod errors;
mod interruptible;
mod model;

use std::process::ExitCode;

use clap::Parser;
use pyo3::prelude::*;

use errors::AdrOnnxError;

/// The exit code as the number the process would exit with.
fn exit_number(code: ExitCode) -> u8 {
    [cli::EXIT_OK, cli::EXIT_NOT_ACHIEVED, cli::EXIT_ERROR]
        .into_iter()
        .find(|&n| ExitCode::from(n) == code)
        .unwrap_or(cli::EXIT_ERROR)
}

/// The `adr-onnx` command line `argv` (its first item the program name),
/// run as the binary runs it: output and errors on this process's
/// standard output and error; returns the exit code. `--help`, `--version`
/// and a malformed command line print and end the process, as the binary
/// does.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    let args = cli::Cli::parse_from(argv);
    // The console script is the command: `falsify` writes its result on
    // SIGTERM and Ctrl-C as the binary does.
    if args.stops_on_termination() {
        adr_onnx::interrupt::stop_on_termination();
    }
    py.detach(|| match cli::run_caught(args) {
        Ok(code) => exit_number(code),
        Err(e) => {
            if let Some(e) = e {
                eprintln!("adr-onnx: error: {}", cli::error_line(&e));
            }
            cli::EXIT_ERROR
        }
    })
}

/// Runs the command line `argv` (its first item the program name) for the
/// Python API: the exit code (0 or 1); an error raises ValueError (bad
/// input, the CLI's message) or AdrOnnxError, Ctrl-C KeyboardInterrupt.
#[pyfunction]
fn command(py: Python<'_>, argv: Vec<String>) -> PyResult<u8> {
    let args = cli::Cli::try_parse_from(argv).map_err(|e| errors::bad_arguments(&e.to_string()))?;
    match interruptible::run(py, move || cli::run_caught(args))? {
        Ok(code) => Ok(exit_number(code)),
        Err(Some(e)) => Err(errors::from_cli(&e)),
        Err(None) => Err(AdrOnnxError::new_err("internal error (a panic; please report this)")),
    }
}

/// The `--version` line.
#[pyfunction]
fn version() -> &'static str {
    cli::version_line()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("AdrOnnxError", m.py().get_type::<AdrOnnxError>())?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(command, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(attack::attack, m)?)?;
    m.add_function(wrap_pyfunction!(model::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(model::derive, m)?)?;
    Ok(())
}
