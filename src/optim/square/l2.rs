//! The Square attack's proposals for L2 balls (Andriushchenko et al., ECCV
//! 2020, Algorithm 3, as AutoAttack's `square.py` runs it): the start is a
//! grid of tiles, each a +- pair of "pseudo-Gaussian" bumps per channel;
//! each query moves the perturbation's mass inside a random window into a
//! new +- pair and empties a second random window, then rescales the whole
//! perturbation onto the sphere of radius eps. The caller clips to the box
//! and keeps the change only when the margin decreases.

use rand::Rng;

use super::Geometry;

/// Added to norms before dividing, as AutoAttack does.
const TINY: f64 = 1e-12;

/// Centred bumps on an `a x b` rectangle (row-major): nested rectangles of
/// sides `2k + 1` around the centre, each adding `1 / (k + 1)^2`,
/// normalised to L2 norm 1 (AutoAttack's `eta_rectangles`).
fn bumps(a: usize, b: usize) -> Vec<f64> {
    let mut d = vec![0.0; a * b];
    let (xc, yc) = (a / 2 + 1, b / 2 + 1);
    let (mut r0, mut c0) = (xc as isize - 1, yc as isize - 1);
    for k in 0..xc.max(yc) {
        let side = 2 * k as isize + 1;
        let rows = r0.max(0) as usize..((r0 + side).min(a as isize)).max(0) as usize;
        let cols = c0.max(0) as usize..((c0 + side).min(b as isize)).max(0) as usize;
        let add = 1.0 / ((k + 1) * (k + 1)) as f64;
        for i in rows {
            for j in cols.clone() {
                d[i * b + j] += add;
            }
        }
        r0 -= 1;
        c0 -= 1;
    }
    normalise(&mut d);
    d
}

/// The pseudo-Gaussian perturbation of an `a x b` window (AutoAttack's
/// `eta`): bumps of one sign on one half, of the other on the other half,
/// norm 1. The halves split the rows when `split_rows` (else the columns);
/// a side of length 1 cannot be split, so the other one is.
fn pseudo_gaussian(a: usize, b: usize, split_rows: bool) -> Vec<f64> {
    let split_rows = if a < 2 { false } else { split_rows || b < 2 };
    let mut d = vec![0.0; a * b];
    if a < 2 && b < 2 {
        d.fill(1.0);
        return d;
    }
    if split_rows {
        let top = a / 2;
        let (plus, minus) = (bumps(top, b), bumps(a - top, b));
        for i in 0..a {
            for j in 0..b {
                d[i * b + j] = if i < top { plus[i * b + j] } else { -minus[(i - top) * b + j] };
            }
        }
    } else {
        let left = b / 2;
        let (plus, minus) = (bumps(a, left), bumps(a, b - left));
        for i in 0..a {
            for j in 0..b {
                d[i * b + j] = if j < left { plus[i * left + j] } else { -minus[i * (b - left) + j - left] };
            }
        }
    }
    normalise(&mut d);
    d
}

fn norm(v: impl IntoIterator<Item = f64>) -> f64 {
    v.into_iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn normalise(d: &mut [f64]) {
    let n = norm(d.iter().copied());
    d.iter_mut().for_each(|v| *v /= n + TINY);
}

/// A window of a sample: its top-left corner and its sides.
#[derive(Debug, Clone, Copy)]
struct Window {
    top: usize,
    left: usize,
    height: usize,
    width: usize,
}

impl Window {
    /// The element indices of channel `c` in the window, row by row.
    fn indices(self, g: &Geometry, c: usize) -> impl Iterator<Item = usize> + '_ {
        (self.top..self.top + self.height)
            .flat_map(move |h| (self.left..self.left + self.width).map(move |w| g.index(c, h, w)))
    }

    fn random(g: &Geometry, (height, width): (usize, usize), rng: &mut impl Rng) -> Self {
        let top = rng.random_range(0..=g.height - height);
        let left = rng.random_range(0..=g.width - width);
        Window { top, left, height, width }
    }
}

