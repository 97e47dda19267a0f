//! The random sampling pass that opens every round of `falsify`'s `auto`:
//! forward passes only, at many points of each disjunct's float32 box,
//! half of each point's coordinates on a face of the box. Counterexamples
//! of the ACAS Xu properties lie on faces (1_9 prop_7: `X_0` at its lower
//! bound), where a uniform sample almost never lands: 1 point in 1 M
//! there, 1 in 800 with faces.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::goal::feasible::FeasibleSet;

/// Points the pass judges per disjunct, as a multiple of the restarts of
/// the Adam pass that follows it: a forward pass costs a third of a
/// gradient step, so the sample costs about a twentieth of that pass.
pub const SAMPLES_PER_ADAM_RESTART: usize = 16;

/// Probability that a coordinate sits on its lower face (and the same on
/// its upper one) instead of uniformly inside.
const ON_A_FACE: f32 = 0.25;

/// Mixed into the seed so that the sample differs from every stage's starts.
const SAMPLE_STREAM: u64 = 0x5341_4d50_4c45;

/// The random stream of disjunct `stream`'s sample in round `round`.
pub fn stream(seed: u64, stream: u64, round: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(crate::optim::row_seed(seed ^ SAMPLE_STREAM, stream, round))
}

/// `count` points of `feasible`'s box (every bound finite, as a disjunct's
/// box is), one a row: each coordinate at its lower bound with
/// probability 1/4, at its upper with 1/4, else uniform between them.
pub fn points(feasible: &FeasibleSet, count: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    let n = feasible.len();
    let mut x = Array2::zeros((count, n));
    for mut row in x.rows_mut() {
        for (i, v) in row.iter_mut().enumerate() {
            let (l, u) = (feasible.lower[i], feasible.upper[i]);
            let face: f32 = rng.random();
            *v = if face < ON_A_FACE {
                l
            } else if face < 2.0 * ON_A_FACE {
                u
            } else {
                (l + (u - l) * rng.random::<f32>()).clamp(l, u)
            };
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_box(n: usize) -> FeasibleSet {
        FeasibleSet { lower: vec![-1.0; n], upper: vec![2.0; n], ball: None }
    }

    #[test]
    fn points_lie_in_the_box_and_half_their_coordinates_on_a_face() {
        let b = unit_box(5);
        let x = points(&b, 4000, &mut stream(0, 0, 0));
        assert!(x.iter().all(|&v| (-1.0..=2.0).contains(&v)));
        let lower = x.iter().filter(|&&v| v == -1.0).count() as f64 / x.len() as f64;
        let upper = x.iter().filter(|&&v| v == 2.0).count() as f64 / x.len() as f64;
        assert!((lower - 0.25).abs() < 0.02 && (upper - 0.25).abs() < 0.02, "{lower} {upper}");
        let inside: Vec<f32> = x.iter().copied().filter(|&v| v > -1.0 && v < 2.0).collect();
        let mean = inside.iter().map(|&v| f64::from(v)).sum::<f64>() / inside.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "uniform inside: mean {mean}");
    }

    #[test]
    fn a_sample_is_fixed_by_seed_disjunct_and_round() {
        let b = unit_box(3);
        let draw = |seed, disjunct, round| points(&b, 8, &mut stream(seed, disjunct, round));
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(0, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(1, 1, 3));
        assert_ne!(draw(1, 2, 3), draw(1, 2, 4));
    }

    #[test]
    fn a_flat_coordinate_stays_at_its_value() {
        let b = FeasibleSet { lower: vec![0.5, 0.0], upper: vec![0.5, 1.0], ball: None };
        let x = points(&b, 100, &mut stream(0, 0, 0));
        assert!(x.column(0).iter().all(|&v| v == 0.5));
    }
}
