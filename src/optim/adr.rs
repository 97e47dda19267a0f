//! ADR-GD (ALGORITHM.md section 6): each iteration evaluates the step graph
//! (surrogate objective plus `c * C`, gradients to x and eta, the true
//! network at x), then steps x (the gradient clipped to norm 1 by default,
//! or `x_step` unit/sign), the multiplier c, and eta (clipped likewise,
//! perturbed when flat), resyncs the pattern periodically, and tracks the
//! best point by the true network.

use ndarray::{Array1, Array2, ArrayView1, Zip};
use rand_distr::{Distribution, Normal};

use super::engine::StepState;
use super::track::AdrSignals;
use super::{step_direction, AdrStats, Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::Algorithm;
use crate::optim::normalisers::NormaliserCache;
use crate::surrogate::activation::ActivationVars;

/// Bounds of the multiplier c.
pub const C_MIN: f32 = 0.2;
pub const C_MAX: f32 = 10.0;
/// Consistency below which c decays.
const C_SATISFIED: f32 = 1e-2;

pub fn run(ctx: &mut Ctx, mut x: Array2<f32>) -> Result<(usize, StopReason, AdrStats)> {
    let s = ctx.settings;
    let classes = ctx.engine.model.graph.value(ctx.engine.target).size();
    let objective = ctx.goals[0].objective_with(Algorithm::Adr, s.normalised_objective, s.loss, classes);
    let rows = ctx.rows.len();
    let problem = ctx.engine.problem(objective);
    let seeds: Vec<u64> =
        ctx.rows.iter().map(|r| super::row_seed(s.seed ^ 0x6e6f726d, ctx.goals[r.task].stream, r.restart)).collect();
    let mut norms = NormaliserCache::new(problem, ctx.engine.backend(), s.normalisers, &ctx.free, seeds)
        .with_deadline(ctx.deadline);
    if ctx.engine.is_batch_invariant() {
        norms = norms.one_sample_per_call();
    }
    let start_truth = ctx.engine.eval(&x)?;
    let mut eta = ActivationVars::synced(&start_truth.pre);
    let mut c = Array1::from_elem(rows, s.c_init as f32);
    let sites = eta.eta.len();
    let mut last_perturbed = vec![vec![0usize; sites]; rows];
    let noise = (s.noise > 0.0).then(|| Normal::new(0.0f32, s.noise as f32).ok()).flatten();
    let mut stats = AdrStats::default();
    ctx.progress.begin("adr", s.iterations);
    let mut stop = StopReason::Iterations;
    let mut done = 0;
    for it in 0..s.iterations {
        let Some(inv_norm) = norms.inverse_norms(&x, &eta)? else {
            stop = ctx.should_stop().unwrap_or(StopReason::Timeout);
            done = it;
            break;
        };
        let r = ctx.engine.step(
            objective,
            &StepState { x: &x, free: &ctx.free, c: &c, eta: &eta.eta, inv_norm: &inv_norm, params: &ctx.params },
        )?;
        let (loss, cons, cv) = (r.loss.to_vec(), r.consistency.to_vec(), c.to_vec());
        ctx.tracker.observe(
            ctx.goals,
            ctx.rows,
            it,
            &x,
            &r.truth,
            Some(AdrSignals { loss: &loss, consistency: &cons, c: &cv }),
        );
        stats.final_c = f64::from(c[0]);
        stats.final_consistency = f64::from(r.consistency[0]);
        ctx.progress.tick(it + 1, ctx.best_objective());
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            done = it;
            break;
        }
        let before = eta.clone();
        for row in 0..rows {
            if ctx.frozen(row) {
                continue;
            }
            step_x(ctx, &mut x, row, r.grad_x.row(row));
            if s.lr_c > 0.0 {
                let cr = &mut c[row];
                *cr = if r.consistency[row] <= C_SATISFIED {
                    *cr - s.c_decay as f32
                } else {
                    *cr + s.lr_c as f32 * r.consistency[row]
                };
                *cr = cr.clamp(C_MIN, C_MAX);
            }
            for k in 0..sites {
                let mut g = r.grad_eta[k].row(row).to_vec();
                let norm = step_direction(&mut g, s.eta_step);
                if let Some(dist) = &noise {
                    if it + 1 - last_perturbed[row][k] >= s.perturb_every && f64::from(norm) <= s.grad_threshold {
                        g.iter_mut().for_each(|v| *v += dist.sample(&mut ctx.rngs[row]));
                        last_perturbed[row][k] = it + 1;
                    }
                }
                let lr = s.lr_eta as f32;
                Zip::from(eta.eta[k].row_mut(row)).and(&Array1::from(g)).for_each(|e, g| *e -= lr * g);
            }
        }
        eta.clip();
        stats.pattern_changes += eta.pattern_changes(&before);
        if s.resync_every.is_some_and(|p| (it + 1) % p == 0) {
            let t = ctx.engine.eval(&x)?;
            for row in (0..rows).filter(|&r| !ctx.frozen(r)) {
                eta.sync_sample(row, &t.pre);
            }
            stats.resyncs += 1;
        }
        done = it + 1;
    }
    ctx.finish(&x, done, stop)?;
    stats.normalisers = norms.stats.clone();
    Ok((done, stop, stats))
}

/// `x -= lr * step(g)`, then projected into the goal's feasible set.
fn step_x(ctx: &Ctx, x: &mut Array2<f32>, row: usize, g: ArrayView1<f32>) {
    super::step_row(x, row, g, ctx.settings.x_step, ctx.settings.lr as f32);
    ctx.project(x, row);
}
