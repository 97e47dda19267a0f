//! A request from outside the search to stop it now: the Python package
//! sets it when Ctrl-C arrives while a call runs (docs/python.md). The
//! searches treat it as their deadline passing: the stage under way ends
//! after its current iteration and no further stage starts. The request
//! holds for the whole process until cleared. `falsify` run as a command
//! also takes SIGTERM and SIGINT as such a request
//! ([`stop_on_termination`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Asks every search of the process to stop.
pub fn request() {
    // The flag first: a call that reads the count after this request
    // finds the flag set ([`requests_pending`]).
    REQUESTED.store(true, Ordering::SeqCst);
    REQUESTS.fetch_add(1, Ordering::SeqCst);
}

/// How many stops were requested so far: a call that reads it before and
/// after knows whether a request (since cleared, perhaps by another
/// thread) may have cut its search short.
pub fn requests() -> u64 {
    REQUESTS.load(Ordering::SeqCst)
}

/// [`requests`] as a call starting now counts them: a request still
/// pending (set, not yet cleared) is one that will cut the call short too,
/// so it is not counted as before the call.
pub fn requests_pending() -> u64 {
    let count = requests();
    if requested() {
        count.wrapping_sub(1)
    } else {
        count
    }
}

/// Withdraws the request, for the searches that start later.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Makes SIGTERM and SIGINT request a stop (as [`request`]) instead of
/// ending the process, once: either signal then ends it at once. For the
/// `falsify` command, whose result file must be written however its search
/// ends (docs/vnnlib.md); never for the Python API, whose Ctrl-C stays
/// Python's.
#[cfg(unix)]
pub fn stop_on_termination() {
    extern "C" fn on_signal(_: libc::c_int) {
        request();
        // SAFETY: `signal` is async-signal-safe; SIG_DFL installs no code.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
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
pub fn stop_on_termination() {}

/// Whether a search with `deadline` must stop: the deadline passed, or a
/// stop was requested.
pub fn passed(deadline: Option<Instant>) -> bool {
    due(requested(), deadline)
}

fn due(requested: bool, deadline: Option<Instant>) -> bool {
    requested || deadline.is_some_and(|d| Instant::now() >= d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The request itself is process-wide: setting it here would stop the
    // searches of tests running beside this one (python/tests test it).
    #[test]
    fn a_request_passes_every_deadline() {
        let later = Instant::now().checked_add(std::time::Duration::from_secs(3600));
        assert!(!due(false, later) && !due(false, None));
        assert!(due(false, Some(Instant::now())));
        assert!(due(true, later) && due(true, None));
    }
}
