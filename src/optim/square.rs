//! The Square attack (Andriushchenko et al., ECCV 2020; ATTACKS.md):
//! score-based, forward passes of the true network only, so it finds what
//! gradient masking hides. For L-infinity balls and boxes each row starts
//! from vertical stripes (every column of every channel at `+-eps`), then
//! each query sets a random square window of every channel to `x0 +- eps`
//! (one sign per channel); for L2 balls the start and the queries are the
//! paper's Algorithm 3 (`l2`). A query's change is kept when the
//! classification margin decreases. The window covers a share `p` of the
//! image that starts at `square_p_init` and halves on AutoAttack's schedule
//! (not rescaled to the budget, as AutoAttack's standard run).

mod l2;

use ndarray::Array2;
use rand::Rng;

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::Norm;

/// The layout of one sample's input as an image: channels, height and
/// width, channels first (NCHW) or last (NHWC). A vector is one channel of
/// height 1, and its windows are runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub channels_last: bool,
}

impl Geometry {
    /// The geometry of a per-sample shape: `[C, H, W]` (or `[H, W, C]`
    /// when the last axis has at most 4 entries and the first more), `[H,
    /// W]`, or any other shape as a vector.
    pub fn of(shape: &[usize]) -> Self {
        let size: usize = shape.iter().product();
        match *shape {
            [h, w, c] if c <= 4 && h > 4 => Geometry { channels: c, height: h, width: w, channels_last: true },
            [c, h, w] => Geometry { channels: c, height: h, width: w, channels_last: false },
            [h, w] => Geometry { channels: 1, height: h, width: w, channels_last: false },
            _ => Geometry { channels: 1, height: 1, width: size, channels_last: false },
        }
    }

    fn index(&self, c: usize, h: usize, w: usize) -> usize {
        if self.channels_last {
            (h * self.width + w) * self.channels + c
        } else {
            (c * self.height + h) * self.width + w
        }
    }

    /// The side (height and width) of a window covering a share `p` of the
    /// image: `round(sqrt(p H W))`, at least 1, less than the extent of a
    /// side longer than one (so that the window has room to move).
    fn window(&self, p: f64) -> (usize, usize) {
        if self.height == 1 {
            let w = ((p * self.width as f64).round() as usize).clamp(1, self.width.saturating_sub(1).max(1));
            return (1, w);
        }
        let side = ((p * (self.height * self.width) as f64).sqrt().round() as usize).max(1);
        let side = side.min(self.height.min(self.width).saturating_sub(1).max(1));
        (side, side)
    }
}

/// The share of the image a query changes at query `i`: `p_init` halved
/// after queries 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000, as
/// AutoAttack's standard run does (`resc_schedule=False`: the schedule is
/// not rescaled to the budget).
pub fn share(p_init: f64, i: usize) -> f64 {
    let halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].iter().filter(|&&t| i > t).count();
    p_init / f64::from(1u32 << halvings)
}

