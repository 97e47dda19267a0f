//! Vanilla gradient descent on the true network, the paper's baseline:
//! `x = Proj(x - lr * g / ||g||)`.

use ndarray::{Array2, Zip};

use super::{descent, Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::Algorithm;

pub fn run(ctx: &mut Ctx, x: Array2<f32>) -> Result<(usize, StopReason)> {
    let lr = ctx.settings.lr as f32;
    descent::run(ctx, x, Algorithm::Gd, ctx.settings.iterations, |_, x, row, g| {
        let n = super::l2_norm(g.iter());
        if n > 0.0 {
            Zip::from(x.row_mut(row)).and(&g).for_each(|x, g| *x -= lr * g / n);
        }
    })
}
