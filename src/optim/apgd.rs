//! Auto-PGD (Croce & Hein, ICML 2020; ATTACKS.md): projected steps with
//! momentum whose size starts at twice the radius and halves at
//! checkpoints when progress stalls, restarting from the best point. Every
//! row keeps its own step size, momentum, best point and checkpoint state;
//! rows whose goal is achieved leave the batch at once.
//!
//! The loss is minimised here (the paper maximises its negation), so "the
//! loss increased" of the paper reads "the objective decreased".

use ndarray::{Array1, Array2, ArrayD};

use super::{Ctx, StopReason};
use crate::error::Result;
use crate::goal::schema::{Norm, StepRule};
use crate::objective::Objective;

/// Momentum of the update (alpha in the paper).
pub const MOMENTUM: f32 = 0.75;
/// Share of improving steps below which the step size halves (rho).
pub const RHO: f64 = 0.75;

/// One row's step size and checkpoint bookkeeping (the paper's section 3.2).
///
/// Checkpoints: the first after `ceil(0.22 N)` steps, then periods that
/// shrink by `0.03 N` down to `0.06 N` (AutoAttack's integer version:
/// `max(int(0.22 N), 1)`, `max(int(0.03 N), 1)`, `max(int(0.06 N), 1)`).
/// At a checkpoint the step halves when (1) fewer than `rho` of the
/// period's steps improved on the step before, or (2) the step did not
/// halve at the previous checkpoint and the best objective did not improve
/// since.
#[derive(Debug, Clone)]
pub struct StepSchedule {
    pub size: f32,
    period: usize,
    shrink: usize,
    min_period: usize,
    since_check: usize,
    /// The objective of the last `period + 1` evaluations, newest last.
    recent: Vec<f64>,
    best_at_check: f64,
    halved_at_check: bool,
}

impl StepSchedule {
    /// The schedule of `steps` steps from size `size`, whose start point
    /// has objective `start`.
    pub fn new(size: f32, steps: usize, start: f64) -> Self {
        let part = |share: f64| ((share * steps as f64) as usize).max(1);
        StepSchedule {
            size,
            period: part(0.22),
            shrink: part(0.03),
            min_period: part(0.06),
            since_check: 0,
            recent: vec![start],
            best_at_check: start,
            // The paper's condition (2) cannot fire at the first checkpoint.
            halved_at_check: true,
        }
    }

    /// Records the objective of the newest point and the best objective so
    /// far (after this point); returns whether the step size halved (the
    /// row then continues from its best point).
    pub fn record(&mut self, objective: f64, best: f64) -> bool {
        self.recent.push(objective);
        if self.recent.len() > self.period + 1 {
            let drop = self.recent.len() - self.period - 1;
            self.recent.drain(..drop);
        }
        self.since_check += 1;
        if self.since_check < self.period {
            return false;
        }
        let improved = self.recent.windows(2).filter(|w| w[1] < w[0]).count();
        let oscillating = (improved as f64) <= self.period as f64 * RHO;
        let stalled = !self.halved_at_check && best >= self.best_at_check;
        let halve = oscillating || stalled;
        self.halved_at_check = halve;
        self.best_at_check = best;
        if halve {
            self.size /= 2.0;
        }
        self.since_check = 0;
        self.period = self.period.saturating_sub(self.shrink).max(self.min_period);
        halve
    }
}

/// What one APGD run optimises.
pub struct Loss<'p> {
    pub objective: Objective,
    /// The objective's parameters, one slice per row along the first axis.
    pub params: &'p [ArrayD<f32>],
}

/// The step direction rule of a row: sign steps for L-infinity balls and
/// boxes, unit-norm gradients for L2 balls.
fn rule(ctx: &Ctx, row: usize) -> StepRule {
    let l2 = ctx.goals[ctx.rows[row].task].feasible.ball.as_ref().is_some_and(|b| b.norm == Norm::L2);
    if l2 {
        StepRule::Unit
    } else {
        StepRule::Sign
    }
}

/// Per-row state of the run.
struct State {
    x: Array2<f32>,
    previous: Array2<f32>,
    grad: Array2<f32>,
    best_x: Array2<f32>,
    best_grad: Array2<f32>,
    best: Array1<f64>,
    schedules: Vec<StepSchedule>,
}