/// Runs `queries` queries of the Square attack on the rows not yet
/// achieved (the stripes count as the first). Returns the queries run and
/// why it stopped.
pub fn run(ctx: &mut Ctx, queries: usize) -> Result<(usize, StopReason)> {
    let geometry = Geometry::of(&ctx.engine.model.input_shape());
    let rows = ctx.rows.len();
    let n = ctx.free.ncols();
    let centres: Vec<Vec<f32>> = (0..rows).map(|r| ctx.centre(r)).collect();
    let radius: Vec<f32> = (0..rows).map(|r| ctx.goals[ctx.rows[r].task].feasible.radius()).collect();
    let l2: Vec<bool> = (0..rows)
        .map(|r| ctx.goals[ctx.rows[r].task].feasible.ball.as_ref().is_some_and(|b| b.norm == Norm::L2))
        .collect();
    let mut x = Array2::zeros((rows, n));
    for r in 0..rows {
        let mut v = if l2[r] {
            let free = ctx.free.row(r).to_vec();
            l2::start(&geometry, &centres[r], &free, radius[r], &mut ctx.rngs[r])
        } else {
            stripes(&geometry, &centres[r], radius[r], &mut ctx.rngs[r])
        };
        keep_fixed(ctx, r, &centres[r], &mut v);
        ctx.project_point(r, &mut v);
        x.row_mut(r).assign(&ndarray::ArrayView1::from(&v));
    }
    let mut moving = ctx.moving_rows();
    if moving.is_empty() {
        return Ok((0, StopReason::Achieved));
    }
    let truth = ctx.eval_rows(&x, &moving, 0)?;
    let mut margin = vec![f64::INFINITY; rows];
    for (k, &r) in moving.iter().enumerate() {
        margin[r] = ctx.score(r, truth.y.row(k));
    }
    ctx.progress.begin(ctx.tracker.phase, queries);
    let mut stop = StopReason::Iterations;
    let mut done = 1.min(queries);
    for i in 1..queries {
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            break;
        }
        moving = ctx.moving_rows();
        if moving.is_empty() {
            stop = StopReason::Achieved;
            break;
        }
        let p = share(ctx.settings.square_p_init, i - 1);
        let mut candidate = x.clone();
        for &r in &moving {
            let best = x.row(r).to_vec();
            let mut v = if l2[r] {
                let free = ctx.free.row(r).to_vec();
                l2::query(&geometry, &centres[r], &best, &free, radius[r], p, &mut ctx.rngs[r])
            } else {
                linf_query(&geometry, &centres[r], best, radius[r], p, &mut ctx.rngs[r])
            };
            keep_fixed(ctx, r, &centres[r], &mut v);
            ctx.project_point(r, &mut v);
            candidate.row_mut(r).assign(&ndarray::ArrayView1::from(&v));
        }
        let truth = ctx.eval_rows(&candidate, &moving, i)?;
        for (k, &r) in moving.iter().enumerate() {
            let m = ctx.score(r, truth.y.row(k));
            if m < margin[r] {
                margin[r] = m;
                x.row_mut(r).assign(&candidate.row(r));
            }
        }
        done = i + 1;
        ctx.progress.tick(done, ctx.best_objective());
    }
    if ctx.should_stop() == Some(StopReason::Achieved) {
        stop = StopReason::Achieved;
    }
    ctx.progress.end();
    Ok((done, stop))
}

/// The L-infinity start: every column of every channel shifted by `+-eps`
/// (one random sign per column and channel).
fn stripes(geometry: &Geometry, centre: &[f32], eps: f32, rng: &mut impl Rng) -> Vec<f32> {
    let mut v = centre.to_vec();
    for c in 0..geometry.channels {
        for w in 0..geometry.width {
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            for h in 0..geometry.height {
                v[geometry.index(c, h, w)] += sign * eps;
            }
        }
    }
    v
}

/// One L-infinity query from the row's best point `best`: a random square
/// window of share `p`, every channel of it set to `centre +- eps` (one
/// random sign per channel).
fn linf_query(
    geometry: &Geometry,
    centre: &[f32],
    mut best: Vec<f32>,
    eps: f32,
    p: f64,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let (wh, ww) = geometry.window(p);
    let top = rng.random_range(0..=geometry.height - wh);
    let left = rng.random_range(0..=geometry.width - ww);
    for c in 0..geometry.channels {
        let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
        for h in top..top + wh {
            for w in left..left + ww {
                let i = geometry.index(c, h, w);
                best[i] = centre[i] + sign * eps;
            }
        }
    }
    best
}

/// Elements the goal fixes keep their centre value.
fn keep_fixed(ctx: &Ctx, r: usize, centre: &[f32], v: &mut [f32]) {
    for (i, f) in ctx.free.row(r).iter().enumerate() {
        if *f == 0.0 {
            v[i] = centre[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_halves_on_autoattacks_schedule() {
        assert_eq!(share(0.8, 0), 0.8);
        assert_eq!(share(0.8, 10), 0.8);
        assert_eq!(share(0.8, 11), 0.4);
        assert_eq!(share(0.8, 51), 0.2);
        assert_eq!(share(0.8, 4001), 0.8 / 128.0);
        assert_eq!(share(0.8, 8001), 0.8 / 512.0);
    }

    #[test]
    fn geometries_and_windows() {
        let mnist = Geometry::of(&[1, 28, 28]);
        assert_eq!(mnist, Geometry { channels: 1, height: 28, width: 28, channels_last: false });
        // p 0.8 of 784 pixels: a 25 x 25 window.
        assert_eq!(mnist.window(0.8), (25, 25));
        assert_eq!(mnist.window(1e-6), (1, 1));
        assert_eq!(mnist.window(1.0), (27, 27));
        let nhwc = Geometry::of(&[32, 32, 3]);
        assert!(nhwc.channels_last && nhwc.channels == 3);
        assert_eq!(nhwc.index(2, 0, 1), 5);
        let vector = Geometry::of(&[5]);
        assert_eq!((vector.height, vector.width), (1, 5));
        assert_eq!(vector.window(0.5), (1, 3));
        assert_eq!(vector.window(1.0), (1, 4));
    }
}
