//! A dependency's panics contained as errors. tract 0.23.9 panics on some
//! inputs instead of failing (a Gather index past its axis, a deconvolution
//! padding it has not implemented): where adr-onnx runs tract on a model as
//! the user gave it, such a panic becomes an error of that step, and the
//! panic hook stays quiet about it (the caller reports it).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic inside it comes back as its message.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = CONTAINING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

/// Whether this thread is inside [`contain`]: the panic hook then leaves
/// the panic to the caller.
pub fn containing() -> bool {
    CONTAINING.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_comes_back_as_its_message_and_the_flag_is_restored() {
        assert!(!containing());
        let inner = contain(|| {
            assert!(containing());
            contain(|| panic!("tract gave up")).unwrap_err()
        });
        assert_eq!(inner.as_deref(), Ok("tract gave up"));
        assert!(!containing());
        assert_eq!(contain(|| 7), Ok(7));
    }
}
