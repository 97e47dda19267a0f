//! The loop of the methods that descend the TRUE network's gradient (GD,
//! PGD, Adam): evaluate the objective and its gradient at the rows still
//! moving, judge them, stop or step each, and judge the final point.

use ndarray::{Array2, ArrayView1};

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, StepRule};

/// Runs `steps` steps of `method`: every moving row goes `size` along the
/// direction `rule(ctx, row)` makes of its gradient, then is projected.
pub fn run(
    ctx: &mut Ctx,
    x: Array2<f32>,
    method: Algorithm,
    steps: usize,
    size: f32,
    rule: impl Fn(&Ctx, usize) -> StepRule,
) -> Result<(usize, StopReason)> {
    descend(ctx, x, method, steps, |ctx, x, row, _, g| {
        super::step_row(x, row, g, rule(ctx, row), size);
    })
}

/// Runs `steps` steps of `method` on the loss `method` descends: at step
/// `it`, `update(ctx, x, row, it, gradient)` moves each moving row, which is
/// then projected into its feasible set.
pub fn descend(
    ctx: &mut Ctx,
    mut x: Array2<f32>,
    method: Algorithm,
    steps: usize,
    mut update: impl FnMut(&Ctx, &mut Array2<f32>, usize, usize, ArrayView1<f32>),
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
            update(ctx, &mut x, row, it, r.grad_x.row(k));
            ctx.project(&mut x, row);
        }
        done = it + 1;
    }
    ctx.finish(&x, done, stop)?;
    Ok((done, stop))
}
