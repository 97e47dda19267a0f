//! The gate of an activation variable, `g(eta) = 1 - sigmoid(alpha (eta -
//! 0.5 + 1e-6))` (ALGORITHM.md section 2), emitted as `sigmoid(-a)` so that
//! no eta overflows, with its derivative `-alpha sigmoid(a) sigmoid(-a)`
//! computed from two sigmoids (never `1 - g`, which rounds to 0 in f32).

use crate::lower::builder::{GraphBuilder, Sym};
use crate::lower::rules::Gate;

/// The paper's sharpness.
pub const DEFAULT_ALPHA: f64 = 2000.0;

/// Offset that makes `eta = 0.5` (a neuron with pre-activation exactly 0)
/// count as off.
pub const GATE_OFFSET: f64 = 1e-6;

/// Emits the gate (and with `derivative`, `dg/deta`) of an eta tensor.
pub fn emit_gate(b: &mut GraphBuilder, eta: &Sym, alpha: f64, derivative: bool) -> Gate {
    let shifted = b.add_scalar(eta, GATE_OFFSET - 0.5);
    let a = b.scale(&shifted, alpha);
    let minus_a = b.neg(&a);
    let g = b.exact_sigmoid(&minus_a);
    let dg = derivative.then(|| {
        let s = b.exact_sigmoid(&a);
        let prod = b.mul(&s, &g);
        b.scale(&prod, -alpha)
    });
    Gate { g, dg }
}

/// The gate on the host, in f64: the reference the emitted one is tested
/// against.
pub fn gate_value(eta: f64, alpha: f64) -> f64 {
    let a = alpha * (eta - 0.5 + GATE_OFFSET);
    1.0 / (1.0 + a.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_is_on_below_half_and_off_above() {
        assert!(gate_value(0.49, DEFAULT_ALPHA) > 1.0 - 1e-8);
        assert!(gate_value(0.51, DEFAULT_ALPHA) < 1e-8);
        assert!(gate_value(0.5, DEFAULT_ALPHA) < 0.5, "eta = 0.5 counts as off");
        assert_eq!(gate_value(0.3, DEFAULT_ALPHA), 1.0);
        assert!(gate_value(0.7, DEFAULT_ALPHA) >= 0.0);
    }
}
