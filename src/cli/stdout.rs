//! Standard output of the commands: a write that fails (a full disk) is an
//! error naming standard output, exit 2, where `print!` would panic. A
//! closed pipe still ends the process quietly (SIGPIPE, `main`); a closed
//! descriptor (`>&-`) is ignored, as Rust's standard output does.

use std::io::Write;

/// What `write` writes to standard output, flushed.
fn written(write: impl FnOnce(&mut std::io::StdoutLock) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write(&mut out).and_then(|()| out.flush()).map_err(|e| anyhow::anyhow!("standard output: {e}"))
}

/// Writes `args` to standard output and flushes it.
pub fn write_fmt(args: std::fmt::Arguments) -> anyhow::Result<()> {
    written(|out| out.write_fmt(args))
}

/// Writes `bytes` to standard output and flushes it.
pub fn write_all(bytes: &[u8]) -> anyhow::Result<()> {
    written(|out| out.write_all(bytes))
}

/// `print!` that returns an error where standard output cannot be written.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_fmt(format_args!($($arg)*))
    };
}

/// `println!` that returns an error where standard output cannot be written.
macro_rules! outln {
    () => {
        $crate::cli::stdout::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
