//! Exact decisions about the values a VNN-COMP checker reads: which float32
//! inputs lie in a property's box as written (its numbers parsed to the
//! nearest f64, as the checker parses them, and any arithmetic on them
//! exact), and the exact sign of a linear output constraint at float32
//! outputs. Nothing here rounds towards an answer: an input is inside or
//! not, a constraint holds or not, and where exactness cannot be had (a
//! value that is not finite) the answer is "no".

use std::cmp::Ordering;

use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};

/// One side of an input interval: the bound and whether it is strict
/// (`<` or `>` in the property).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub strict: bool,
}

impl Bound {
    /// Whether `v` satisfies this bound as a lower bound (`v >= value`, or
    /// `v > value` when strict).
    pub fn admits_from_below(&self, v: f64) -> bool {
        if self.strict {
            v > self.value
        } else {
            v >= self.value
        }
    }

    /// Whether `v` satisfies this bound as an upper bound.
    pub fn admits_from_above(&self, v: f64) -> bool {
        if self.strict {
            v < self.value
        } else {
            v <= self.value
        }
    }
}

/// The float32 values inside the interval from `lower` to `upper`: the
/// smallest and the largest, or `None` when the interval holds no float32
/// (a point such as `[0.3, 0.3]`, or an interval narrower than the float32
/// spacing around it). Every float32 between the two returned values lies
/// in the interval too (the interval is convex and the values are ordered).
pub fn f32_interval(lower: Bound, upper: Bound) -> Option<(f32, f32)> {
    let lo = smallest_f32_admitted(lower)?;
    let hi = largest_f32_admitted(upper)?;
    let inside = lo <= hi && upper.admits_from_above(f64::from(lo)) && lower.admits_from_below(f64::from(hi));
    inside.then_some((lo, hi))
}

/// The smallest finite float32 `v` with `lower.admits_from_below(v)`
/// (`None` beyond float32's range).
pub fn smallest_f32_admitted(lower: Bound) -> Option<f32> {
    if lower.value.is_nan() {
        return None;
    }
    // `as` rounds to the nearest float32 (to an infinity beyond the range),
    // so the answer is that value or the next one up.
    let mut v = lower.value as f32;
    if !lower.admits_from_below(f64::from(v)) {
        v = v.next_up();
    }
    (v.is_finite() && lower.admits_from_below(f64::from(v))).then_some(v)
}

/// The largest finite float32 `v` with `upper.admits_from_above(v)`.
fn largest_f32_admitted(upper: Bound) -> Option<f32> {
    if upper.value.is_nan() {
        return None;
    }
    let mut v = upper.value as f32;
    if !upper.admits_from_above(f64::from(v)) {
        v = v.next_down();
    }
    (v.is_finite() && upper.admits_from_above(f64::from(v))).then_some(v)
}

/// A linear form `sum_j a_j Y_j + constant` over the outputs, with the
/// property's numbers as parsed (each the nearest f64) and every sum and
/// product of them kept exact (rationals): `(+ Y_0 1e17 1 -1e17)` keeps its
/// constant 1, which f64 arithmetic would lose.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactLinear {
    /// Sparse, without zero coefficients.
    pub terms: Vec<(usize, BigRational)>,
    pub constant: BigRational,
}

impl ExactLinear {
    /// The exact sign of the form at `y`; `None` when an index lies past
    /// `y`, any output is not finite (a checker's `A y` is NaN there, so
    /// such a point is never confirmed) or a product overflows in f64.
    pub fn sign_at(&self, y: &[f64]) -> Option<Ordering> {
        if !y.iter().all(|v| v.is_finite()) {
            return None;
        }
        let mut sum = self.constant.clone();
        for (j, a) in &self.terms {
            let v = *y.get(*j)?;
            // A product a checker's f64 arithmetic overflows is not decided.
            if !(nearest(a)? * v).is_finite() {
                return None;
            }
            sum += a * BigRational::from_float(v)?;
        }
        Some(sum.cmp(&BigRational::zero()))
    }