impl Geometry {
    /// The sides of an L2 query's window covering a share `p`: as
    /// [`Geometry::window`], but at least 3 and odd where the image allows
    /// (AutoAttack's `max(round(sqrt(p n / c)), 3)`, made odd), and at most
    /// the image's side.
    pub(super) fn l2_window(&self, p: f64) -> (usize, usize) {
        let odd_at_least_3 = |s: usize, limit: usize| {
            let s = s.max(3);
            let s = s | 1;
            if s <= limit {
                s
            } else if !limit.is_multiple_of(2) || limit < 2 {
                limit.max(1)
            } else {
                limit - 1
            }
        };
        if self.height == 1 {
            let w = (p * self.width as f64).round() as usize;
            return (1, odd_at_least_3(w, self.width));
        }
        let side = (p * (self.height * self.width) as f64).sqrt().round() as usize;
        let s = odd_at_least_3(side, self.height.min(self.width));
        (s, s)
    }
}

/// `centre + eps * delta / ||delta||` over the free elements (`free[i]`
/// 0 keeps element `i` at its centre): the point on the sphere of radius
/// `eps` in the direction of `delta`. A zero `delta` gives the centre.
pub(super) fn on_sphere(centre: &[f32], delta: &[f64], free: &[f32], eps: f32) -> Vec<f32> {
    let kept = |i: usize| if free[i] == 0.0 { 0.0 } else { delta[i] };
    let n = norm((0..delta.len()).map(kept));
    centre.iter().enumerate().map(|(i, c)| c + (f64::from(eps) * kept(i) / (n + TINY)) as f32).collect()
}

/// The start of an L2 row's search: tiles of a fifth of each side, centred
/// in the image, each channel of each tile a pseudo-Gaussian of random
/// sign and orientation; put on the sphere of radius `eps` (the caller
/// projects into the box).
pub(super) fn start(g: &Geometry, centre: &[f32], free: &[f32], eps: f32, rng: &mut impl Rng) -> Vec<f32> {
    let mut delta = vec![0.0; centre.len()];
    let (th, tw) = ((g.height / 5).max(1), (g.width / 5).max(1));
    let (rows, cols) = (g.height / th, g.width / tw);
    let (top0, left0) = ((g.height - th * rows) / 2, (g.width - tw * cols) / 2);
    for i in 0..rows {
        for j in 0..cols {
            let tile = Window { top: top0 + i * th, left: left0 + j * tw, height: th, width: tw };
            let bump = pseudo_gaussian(th, tw, rng.random::<bool>());
            for c in 0..g.channels {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                for (k, e) in tile.indices(g, c).enumerate() {
                    delta[e] += sign * bump[k];
                }
            }
        }
    }
    on_sphere(centre, &delta, free, eps)
}

