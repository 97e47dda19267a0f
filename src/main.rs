//! The `adr-onnx` command: parses arguments and maps the outcome to the
//! documented exit codes (0 achieved or done, 1 ran but goal not achieved,
//! 2 error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("adr-onnx: internal error: {msg}{place} (please report this)");
    }));
    let args = cli::Cli::parse();
    match std::panic::catch_unwind(|| cli::run(args)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("adr-onnx: error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(cli::EXIT_ERROR)
        }
        Err(_) => ExitCode::from(cli::EXIT_ERROR),
    }
}
