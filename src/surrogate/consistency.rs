//! The consistency (constraint) loss of ALGORITHM.md section 4, emitted as
//! ONNX with its gradients: per site `k` and sample,
//!
//! ```text
//! t   = z * inv_norm                      (signed distance to each hyperplane)
//! C_k = max_j relu(t_j relu(eta_j - 0.5))   (eta says off, neuron is on)
//!     + max_j relu(-t_j relu(0.5 - eta_j))  (eta says on, neuron is off)
//! ```
//!
//! Only the worst violator of each term gets gradient (the first one on
//! ties), as the max says.

use ndarray::{ArrayD, IxDyn};

use crate::writer::builder::{GraphBuilder, Sym};

/// One site's consistency term with its gradients.
pub struct SiteConsistency {
    /// `C_k`, shape `[B]`.
    pub value: Sym,
    /// `dC_k / dz`, shape `[B, N]` (to be pushed through the true network).
    pub grad_z: Sym,
    /// `dC_k / deta`, shape `[B, N]`.
    pub grad_eta: Sym,
}

/// The max over neurons of `relu(v)` `[B, N]`: its value `[B]` and the
/// gradient one-hot at the first maximum where it is positive.
fn max_relu(b: &mut GraphBuilder, v: &Sym) -> (Sym, Sym) {
    let n = v.shape[1];
    let r = b.relu(v);
    let value = b.reduce_max(&r, &[1], false);
    let arg = b.argmax(&r, 1);
    let range = ArrayD::from_shape_vec(IxDyn(&[1, n]), (0..n as i64).collect()).expect("range of its length");
    let range = b.constant_i64_array("neuron_index", &range);
    let hit = b.equal(&arg, &range);
    let hit = b.to_float(&hit);
    let positive = b.positive_mask(v);
    (value, b.mul(&hit, &positive))
}

/// Emits `C_k` for pre-activations `z`, activation variables `eta` and
/// normaliser inverses `inv_norm` (all `[B, N]`).
pub fn emit_site_consistency(b: &mut GraphBuilder, z: &Sym, eta: &Sym, inv_norm: &Sym) -> SiteConsistency {
    let t = b.mul(z, inv_norm);
    let above = b.add_scalar(eta, -0.5);
    let off_amount = b.relu(&above);
    let below = b.neg(&above);
    let on_amount = b.relu(&below);

    // Term 1: eta says off (eta > 0.5) but the neuron is on (t > 0).
    let p = b.mul(&t, &off_amount);
    let (c1, dp) = max_relu(b, &p);
    // Term 2: eta says on (eta < 0.5) but the neuron is off (t < 0).
    let neg_t = b.neg(&t);
    let q = b.mul(&neg_t, &on_amount);
    let (c2, dq) = max_relu(b, &q);

    // dt = dp * off_amount - dq * on_amount
    let dt1 = b.mul(&dp, &off_amount);
    let dt2 = b.mul(&dq, &on_amount);
    let dt = b.sub(&dt1, &dt2);
    let grad_z = b.mul(&dt, inv_norm);
    // deta = dp * t * [eta > 0.5] + dq * t * [eta < 0.5]
    let is_off = b.positive_mask(&above);
    let is_on = b.positive_mask(&below);
    let e1 = b.mul(&dp, &is_off);
    let e2 = b.mul(&dq, &is_on);
    let e = b.add(&e1, &e2);
    let grad_eta = b.mul(&e, &t);
    let value = b.add(&c1, &c2);
    SiteConsistency { value, grad_z, grad_eta }
}
