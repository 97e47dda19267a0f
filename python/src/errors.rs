//! The Python exceptions of the package: `ValueError` for input the user
//! can correct (a model, an array, a goal, a setting), `AdrOnnxError` for
//! the rest (a file that cannot be read, a backend that fails, the memory
//! limit), each with the one-line message the CLI prints.

use adr_onnx::Error;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::PyErr;

pyo3::create_exception!(
    adr_onnx,
    AdrOnnxError,
    PyException,
    "An error of adr-onnx that is not bad input: a file that cannot be read, a backend that fails, the memory limit."
);

/// Whether `e` comes from the machine or a file rather than from what the
/// caller passed.
fn is_environment(e: &Error) -> bool {
    matches!(
        e,
        Error::Io { .. }
            | Error::Runtime { .. }
            | Error::RuntimeLibrary { .. }
            | Error::NoOrtBackend
            | Error::MemoryLimit(_)
            | Error::Internal { .. }
    )
}

/// A library error as its Python exception.
pub fn from_library(e: &Error) -> PyErr {
    let line = adr_onnx::error::clip_middle(&e.to_string().replace('\n', " "), adr_onnx::error::LINE_CHARS);
    if is_environment(e) {
        AdrOnnxError::new_err(line)
    } else {
        PyValueError::new_err(line)
    }
}

/// An error of a CLI command as its Python exception: the CLI's line;
/// `AdrOnnxError` when the library error under it is not bad input.
pub fn from_cli(e: &anyhow::Error) -> PyErr {
    let line = crate::cli::error_line(e);
    match e.downcast_ref::<Error>() {
        Some(inner) if is_environment(inner) => AdrOnnxError::new_err(line),
        _ => PyValueError::new_err(line),
    }
}

/// A command line the CLI's parser refused (an argument the package built
/// from a bad value): its first line.
pub fn bad_arguments(clap_message: &str) -> PyErr {
    let first = clap_message.lines().next().unwrap_or_default();
    PyValueError::new_err(first.trim_start_matches("error: ").to_string())
}
