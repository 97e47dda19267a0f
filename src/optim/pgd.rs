//! Projected gradient descent as the attack literature runs it: random
//! starts inside the feasible set, sign steps (L-infinity balls and boxes)
//! or normalised steps (L2 balls) of `pgd_step_size` (default
//! `2.5 * eps / steps`), projection after every step.

use ndarray::{Array2, Zip};

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, Norm};

pub fn run(ctx: &mut Ctx, mut x: Array2<f32>) -> Result<(usize, StopReason)> {
    let objective = ctx.goals[0].objective(Algorithm::Pgd, ctx.settings.normalised_objective);
    let steps = ctx.settings.pgd_steps;
    let size = ctx.settings.pgd_step_size as f32;
    ctx.progress.begin("pgd", steps);
    let mut done = 0;
    let mut stop = StopReason::Iterations;
    for it in 0..steps {
        let r = ctx.engine.gradient(objective, &x, &ctx.free, &ctx.params)?;
        ctx.tracker.observe(ctx.goals, ctx.rows, it, &x, &r.truth, None);
        ctx.progress.tick(it + 1, ctx.best_objective());
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            done = it;
            break;
        }
        for row in (0..x.nrows()).filter(|&r| !ctx.frozen(r)) {
            let l2 = ctx.goals[ctx.rows[row].task].feasible.ball.as_ref().is_some_and(|b| b.norm == Norm::L2);
            let g = r.grad_x.row(row);
            if l2 {
                let n = g.iter().map(|v| v * v).sum::<f32>().sqrt();
                if n > 0.0 {
                    Zip::from(x.row_mut(row)).and(&g).for_each(|x, g| *x -= size * g / n);
                }
            } else {
                Zip::from(x.row_mut(row)).and(&g).for_each(|x, g| {
                    if *g != 0.0 {
                        *x -= size * g.signum();
                    }
                });
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
