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

/// Makes SIGTERM and SIGINT end `falsify`'s search as its timeout does, so
/// that the result file is still written (`timeout`, or `sat` when a
/// counterexample was confirmed); a second signal ends the process. The
/// command only: the Python package runs `falsify` inside Python, whose
/// Ctrl-C stays Python's.
#[cfg(unix)]
fn stop_on_termination() {
    extern "C" fn on_signal(signal: libc::c_int) {
        adr_onnx::interrupt::request();
        // SAFETY: `signal` is async-signal-safe; SIG_DFL installs no code.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic and calls `signal`,
        // both async-signal-safe.
        unsafe {
            libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
}

#[cfg(not(unix))]
fn stop_on_termination() {}

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
        stop_on_termination();
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
