//! The loop of the methods that descend the TRUE network's gradient (GD,
//! PGD): evaluate the objective and its gradient at the rows still moving,
//! judge them, stop or step each, and judge the final point.

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
    let classes = ctx.engine.model.graph.value(ctx.engine.target).size();
    let objective = ctx.goals[0].objective_with(method, ctx.settings.normalised_objective, ctx.settings.loss, classes);
    ctx.progress.begin(method.name(), steps);
    let mut done = 0;
    let mut stop = StopReason::Iterations;
    let params = ctx.params.clone();
    for it in 0..steps {
        // Only the rows still searching are evaluated (a batch costs what
        // its unfinished rows cost).
        let moving = ctx.moving_rows();
        if moving.is_empty() {
            stop = StopReason::Achieved;
            done = it;
            break;
        }
        let r = ctx.gradient_rows(objective, &params, &x, &moving, it)?;
        ctx.progress.tick(it + 1, ctx.best_objective());
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            done = it;
            break;
        }
        for (k, &row) in moving.iter().enumerate() {
            if ctx.frozen(row) {
                continue;
            }
            super::step_row(&mut x, row, r.grad_x.row(k), rule(ctx, row), size);
            ctx.project(&mut x, row);
        }
        done = it + 1;
    }
    ctx.finish(&x, done, stop)?;
    Ok((done, stop))
}
