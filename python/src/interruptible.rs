//! Long calls: run on a worker thread with the GIL released, while the
//! calling thread watches for Ctrl-C (Python's signal handlers run only
//! there). On Ctrl-C the library's stop request ([`adr_onnx::interrupt`])
//! ends the search after its current iteration, and the call raises
//! `KeyboardInterrupt` once the worker has stopped.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::errors::AdrOnnxError;

/// How often the calling thread looks for a signal.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// `work`'s result, or the exception of a signal that arrived meanwhile:
/// here, or in another thread whose stop request cut this search short
/// too (its result would count unfinished samples as robust). A request
/// pending when the call starts counts as one that cut it short.
pub fn run<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    let requests_before = adr_onnx::interrupt::requests_pending();
    std::thread::scope(|scope| {
        let (sender, mut receiver) = mpsc::channel();
        scope.spawn(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(work));
            // Read as the search ends: a request after it cut nothing short.
            let _ = sender.send((result, adr_onnx::interrupt::requests()));
        });
        loop {
            let (received, back) = py.detach(move || (receiver.recv_timeout(SIGNAL_POLL), receiver));
            receiver = back;
            match received {
                Ok((Ok(_), requests_after)) if requests_after != requests_before => {
                    return Err(PyKeyboardInterrupt::new_err(
                        "stopped by a Ctrl-C in another thread while this search ran: its result is incomplete",
                    ))
                }
                Ok((Ok(value), _)) => return Ok(value),
                Ok((Err(_), _)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(AdrOnnxError::new_err("internal error (a panic; please report this)"))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Err(signal) = py.check_signals() {
                adr_onnx::interrupt::request();
                // The search stops within an iteration; its result is dropped.
                let _ = py.detach(move || receiver.recv());
                adr_onnx::interrupt::clear();
                return Err(signal);
            }
        }
    })
}
