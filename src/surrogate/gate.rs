//! The gate of an activation variable, `g(eta) = 1 - sigmoid(alpha (eta -
//! 0.5 + 1e-6))` (ALGORITHM.md section 2), emitted as `sigmoid(-a)` so that
//! no eta overflows, with its derivative `-alpha sigmoid(a) sigmoid(-a)`
//! computed from two sigmoids (never `1 - g`, which rounds to 0 in f32).

use crate::writer::builder::{GraphBuilder, Sym};

/// The paper's sharpness.
pub const DEFAULT_ALPHA: f64 = 2000.0;

/// Offset that makes `eta = 0.5` (a neuron with pre-activation exactly 0)
/// count as off.
pub const GATE_OFFSET: f64 = 1e-6;

/// The gate of one activation site, `g(eta) = 1 - sigmoid(alpha (eta - 0.5 + 1e-6))`,
/// and its derivative `dg/deta` where a backward pass needs it.
#[derive(Debug, Clone)]
pub struct Gate {
    pub g: Sym,
    pub dg: Option<Sym>,
}

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

/// Whether a gate counts as on in the thresholded pattern: eta below the
/// gate's threshold `0.5 - GATE_OFFSET`.
pub fn is_on(eta: f32) -> bool {
    eta < (0.5 - GATE_OFFSET) as f32
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
        assert!(is_on(0.49) && !is_on(0.5) && !is_on(0.51));
    }

    /// The emitted gate (f64, run by tract) equals the host reference, and
    /// its emitted derivative the reference's central differences, across
    /// the sigmoid's transition and on its saturated tails.
    #[test]
    fn emitted_gate_and_derivative_match_the_reference() {
        use crate::runtime::{tract::TractBackend, Backend, HostTensor};
        use crate::writer::builder::Precision;
        let alpha = 50.0;
        let etas: Vec<f64> = (0..=40).map(|i| 0.3 + 0.01 * i as f64).collect();
        let mut b = GraphBuilder::new("gate", Precision::F64);
        let eta = b.input("eta", vec![etas.len()]);
        let gate = emit_gate(&mut b, &eta, alpha, true);
        b.output(&gate.g, "g");
        b.output(gate.dg.as_ref().expect("asked for the derivative"), "dg");
        let graph = b.finish();
        let mut exe = TractBackend.load(&graph).unwrap();
        let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[etas.len()]), etas.clone()).unwrap();
        let outs = exe.run(vec![HostTensor::F64(input)]).unwrap();
        let (g, dg) = (outs[0].to_f64(), outs[1].to_f64());
        let h = 1e-6;
        for (i, &e) in etas.iter().enumerate() {
            assert!((g[i] - gate_value(e, alpha)).abs() < 1e-12, "g({e})");
            let numeric = (gate_value(e + h, alpha) - gate_value(e - h, alpha)) / (2.0 * h);
            assert!((dg[i] - numeric).abs() < 1e-6 * numeric.abs().max(1.0), "dg({e}) = {} vs {numeric}", dg[i]);
        }
    }
}
