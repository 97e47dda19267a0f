//! Projected gradient descent as the attack literature runs it: random
//! starts inside the feasible set, sign steps (L-infinity balls and boxes)
//! or normalised steps (L2 balls) of `pgd_step_size` (default `2.5 * r /
//! steps`, `r` the ball's radius or half the box's widest extent),
//! projection after every step.

use ndarray::Array2;

use super::{descent, Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, Norm, StepRule};

pub fn run(ctx: &mut Ctx, x: Array2<f32>) -> Result<(usize, StopReason)> {
    let size = ctx.settings.pgd_step_size as f32;
    descent::run(ctx, x, Algorithm::Pgd, ctx.settings.pgd_steps, size, |ctx, row| {
        let l2 = ctx.goals[ctx.rows[row].task].feasible.ball.as_ref().is_some_and(|b| b.norm == Norm::L2);
        if l2 {
            StepRule::Unit
        } else {
            StepRule::Sign
        }
    })
}
