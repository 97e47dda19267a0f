//! Activation variables `eta` for a batch (one `[B, N_k]` array per site),
//! pattern sync from pre-activations, clipping, and the thresholded gate
//! pattern that keys the normaliser cache (ALGORITHM.md section 2).

use super::gate::is_on;
use ndarray::Array2;

/// Bounds eta is kept in.
pub const ETA_MIN: f32 = 0.3;
pub const ETA_MAX: f32 = 0.7;
/// Pattern sync puts eta this far from 0.5, on the side of the pattern.
pub const SYNC_MARGIN: f32 = 0.01;

/// `0.5 - 0.01 sign(z)`: on (z > 0) gives 0.49, off gives 0.51, z = 0 gives 0.5.
pub fn synced_eta(z: f32) -> f32 {
    if z > 0.0 {
        0.5 - SYNC_MARGIN
    } else if z < 0.0 {
        0.5 + SYNC_MARGIN
    } else {
        0.5
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivationVars {
    /// Per site, `[B, N_k]`.
    pub eta: Vec<Array2<f32>>,
}

impl ActivationVars {
    /// Eta synced from the pre-activations of each site.
    pub fn synced(pre: &[Array2<f32>]) -> Self {
        ActivationVars { eta: pre.iter().map(|z| z.mapv(synced_eta)).collect() }
    }

    /// Re-syncs one sample from its pre-activations.
    pub fn sync_sample(&mut self, sample: usize, pre: &[Array2<f32>]) {
        for (e, z) in self.eta.iter_mut().zip(pre) {
            e.row_mut(sample).zip_mut_with(&z.row(sample), |e, &z| *e = synced_eta(z));
        }
    }

    /// Clips every eta into `[ETA_MIN, ETA_MAX]`.
    pub fn clip(&mut self) {
        for e in &mut self.eta {
            e.mapv_inplace(|v| v.clamp(ETA_MIN, ETA_MAX));
        }
    }

    /// The thresholded gate pattern of a sample (bit set: eta below the
    /// gate's threshold, on), all sites, 64 neurons a word.
    pub fn pattern(&self, sample: usize) -> Vec<u64> {
        let mut words = Vec::new();
        for e in &self.eta {
            let row = e.row(sample);
            let start = words.len();
            words.resize(start + row.len().div_ceil(64), 0u64);
            for (i, &v) in row.iter().enumerate() {
                if is_on(v) {
                    words[start + i / 64] |= 1 << (i % 64);
                }
            }
        }
        words
    }

    /// Number of neurons whose thresholded pattern differs between two states.
    pub fn pattern_changes(&self, other: &ActivationVars) -> usize {
        self.eta
            .iter()
            .zip(&other.eta)
            .map(|(a, b)| a.iter().zip(b).filter(|(&x, &y)| is_on(x) != is_on(y)).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sync_follows_the_sign_of_the_pre_activation() {
        let v = ActivationVars::synced(&[array![[1.5, -0.2, 0.0]]]);
        assert_eq!(v.eta[0], array![[0.49, 0.51, 0.5]]);
    }

    #[test]
    fn the_pattern_changes_with_the_thresholded_pattern_only() {
        let a = ActivationVars { eta: vec![array![[0.45, 0.55], [0.3, 0.3]]] };
        let mut b = a.clone();
        b.eta[0][[0, 0]] = 0.40;
        assert_eq!(a.pattern(0), b.pattern(0));
        b.eta[0][[0, 0]] = 0.52;
        assert_ne!(a.pattern(0), b.pattern(0));
        assert_eq!(a.pattern(0), vec![0b01]);
        assert_eq!(a.pattern_changes(&b), 1);
    }
}
