//! Vanilla gradient descent on the true network, the paper's baseline:
//! `x = Proj(x - lr * g / ||g||)`.

use ndarray::{Array2, Zip};

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::Algorithm;

pub fn run(ctx: &mut Ctx, mut x: Array2<f32>) -> Result<(usize, StopReason)> {
    let objective = ctx.goals[0].objective(Algorithm::Gd, ctx.settings.normalised_objective);
    let iterations = ctx.settings.iterations;
    let lr = ctx.settings.lr as f32;
    ctx.progress.begin("gd", iterations);
    let mut done = 0;
    let mut stop = StopReason::Iterations;
    for it in 0..iterations {
        let r = ctx.engine.gradient(objective, &x, &ctx.free, &ctx.params)?;
        ctx.tracker.observe(ctx.goals, ctx.rows, it, &x, &r.truth, None);
        ctx.progress.tick(it + 1, ctx.best_objective());
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            done = it;
            break;
        }
        for row in (0..x.nrows()).filter(|&r| !ctx.frozen(r)) {
            let g = r.grad_x.row(row);
            let n = g.iter().map(|v| v * v).sum::<f32>().sqrt();
            if n > 0.0 {
                Zip::from(x.row_mut(row)).and(&g).for_each(|x, g| *x -= lr * g / n);
            }
            ctx.project(&mut x, row);
        }
        done = it + 1;
    }
    if stop != StopReason::Achieved {
        let t = ctx.engine.eval(&x)?;
        ctx.tracker.observe(ctx.goals, ctx.rows, done, &x, &t, None);
    }
    ctx.progress.end();
    Ok((done, stop))
}
