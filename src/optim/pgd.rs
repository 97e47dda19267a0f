//! Projected gradient descent as the attack literature runs it: random
//! starts inside the feasible set, sign steps (L-infinity balls and boxes)
//! or normalised steps (L2 balls) of `pgd_step_size` (default
//! `2.5 * eps / steps`), projection after every step.

use ndarray::{Array2, Zip};

use super::{descent, Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, Norm};

pub fn run(ctx: &mut Ctx, x: Array2<f32>) -> Result<(usize, StopReason)> {
    let size = ctx.settings.pgd_step_size as f32;
    descent::run(ctx, x, Algorithm::Pgd, ctx.settings.pgd_steps, |ctx, x, row, g| {
        let l2 = ctx.goals[ctx.rows[row].task].feasible.ball.as_ref().is_some_and(|b| b.norm == Norm::L2);
        if l2 {
            let n = super::l2_norm(g.iter());
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
    })
}
