//! The feasible set of a goal (ALGORITHM.md section 7): a per-element box
//! (bounds may be infinite; equal bounds fix an element), intersected for
//! attacks with an L-infinity ball (folded into the box) or an L2 ball.
//! Every candidate the optimisers produce is projected into it.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use super::schema::Norm;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ball {
    pub center: Vec<f32>,
    pub radius: f32,
    pub norm: Norm,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeasibleSet {
    pub lower: Vec<f32>,
    pub upper: Vec<f32>,
    /// The attack ball (an L-infinity ball is also folded into the box).
    pub ball: Option<Ball>,
}

impl FeasibleSet {
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Whether element `i` is optimised (not fixed by equal bounds).
    pub fn free(&self) -> Vec<bool> {
        self.lower.iter().zip(&self.upper).map(|(l, u)| l < u).collect()
    }

    /// Moves `x` into the set: onto the L2 ball, then into the box. With
    /// the ball's centre inside the box, clipping never leaves the ball, so
    /// the result is feasible (for an L2 ball it is not always the nearest
    /// feasible point, as in the attack literature's PGD).
    pub fn project(&self, x: &mut [f32]) {
        if let Some(Ball { center, radius, norm: Norm::L2 }) = &self.ball {
            let dist = x.iter().zip(center).map(|(a, c)| (a - c) * (a - c)).sum::<f32>().sqrt();
            if dist > *radius {
                let s = radius / dist;
                for (a, c) in x.iter_mut().zip(center) {
                    *a = c + (*a - c) * s;
                }
            }
        }
        for ((a, l), u) in x.iter_mut().zip(&self.lower).zip(&self.upper) {
            *a = a.clamp(*l, *u);
        }
    }

    /// Whether `x` lies in the set, within `tol`.
    pub fn contains(&self, x: &[f32], tol: f32) -> bool {
        let in_box = x.iter().zip(&self.lower).zip(&self.upper).all(|((a, l), u)| *a >= l - tol && *a <= u + tol);
        in_box
            && match &self.ball {
                Some(Ball { center, radius, norm: Norm::L2 }) => {
                    x.iter().zip(center).map(|(a, c)| (a - c) * (a - c)).sum::<f32>().sqrt() <= radius + tol
                }
                _ => true,
            }
    }

    /// A random point of the set: uniform in the box (a standard normal
    /// around `around` on unbounded elements), for an L2 ball uniform in
    /// the ball, then projected; fixed elements keep their value.
    pub fn random_point(&self, around: &[f32], rng: &mut impl Rng) -> Vec<f32> {
        let mut x: Vec<f32> = match &self.ball {
            Some(Ball { center, radius, norm: Norm::L2 }) => {
                let dir: Vec<f32> = center.iter().map(|_| StandardNormal.sample(rng)).collect();
                let len = dir.iter().map(|d| d * d).sum::<f32>().sqrt().max(1e-12);
                let r = radius * rng.random::<f32>().powf(1.0 / center.len().max(1) as f32);
                center.iter().zip(&dir).map(|(c, d)| c + d / len * r).collect()
            }
            _ => (0..self.len())
                .map(|i| {
                    let (l, u) = (self.lower[i], self.upper[i]);
                    match (l.is_finite(), u.is_finite()) {
                        (true, true) => l + (u - l) * rng.random::<f32>(),
                        _ => {
                            let z: f32 = StandardNormal.sample(rng);
                            around[i] + z
                        }
                    }
                })
                .collect(),
        };
        self.project(&mut x);
        x
    }

    /// Half the widest finite extent: the radius that sizes default steps.
    pub fn radius(&self) -> f32 {
        if let Some(b) = &self.ball {
            return b.radius;
        }
        let widest = self
            .lower
            .iter()
            .zip(&self.upper)
            .filter(|(l, u)| l.is_finite() && u.is_finite() && l < u)
            .map(|(l, u)| u - l)
            .fold(0.0f32, f32::max);
        if widest > 0.0 {
            widest / 2.0
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn projection_respects_ball_and_box() {
        let set = FeasibleSet {
            lower: vec![0.0, 0.0],
            upper: vec![1.0, 1.0],
            ball: Some(Ball { center: vec![0.5, 0.9], radius: 0.2, norm: Norm::L2 }),
        };
        let mut x = vec![2.0, 2.0];
        set.project(&mut x);
        assert!(set.contains(&x, 1e-6), "{x:?}");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let p = set.random_point(&[0.5, 0.9], &mut rng);
            assert!(set.contains(&p, 1e-6), "{p:?}");
        }
    }

    #[test]
    fn fixed_elements_are_not_free_and_stay() {
        let set = FeasibleSet { lower: vec![0.3, -1.0], upper: vec![0.3, 1.0], ball: None };
        assert_eq!(set.free(), vec![false, true]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        assert_eq!(set.random_point(&[0.3, 0.0], &mut rng)[0], 0.3);
    }
}
