//! The `adr-onnx` command: parses arguments and maps the outcome to the
//! documented exit codes (0 achieved or done, 1 ran but goal not achieved,
//! 2 error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Restores SIGPIPE's default action, which Rust's runtime sets to ignore:
/// a closed standard output (`adr-onnx inspect m.onnx | head -1`) then ends
/// the process quietly, as it does any Unix filter, instead of failing a
/// `println!` with a panic.
#[cfg(unix)]
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: called first in main, before any thread starts; `signal` with
    // SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_a_closed_pipe() {}

fn main() -> ExitCode {
    die_quietly_on_a_closed_pipe();
    std::panic::set_hook(Box::new(|info| {
        if adr_onnx::contained::containing() {
            return;
        }
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("adr-onnx: internal error: {msg}{place} (please report this)");
    }));
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return cli::parse_failure(&e),
    };
    if args.stops_on_termination() {
        adr_onnx::interrupt::stop_on_termination();
    }
    match cli::run_caught(args) {
        Ok(code) => code,
        Err(e) => {
            if let Some(e) = e {
                eprintln!("adr-onnx: error: {}", cli::error_line(&e));
            }
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