/// Runs `steps` APGD steps from `x` (one start per row) on the rows not yet
/// achieved. Returns the steps run and why it stopped.
pub fn run(ctx: &mut Ctx, x: Array2<f32>, loss: &Loss, steps: usize) -> Result<(usize, StopReason)> {
    let moving = ctx.moving_rows();
    let rows = x.nrows();
    let mut stop = StopReason::Iterations;
    if moving.is_empty() {
        return Ok((0, StopReason::Achieved));
    }
    let first = ctx.gradient_rows(loss.objective, loss.params, &x, &moving, 0)?;
    let n = ctx.free.ncols();
    let mut st = State {
        previous: x.clone(),
        best_x: x.clone(),
        x,
        grad: Array2::zeros((rows, n)),
        best_grad: Array2::zeros((rows, n)),
        best: Array1::from_elem(rows, f64::INFINITY),
        schedules: Vec::with_capacity(rows),
    };
    for (k, &r) in moving.iter().enumerate() {
        let f = f64::from(first.objective[k]);
        st.grad.row_mut(r).assign(&first.grad_x.row(k));
        st.best_grad.row_mut(r).assign(&first.grad_x.row(k));
        st.best[r] = if f.is_nan() { f64::INFINITY } else { f };
    }
    // Rows that never move keep an unused schedule.
    for r in 0..rows {
        let radius = ctx.goals[ctx.rows[r].task].feasible.radius();
        st.schedules.push(StepSchedule::new(2.0 * radius, steps, st.best[r]));
    }
    ctx.progress.begin(ctx.tracker.phase, steps);
    let mut done = 0;
    for it in 0..steps {
        if let Some(reason) = ctx.should_stop() {
            stop = reason;
            break;
        }
        let moving = ctx.moving_rows();
        if moving.is_empty() {
            stop = StopReason::Achieved;
            break;
        }
        for &r in &moving {
            advance(ctx, &mut st, r, if it == 0 { 1.0 } else { MOMENTUM });
        }
        let g = ctx.gradient_rows(loss.objective, loss.params, &st.x, &moving, it + 1)?;
        for (k, &r) in moving.iter().enumerate() {
            let f = f64::from(g.objective[k]);
            st.grad.row_mut(r).assign(&g.grad_x.row(k));
            if f < st.best[r] {
                st.best[r] = f;
                st.best_x.row_mut(r).assign(&st.x.row(r));
                st.best_grad.row_mut(r).assign(&g.grad_x.row(k));
            }
            let recorded = if f.is_nan() { f64::INFINITY } else { f };
            if st.schedules[r].record(recorded, st.best[r]) {
                let (bx, bg) = (st.best_x.row(r).to_owned(), st.best_grad.row(r).to_owned());
                st.x.row_mut(r).assign(&bx);
                st.grad.row_mut(r).assign(&bg);
            }
        }
        done = it + 1;
        ctx.progress.tick(done, ctx.best_objective());
    }
    if done == steps && ctx.should_stop() == Some(StopReason::Achieved) {
        stop = StopReason::Achieved;
    }
    ctx.progress.end();
    Ok((done, stop))
}

/// One APGD update of row `r`: `z = P(x - eta s(g))`, then
/// `x' = P(x + a (z - x) + (1 - a)(x - x_prev))`.
fn advance(ctx: &Ctx, st: &mut State, r: usize, momentum: f32) {
    let size = st.schedules[r].size;
    let mut direction = st.grad.row(r).to_vec();
    super::step_direction(&mut direction, rule(ctx, r));
    let x: Vec<f32> = st.x.row(r).to_vec();
    let mut z: Vec<f32> = x.iter().zip(&direction).map(|(x, d)| x - size * d).collect();
    ctx.project_point(r, &mut z);
    let mut next: Vec<f32> = x
        .iter()
        .zip(&z)
        .zip(st.previous.row(r))
        .map(|((x, z), p)| x + momentum * (z - x) + (1.0 - momentum) * (x - p))
        .collect();
    ctx.project_point(r, &mut next);
    st.previous.row_mut(r).assign(&st.x.row(r));
    st.x.row_mut(r).assign(&ndarray::ArrayView1::from(&next));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checkpoints at which a schedule of `steps` steps checks, with an
    /// objective that never improves.
    fn checkpoints(steps: usize) -> Vec<usize> {
        let mut s = StepSchedule::new(1.0, steps, 0.0);
        (1..=steps).filter(|_| s.record(0.0, 0.0)).collect()
    }

    #[test]
    fn checkpoints_follow_the_paper() {
        // N = 100: 22, then periods 19, 16, 13, 10, 7, 6, 6...
        assert_eq!(checkpoints(100), vec![22, 41, 57, 70, 80, 87, 93, 99]);
        // Tiny budgets keep periods of at least one step.
        assert_eq!(checkpoints(3), vec![1, 2, 3]);
    }

    #[test]
    fn steady_progress_keeps_the_step() {
        // Improving at every step: neither condition fires.
        let mut s = StepSchedule::new(0.5, 100, 100.0);
        let halvings: Vec<usize> = (1..=100).filter(|&i| s.record(100.0 - i as f64, 100.0 - i as f64)).collect();
        assert!(halvings.is_empty(), "{halvings:?}");
        assert_eq!(s.size, 0.5);
    }

    #[test]
    fn oscillation_halves_at_the_checkpoint() {
        // Improving on 15 of the 22 steps (at most 0.75 * 22 = 16.5): halve.
        let mut s = StepSchedule::new(0.5, 100, 0.0);
        let (mut f, mut best) = (0.0, 0.0f64);
        for i in 1..=22 {
            f += if i % 3 == 0 { 1.0 } else { -1.0 };
            best = best.min(f);
            assert_eq!(s.record(f, best), i == 22, "step {i}");
        }
        assert_eq!(s.size, 0.25);
        // 17 of 22 improving would have kept it.
        let mut s = StepSchedule::new(0.5, 100, 0.0);
        let (mut f, mut best) = (0.0, 0.0f64);
        for i in 1..=22 {
            f += if i % 4 == 0 { 1.0 } else { -1.0 };
            best = best.min(f);
            assert!(!s.record(f, best), "step {i}");
        }
    }

    #[test]
    fn a_stall_after_a_kept_step_halves() {
        // First checkpoint (22): all 22 steps improve, the step stays.
        let mut s = StepSchedule::new(1.0, 100, 0.0);
        for i in 1..=22 {
            assert!(!s.record(-(i as f64), -(i as f64)));
        }
        // Next period (19 steps): the objective improves on every step but
        // stays above the best of the last checkpoint: condition (2).
        for i in 1..=19 {
            let f = 10.0 - i as f64;
            assert_eq!(s.record(f, -22.0), i == 19, "step {i}");
        }
        assert_eq!(s.size, 0.5);
        // After a halving, condition (2) cannot fire at the next checkpoint.
        for i in 1..=16 {
            let f = -100.0 - i as f64;
            assert!(!s.record(f, f), "step {i}");
        }
    }
}
