//! A request from outside the search to stop it now: the Python package
//! sets it when Ctrl-C arrives while a call runs (docs/python.md). The
//! searches treat it as their deadline passing: the stage under way ends
//! after its current iteration and no further stage starts. The request
//! holds for the whole process until cleared.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every search of the process to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraws the request, for the searches that start later.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

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