    /// The form with these f64 coefficients (one per output, zeros left
    /// out) and constant; `None` when one is not finite.
    pub fn of_f64(coeffs: &[f64], constant: f64) -> Option<ExactLinear> {
        let nonzero = coeffs.iter().enumerate().filter(|(_, a)| **a != 0.0);
        let terms = nonzero.map(|(j, &a)| Some((j, rational(a)?))).collect::<Option<Vec<_>>>()?;
        Some(ExactLinear { terms, constant: rational(constant)? })
    }
}

/// The exact value of a finite f64 (`None` for NaN and the infinities).
pub fn rational(v: f64) -> Option<BigRational> {
    BigRational::from_float(v)
}

/// `v` as the f64 bound an f64 input is compared with: `x <= v` (`x < v`
/// when `strict`) holds for exactly the same f64 `x` as the returned bound.
/// Where `v` is an f64 that is `v` itself; otherwise the largest f64 below
/// `v`, non-strict. `None` beyond f64's range.
pub fn upper_bound(v: &BigRational, strict: bool) -> Option<Bound> {
    let mut f = nearest(v)?;
    let exact = |f: f64| rational(f).map(|r| r.cmp(v));
    match exact(f)? {
        Ordering::Equal => return Some(Bound { value: f, strict }),
        Ordering::Greater => {
            while exact(f)? == Ordering::Greater {
                f = f.next_down();
            }
        }
        Ordering::Less => {
            while exact(f.next_up())? == Ordering::Less {
                f = f.next_up();
            }
        }
    }
    f.is_finite().then_some(Bound { value: f, strict: false })
}

/// `v` as an f64 lower bound (`x >= v`, `x > v` when `strict`), as
/// [`upper_bound`] does for upper ones.
pub fn lower_bound(v: &BigRational, strict: bool) -> Option<Bound> {
    let negated = upper_bound(&-v.clone(), strict)?;
    Some(Bound { value: -negated.value, strict: negated.strict })
}

/// The f64 nearest to `v` (for the search, which works in floats), `None`
/// beyond f64's range.
pub fn nearest(v: &BigRational) -> Option<f64> {
    v.to_f64().filter(|f| f.is_finite())
}

