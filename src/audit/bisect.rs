//! The refinement of `audit --epsilons`: per flipped sample, a bisection of
//! the radius between the largest listed radius its attack survived (or 0)
//! and the smallest listed one that flipped it, each attack warm-started at
//! the adversarial of the smallest successful radius so far, projected into
//! the smaller ball. It stops once the bracket is at most `tolerance` times
//! the listed flipping radius wide, so that the cost is at most
//! `ceil(log2(1 / tolerance))` attacks per flipped sample whatever the norm
//! and the scale of the radii.

use std::collections::BTreeMap;

use super::{attack_goals, decode_base64_f32, goal_for, AuditInput, SampleResult};
use crate::error::Result;
use crate::goal::{ClassTemplate, Goal, Start};
use crate::optim::engine::Engine;
use crate::optim::Settings;

/// `--epsilon-tolerance` unless given: the bracket's width as a fraction of
/// the listed radius that flipped the sample (at most 5 attacks per sample).
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// What one sample's bisection knows: the attack failed at `robust` (0:
/// below the listed radii, where nothing was tried) and succeeded at
/// `flipped`; it stops once they are `stop` apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bracket {
    pub robust: f64,
    pub flipped: f64,
    stop: f64,
}

impl Bracket {
    /// The bracket between listed radii `robust` and `flipped`.
    pub fn new(robust: f64, flipped: f64, tolerance: f64) -> Bracket {
        Bracket { robust, flipped, stop: tolerance * flipped }
    }

    /// The next radius to attack, or `None` once the bracket is narrow enough.
    pub fn midpoint(&self) -> Option<f64> {
        let mid = (self.robust + self.flipped) / 2.0;
        // The second test ends it where f32 radii can no longer split it.
        let splits = (mid as f32) > (self.robust as f32) && (mid as f32) < (self.flipped as f32);
        (self.flipped - self.robust > self.stop && splits).then_some(mid)
    }

    /// Narrows the bracket by the attack's outcome at `radius`.
    pub fn record(&mut self, radius: f64, flipped: bool) {
        if flipped {
            self.flipped = radius;
        } else {
            self.robust = radius;
        }
    }

    /// The largest radius at which the attack failed, if any was tried.
    pub fn max_robust(&self) -> Option<f64> {
        (self.robust > 0.0).then_some(self.robust)
    }
}

/// Refines the `min_epsilon` of every flipped sample of `samples` (after
/// the listed radii `a.epsilons`) and sets `max_robust_epsilon` on every
/// attacked one. `settings_at` gives the settings of a radius. The samples
/// of one radius are attacked in batches of `batch`, so that each sample's
/// search sees the settings it would see alone.
pub(super) fn refine(
    a: &AuditInput,
    template: &ClassTemplate,
    engine: &mut Engine,
    settings_at: &dyn Fn(f64) -> Result<Settings>,
    samples: &mut [SampleResult],
    batch: usize,
) -> Result<()> {
    let largest = a.epsilons.last().copied();
    let mut brackets: Vec<(usize, Bracket)> = Vec::new();
    for (s, r) in samples.iter_mut().enumerate().filter(|(_, r)| r.attacked) {
        match r.min_epsilon {
            Some(flipped) => {
                let robust = a.epsilons.iter().rev().find(|&&e| e < flipped).copied().unwrap_or(0.0);
                brackets.push((s, Bracket::new(robust, flipped, a.epsilon_tolerance)));
            }
            None => r.max_robust_epsilon = largest,
        }
    }
    loop {
        // The samples due at each radius; f64 bits order positive radii.
        let mut due: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (b, (_, bracket)) in brackets.iter().enumerate() {
            if let Some(mid) = bracket.midpoint() {
                due.entry(mid.to_bits()).or_default().push(b);
            }
        }
        if due.is_empty() {
            break;
        }
        for (bits, group) in due {
            let radius = f64::from_bits(bits);
            let settings = settings_at(radius)?;
            for chunk in group.chunks(batch.max(1)) {
                let members: Vec<usize> = chunk.iter().map(|&b| brackets[b].0).collect();
                let goals =
                    members.iter().map(|&s| warm_goal(a, template, &samples[s], radius)).collect::<Result<Vec<_>>>()?;
                let mut tried: Vec<SampleResult> = members.iter().map(|&s| samples[s].clone()).collect();
                let rows: Vec<usize> = (0..tried.len()).collect();
                attack_goals(engine, &settings, &goals, &mut tried, &rows, Some(radius))?;
                for ((&b, &s), result) in chunk.iter().zip(&members).zip(tried) {
                    brackets[b].1.record(radius, result.success);
                    // A failure keeps the adversarial of the smaller flipping radius.
                    if result.success {
                        samples[s] = result;
                    }
                }
            }
        }
    }
    for (s, bracket) in brackets {
        samples[s].max_robust_epsilon = bracket.max_robust();
    }
    Ok(())
}

/// Sample `r`'s goal at `radius`, toward the class it reached, starting at
/// its stored adversarial projected into the ball (restart 0 starts there,
/// see [`crate::optim::starts`]; without one, at the clean image).
fn warm_goal(a: &AuditInput, template: &ClassTemplate, r: &SampleResult, radius: f64) -> Result<Goal> {
    let mut goal = goal_for(a, template, r.index, r.label, Some(radius), r.target)?;
    if let Some(mut x) = r.adversarial_f32le.as_deref().and_then(decode_base64_f32) {
        if x.len() == goal.feasible.len() {
            goal.feasible.project(&mut x);
            goal.start = Start::Given(x);
        }
    }
    Ok(goal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a bisection against a sample that flips from `threshold` on.
    fn bisect(robust: f64, flipped: f64, tolerance: f64, threshold: f64) -> (Bracket, usize) {
        let mut b = Bracket::new(robust, flipped, tolerance);
        let mut attacks = 0;
        while let Some(mid) = b.midpoint() {
            b.record(mid, mid >= threshold);
            attacks += 1;
        }
        (b, attacks)
    }

    #[test]
    fn the_bracket_closes_on_the_threshold_within_the_tolerance() {
        let (b, attacks) = bisect(0.1, 0.2, 0.05, 0.137);
        assert!(b.robust < 0.137 && 0.137 <= b.flipped, "{b:?}");
        assert!(b.flipped - b.robust <= 0.05 * 0.2);
        // (0.2 - 0.1) / 2^4 = 0.00625 <= 0.01 < 0.0125.
        assert_eq!(attacks, 4);
        assert_eq!(b.max_robust(), Some(b.robust));
    }

    #[test]
    fn from_zero_the_cost_is_bounded_by_the_tolerance() {
        // Flipped at every radius tried: no failure, no robust radius.
        let (b, attacks) = bisect(0.0, 0.3, 0.05, 0.0);
        assert_eq!(attacks, 5, "ceil(log2(1 / 0.05))");
        assert!(b.flipped <= 0.05 * 0.3 && b.max_robust().is_none(), "{b:?}");
    }

    #[test]
    fn a_tolerance_of_one_keeps_the_listed_radius() {
        assert_eq!(Bracket::new(0.0, 0.3, 1.0).midpoint(), None);
        assert_eq!(Bracket::new(0.1, 0.3, 1.0).midpoint(), None);
    }

    #[test]
    fn a_bracket_f32_cannot_split_ends() {
        let lo = 0.1f32 as f64;
        let hi = f64::from(f32::from_bits((0.1f32).to_bits() + 1));
        assert_eq!(Bracket::new(lo, hi, 1e-12).midpoint(), None);
    }
}