/// One L2 query from the row's best point `best` (Algorithm 3): in a
/// random window `W1` of the share `p`, each channel's perturbation becomes
/// its old direction plus a fresh pseudo-Gaussian of random sign, rescaled
/// to hold the mass of both windows plus the unused budget; a second random
/// window `W2` is emptied; the whole perturbation goes back onto the
/// sphere of radius `eps`.
pub(super) fn query(
    g: &Geometry,
    centre: &[f32],
    best: &[f32],
    free: &[f32],
    eps: f32,
    p: f64,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let mut delta: Vec<f64> = best.iter().zip(centre).map(|(x, c)| f64::from(x - c)).collect();
    let sides = g.l2_window(p);
    let w1 = Window::random(g, sides, rng);
    let w2 = Window::random(g, sides, rng);
    let bump = pseudo_gaussian(sides.0, sides.1, rng.random::<bool>());
    let norm_image = norm(delta.iter().copied());
    let mut in_windows = vec![false; delta.len()];
    for c in 0..g.channels {
        w1.indices(g, c).chain(w2.indices(g, c)).for_each(|i| in_windows[i] = true);
    }
    let norm_windows = norm(delta.iter().zip(&in_windows).filter(|(_, &w)| w).map(|(d, _)| *d));
    let eps = f64::from(eps);
    let mass =
        ((eps * eps - norm_image * norm_image).max(0.0) / g.channels as f64 + norm_windows * norm_windows).sqrt();
    let fresh: Vec<Vec<f64>> = (0..g.channels)
        .map(|c| {
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let old: Vec<f64> = w1.indices(g, c).map(|i| delta[i]).collect();
            let n_old = norm(old.iter().copied());
            let mut new: Vec<f64> = bump.iter().zip(&old).map(|(b, o)| sign * b + o / (n_old + TINY)).collect();
            normalise(&mut new);
            new.iter_mut().for_each(|v| *v *= mass);
            new
        })
        .collect();
    for c in 0..g.channels {
        w2.indices(g, c).for_each(|i| delta[i] = 0.0);
    }
    for (c, new) in fresh.iter().enumerate() {
        w1.indices(g, c).zip(new).for_each(|(i, v)| delta[i] = *v);
    }
    on_sphere(centre, &delta, free, eps as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bumps_peak_in_the_centre_with_norm_one() {
        let b = bumps(3, 3);
        // Centre 1 + 1/4, the ring 1/4: normalised.
        assert!((norm(b.iter().copied()) - 1.0).abs() < 1e-9);
        assert!((b[4] / b[0] - 5.0).abs() < 1e-9, "{b:?}");
        assert_eq!(bumps(1, 1), vec![1.0 / (1.0 + TINY)]);
    }

    #[test]
    fn the_pseudo_gaussian_is_a_plus_minus_pair_of_norm_one() {
        for (a, b) in [(5, 5), (4, 7), (1, 6), (6, 1), (1, 1)] {
            for split in [false, true] {
                let d = pseudo_gaussian(a, b, split);
                assert_eq!(d.len(), a * b);
                assert!((norm(d.iter().copied()) - 1.0).abs() < 1e-9, "{a}x{b}");
                if a * b > 1 {
                    assert!(d.iter().any(|&v| v > 0.0) && d.iter().any(|&v| v < 0.0), "{a}x{b}: {d:?}");
                }
            }
        }
        let rows = pseudo_gaussian(4, 4, true);
        assert!(rows[..8].iter().all(|&v| v > 0.0) && rows[8..].iter().all(|&v| v < 0.0));
    }

    #[test]
    fn l2_windows_are_odd_at_least_3_and_fit() {
        let mnist = Geometry::of(&[1, 28, 28]);
        assert_eq!(mnist.l2_window(0.8), (25, 25));
        assert_eq!(mnist.l2_window(0.8 / 512.0), (3, 3));
        assert_eq!(mnist.l2_window(0.1), (9, 9));
        assert_eq!(Geometry::of(&[2, 2]).l2_window(0.5), (1, 1));
        assert_eq!(Geometry::of(&[5]).l2_window(0.9), (1, 5));
        assert_eq!(Geometry::of(&[4]).l2_window(0.9), (1, 3));
    }

    #[test]
    fn starts_and_queries_lie_on_the_sphere_and_keep_fixed_elements() {
        let g = Geometry::of(&[3, 8, 8]);
        let n = 3 * 64;
        let centre: Vec<f32> = (0..n).map(|i| (i % 7) as f32 / 7.0).collect();
        let mut free = vec![1.0f32; n];
        free[5] = 0.0;
        let dist = |x: &[f32]| norm(x.iter().zip(&centre).map(|(a, c)| f64::from(a - c)));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut x = start(&g, &centre, &free, 0.5, &mut rng);
        assert!((dist(&x) - 0.5).abs() < 1e-5, "{}", dist(&x));
        for i in 0..50 {
            x = query(&g, &centre, &x, &free, 0.5, super::super::share(0.8, i), &mut rng);
            assert!((dist(&x) - 0.5).abs() < 1e-5, "query {i}: {}", dist(&x));
            assert_eq!(x[5], centre[5]);
        }
    }
}