/// The text of an input or output value in a result file: the shortest
/// decimal that parses back to exactly `v`'s f64 value (and so, for a
/// float32 `v`, to `v` again after the checker's cast).
pub fn decimal(v: f64) -> String {
    format!("{v:e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn closed(lo: f64, hi: f64) -> (Bound, Bound) {
        (Bound { value: lo, strict: false }, Bound { value: hi, strict: false })
    }

    /// Checks `f32_interval`'s answer against its definition: the ends lie
    /// inside, their outer neighbours do not; `None` only when no float32
    /// near the lower bound lies inside (any float32 inside would be one of
    /// them: the smallest float32 admitted is within one step of it).
    fn check(lower: Bound, upper: Bound) {
        let inside =
            |v: f32| v.is_finite() && lower.admits_from_below(f64::from(v)) && upper.admits_from_above(f64::from(v));
        match f32_interval(lower, upper) {
            Some((lo, hi)) => {
                assert!(lo <= hi, "{lower:?} {upper:?}");
                assert!(inside(lo) && inside(hi), "{lower:?} {upper:?}: {lo} {hi}");
                assert!(!inside(lo.next_down()), "{lower:?} {upper:?}: {lo} is not the smallest");
                assert!(!inside(hi.next_up()), "{lower:?} {upper:?}: {hi} is not the largest");
            }
            None => {
                let near = lower.value as f32;
                let candidates =
                    [near.next_down().next_down(), near.next_down(), near, near.next_up(), near.next_up().next_up()];
                for c in candidates {
                    assert!(!inside(c), "{lower:?} {upper:?}: {c} lies inside, yet none was found");
                }
            }
        }
    }

    #[test]
    fn the_reproducers_have_no_f32_point() {
        let (lo, hi) = closed(0.3, 0.3);
        assert_eq!(f32_interval(lo, hi), None);
        let (lo, hi) = closed(0.1000000001, 0.1000000009);
        assert_eq!(f32_interval(lo, hi), None);
    }

    #[test]
    fn a_box_holding_float32_values_gives_the_outermost_ones_inside() {
        let (lo, hi) = closed(-0.30353115613746867, -0.29855281193475053);
        let (l, h) = f32_interval(lo, hi).unwrap();
        assert!(f64::from(l) >= lo.value && f64::from(h) <= hi.value);
        // 0.5 is a float32: a closed bound admits it, a strict one does not.
        assert_eq!(f32_interval(closed(0.5, 0.5).0, closed(0.5, 0.5).1), Some((0.5, 0.5)));
        let strict = Bound { value: 0.5, strict: true };
        assert_eq!(f32_interval(strict, Bound { value: 1.0, strict: false }), Some((0.5f32.next_up(), 1.0)));
        assert_eq!(f32_interval(Bound { value: 0.0, strict: false }, strict), Some((0.0, 0.5f32.next_down())));
        assert_eq!(f32_interval(strict, Bound { value: 0.5, strict: false }), None);
        // Bounds beyond float32's range keep to its finite values.
        assert_eq!(f32_interval(closed(-1e300, 1e300).0, closed(-1e300, 1e300).1), Some((f32::MIN, f32::MAX)));
        assert_eq!(f32_interval(closed(1e300, 2e300).0, closed(1e300, 2e300).1), None);
        for (lo, hi) in [(0.1, 0.1), (1e-9, 2e-9), (0.0, 0.0), (-0.0, 0.0), (1e-46, 1e-45), (0.0, 1e-46)] {
            let (l, h) = closed(lo, hi);
            check(l, h);
        }
    }

    /// `v` moved by `k` f64 steps (through the ordered integer image of the
    /// bits, so that steps cross zero and exponents).
    fn f64_steps(v: f64, k: i64) -> f64 {
        let bits = v.to_bits() as i64;
        let key = if bits < 0 { -(bits & i64::MAX) } else { bits };
        let moved = key + k;
        let bits = if moved < 0 { (-moved) | i64::MIN } else { moved };
        f64::from_bits(bits as u64)
    }

    #[test]
    fn random_boxes_at_the_edge_of_float32_precision() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for _ in 0..200_000 {
            // A float32 anchor at any scale, then bounds a few f64 steps
            // or a few float32 steps around it.
            let exponent = if rng.random_bool(0.8) { rng.random_range(-40..40) } else { rng.random_range(-150..127) };
            let anchor = (rng.random::<f32>() * 2.0 - 1.0) * 2f32.powi(exponent);
            let anchor = f64::from(anchor);
            let spread = if rng.random_bool(0.5) { 1 } else { 1 << 29 };
            let lo = f64_steps(anchor, rng.random_range(-3..=3) * rng.random_range(0..=spread));
            let hi = f64_steps(lo, rng.random_range(0..=3) * rng.random_range(0..=spread));
            let lower = Bound { value: lo, strict: rng.random_bool(0.3) };
            let upper = Bound { value: hi, strict: rng.random_bool(0.3) };
            check(lower, upper);
            // Decimal text of the bounds, as a property writes them.
            let text = |v: f64| format!("{v:.9e}").parse::<f64>().unwrap();
            check(Bound { value: text(lo), ..lower }, Bound { value: text(hi), ..upper });
        }
    }

    #[test]
    fn printed_values_parse_back_to_the_same_float32() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100_000 {
            let v = f32::from_bits(rng.random::<u32>());
            if !v.is_finite() {
                continue;
            }
            let parsed: f64 = decimal(f64::from(v)).parse().unwrap();
            assert_eq!(parsed, f64::from(v));
            assert_eq!((parsed as f32).to_bits(), v.to_bits());
        }
    }

    fn form(a: &[f64], constant: f64) -> ExactLinear {
        ExactLinear::of_f64(a, constant).unwrap()
    }

    /// Integers times powers of two, so that i128 holds the exact sum.
    #[test]
    fn linear_signs_are_exact_where_f64_sums_are_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut naive_wrong = 0;
        for _ in 0..20_000 {
            let n = rng.random_range(1..6);
            let ks: Vec<i64> = (0..n).map(|_| rng.random_range(-(1 << 24)..(1 << 24))).collect();
            let ms: Vec<i64> = (0..n).map(|_| rng.random_range(-(1i64 << 52)..(1i64 << 52))).collect();
            let y: Vec<f64> = ks.iter().map(|&k| k as f64 * 2f64.powi(-20)).collect();
            let a: Vec<f64> = ms.iter().map(|&m| m as f64 * 2f64.powi(-30)).collect();
            // Exact sum in units of 2^-50.
            let exact: i128 = ks.iter().zip(&ms).map(|(&k, &m)| i128::from(k) * i128::from(m)).sum();
            // A constant cancelling the sum nearly or exactly.
            let offset: i128 = rng.random_range(-4..=4);
            let b = -((exact + offset) as f64) * 2f64.powi(-50);
            let b_units = (b * 2f64.powi(50)) as i128;
            let truth = (exact + b_units).cmp(&0);
            assert_eq!(form(&a, b).sign_at(&y), Some(truth), "{a:?} {y:?} {b}");
            let naive = a.iter().zip(&y).map(|(a, y)| a * y).sum::<f64>() + b;
            if naive.partial_cmp(&0.0) != Some(truth) {
                naive_wrong += 1;
            }
        }
        assert!(naive_wrong > 200, "the test must catch rounding: naive sums were wrong {naive_wrong} times");
    }

    #[test]
    fn an_exact_form_refuses_what_a_checker_cannot_compute() {
        // Not finite, or a product that overflows f64: never confirmed.
        assert_eq!(form(&[1.0], 0.0).sign_at(&[f64::NAN]), None);
        assert_eq!(form(&[1.0, 0.0], 0.0).sign_at(&[1.0, f64::NAN]), None, "even an output the form does not read");
        assert_eq!(form(&[1e300], 0.0).sign_at(&[1e300]), None);
        // Tiny products are decided exactly.
        assert_eq!(form(&[1e-300], 0.0).sign_at(&[1e-10]), Some(Ordering::Greater));
        assert_eq!(form(&[1.0, -1.0], 0.0).sign_at(&[0.5, 0.5]), Some(Ordering::Equal));
        assert_eq!(form(&[0.0], -1.0).sign_at(&[f64::MAX]), Some(Ordering::Less));
        assert_eq!(form(&[], 0.0).sign_at(&[]), Some(Ordering::Equal));
    }

    #[test]
    fn bounds_off_the_f64_grid_admit_the_same_inputs_as_the_exact_bound() {
        // 0.1573268175125122 / 0.1 as an exact quotient lies between two f64.
        let c = rational(0.1573268175125122).unwrap();
        let v = &c / rational(0.1).unwrap();
        let upper = upper_bound(&v, false).unwrap();
        let lower = lower_bound(&v, false).unwrap();
        assert!(!upper.strict && !lower.strict);
        assert_eq!(lower.value, upper.value.next_up(), "the f64 neighbours of the quotient");
        assert!(rational(upper.value).unwrap() < v && rational(lower.value).unwrap() > v);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let value = rng.random_range(-4.0f64..4.0);
            let factor = [0.1, 0.7, 1.0 / 3.0, 3.0, -0.3][rng.random_range(0..5)];
            let v = rational(value).unwrap() / rational(factor).unwrap();
            for strict in [false, true] {
                let (up, low) = (upper_bound(&v, strict).unwrap(), lower_bound(&v, strict).unwrap());
                let mid = nearest(&v).unwrap();
                for x in [mid.next_down().next_down(), mid.next_down(), mid, mid.next_up(), mid.next_up().next_up()] {
                    let r = rational(x).unwrap();
                    let below = if strict { r < v } else { r <= v };
                    let above = if strict { r > v } else { r >= v };
                    assert_eq!(up.admits_from_above(x), below, "{x} against {v} (strict {strict})");
                    assert_eq!(low.admits_from_below(x), above, "{x} against {v} (strict {strict})");
                }
            }
        }
        // An f64 bound stays itself, strictness kept.
        assert_eq!(upper_bound(&rational(0.3).unwrap(), true), Some(Bound { value: 0.3, strict: true }));
        assert_eq!(lower_bound(&rational(-0.5).unwrap(), false), Some(Bound { value: -0.5, strict: false }));
        assert_eq!(upper_bound(&(rational(f64::MAX).unwrap() * rational(4.0).unwrap()), false), None);
    }
}
