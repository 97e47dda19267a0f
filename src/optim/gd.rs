//! Vanilla gradient descent on the true network, the paper's baseline:
//! `x = Proj(x - lr * g / ||g||)`.

use ndarray::Array2;

use super::{descent, Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Algorithm, StepRule};

pub fn run(ctx: &mut Ctx, x: Array2<f32>) -> Result<(usize, StopReason)> {
    let lr = ctx.settings.lr as f32;
    descent::run(ctx, x, Algorithm::Gd, ctx.settings.iterations, lr, |_, _| StepRule::Unit)
}
