//! The loop of the methods that descend the TRUE network's gradient (GD,
//! PGD): evaluate the objective and its gradient, judge every row, stop or
//! step every row still moving, and judge the final point.

use ndarray::Array2;

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, StepRule};

/// Runs `steps` steps of `method`: every moving row goes `size` along the
/// direction `rule(ctx, row)` makes of its gradient, then is projected.
pub fn run(
    ctx: &mut Ctx,
    mut x: Array2<f32>,
    method: Algorithm,
    steps: usize,
    size: f32,
    rule: impl Fn(&Ctx, usize) -> StepRule,
) -> Result<(usize, StopReason)> {
    let objective = ctx.goals[0].objective(method, ctx.settings.normalised_objective);
    ctx.progress.begin(method.name(), steps);
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
            super::step_row(&mut x, row, r.grad_x.row(row), rule(ctx, row), size);
            ctx.project(&mut x, row);
        }
        done = it + 1;
    }
    ctx.finish(&x, done, stop)?;
    Ok((done, stop))
}
