//! Every hyper-parameter of a run, resolved in order: command-line flags,
//! then the goal's `method` block, then the defaults of the goal's kind
//! (ALGORITHM.md section 8), and validated: a [`Settings`] exists only
//! through [`Settings::resolve`], which checks every range.
//!
//! A hyper-parameter is a field of [`Hyperparameters`] (with its doc line),
//! its line in `resolve` (the default), its rule in `check` (the range),
//! and its optional field in the goal's method block
//! (`goal::schema::MethodBlock`, which the `--set` flag also reads).

use std::ops::Deref;

use serde::Serialize;

use crate::goal::schema::{Algorithm, Loss, MethodBlock, NormaliserChoice, Preset, StepRule};
use crate::goal::{Goal, GoalKind};
use crate::optim::normalisers::{NormaliserMethod, DEFAULT_RANDOM_TANGENTS};

/// Settings that passed validation: obtained only from
/// [`Settings::resolve`], read through [`Deref`], and changed only by the
/// methods below that keep them valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Settings {
    values: Hyperparameters,
}

/// A range that a setting breaks; the message names the setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidSettings {
    /// The setting, as the method block names it.
    pub setting: &'static str,
    message: String,
}

impl InvalidSettings {
    fn new(setting: &'static str, message: String) -> Self {
        InvalidSettings { setting, message }
    }
}

/// The values of every hyper-parameter (the report's `settings`, in this
/// order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hyperparameters {
    pub algorithm: Algorithm,
    /// ADR or GD iterations (ADR's in `auto`).
    pub iterations: usize,
    /// Starts per goal, run as one batch.
    pub restarts: usize,
    pub seed: u64,
    pub lr: f64,
    pub lr_eta: f64,
    pub c_init: f64,
    pub lr_c: f64,
    pub c_decay: f64,
    pub noise: f64,
    pub grad_threshold: f64,
    pub perturb_every: usize,
    /// Pattern resync period; `None` never.
    pub resync_every: Option<usize>,
    pub alpha: f64,
    pub normalisers: NormaliserMethod,
    pub x_step: StepRule,
    pub eta_step: StepRule,
    /// ADR's objective in the paper's normalised form (section 5).
    pub normalised_objective: bool,
    /// ADR and GD start every restart at a random point (PGD always does).
    pub random_start: bool,
    /// PGD steps (alone or as `auto`'s first phase).
    pub pgd_steps: usize,
    pub pgd_step_size: f64,
    pub stop_when_achieved: bool,
    /// The loss of the gradient methods on classification goals.
    pub loss: Loss,
    /// APGD steps per restart (APGD-T: per target).
    pub apgd_steps: usize,
    /// APGD-T's target classes.
    pub apgd_targets: usize,
    /// Square's queries per restart.
    pub square_queries: usize,
    /// Square's initial share of changed input elements.
    pub square_p_init: f64,
    /// `auto`'s budgets on classification goals.
    pub preset: Preset,
    /// Adam steps per restart.
    pub adam_steps: usize,
    /// Scale of Adam's portfolio of first step sizes.
    pub adam_lr: f64,
}

/// AutoAttack's budgets (ATTACKS.md): APGD 100 steps, APGD-T over 9
/// targets, Square 5000 queries with p_init 0.8.
pub const APGD_STEPS: usize = 100;
pub const APGD_TARGETS: usize = 9;
pub const SQUARE_QUERIES: usize = 5000;
pub const SQUARE_P_INIT: f64 = 0.8;
/// The attack stage of verifiers: 100 Adam steps per restart.
pub const ADAM_STEPS: usize = 100;
/// Restarts of the `strong` preset (AutoAttack's "plus").
pub const STRONG_RESTARTS: usize = 5;
/// Iterations of `auto`'s ADR stage in the `standard` preset on
/// classification goals unless `iterations` is given: the budget of its
/// APGD stages. It is the ensemble's costliest stage per iteration, and
/// its one image beyond AutoAttack on the PGD-trained CNN (docs/results.md
/// section 6) falls within it.
pub const STANDARD_ADR_ITERATIONS: usize = 100;

/// The proof-of-concept's settings (ALGORITHM.md section 8) per goal kind:
/// attacks from the PGD-trained MNIST column, output bounds from the random
/// networks (the small-net column up to 256 ReLU neurons, else the large).
fn defaults(kind: GoalKind, relu_neurons: usize) -> MethodBlock {
    let attack = MethodBlock {
        iterations: Some(500),
        lr: Some(1.0),
        lr_eta: Some(0.25),
        c_init: Some(0.5),
        lr_c: Some(1e-4),
        c_decay: Some(1e-3),
        noise: Some(1e-3),
        grad_threshold: Some(1e-5),
        perturb_every: Some(5),
        resync_every: Some(16),
        pgd_steps: Some(1000),
        ..MethodBlock::default()
    };
    match kind {
        GoalKind::TargetClass => attack,
        GoalKind::Reconstruction => {
            MethodBlock { iterations: Some(1000), lr: Some(1.0), pgd_steps: Some(1000), ..attack }
        }
        GoalKind::OutputBound | GoalKind::Property => {
            let small = relu_neurons <= 256;
            MethodBlock {
                iterations: Some(3000),
                lr: Some(0.5),
                lr_eta: Some(if small { 1.0 } else { 1.25 }),
                c_init: Some(1.0),
                lr_c: Some(if small { 1e-2 } else { 1e-4 }),
                c_decay: Some(1e-2),
                noise: Some(if small { 0.1 } else { 0.35 }),
                grad_threshold: Some(if small { 1e-4 } else { 1e-2 }),
                perturb_every: Some(25),
                resync_every: Some(0),
                pgd_steps: Some(3000),
                ..MethodBlock::default()
            }
        }
    }
}

macro_rules! pick {
    ($cli:expr, $goal:expr, $def:expr, $field:ident, $fallback:expr) => {
        $cli.$field.or($goal.$field).or($def.$field).unwrap_or($fallback)
    };
}

impl Deref for Settings {
    type Target = Hyperparameters;

    fn deref(&self) -> &Hyperparameters {
        &self.values
    }
}

impl Settings {
    /// Resolves and validates the settings of a run on `goal` (the first
    /// goal of a batch decides) from its method block, `cli` holding the
    /// command-line overrides, on a network of `relu_neurons` ReLU neurons.
    pub fn resolve(goal: &Goal, cli: &MethodBlock, relu_neurons: usize) -> Result<Settings, InvalidSettings> {
        let values = Hyperparameters::resolve(goal, cli, relu_neurons);
        values.check()?;
        Ok(Settings { values })
    }

    /// The same settings with another seed.
    pub fn with_seed(&self, seed: u64) -> Settings {
        Settings { values: Hyperparameters { seed, ..self.values.clone() } }
    }

    /// The same settings with `restarts` starts per goal (at least one).
    pub fn with_restarts(&self, restarts: usize) -> Settings {
        Settings { values: Hyperparameters { restarts: restarts.max(1), ..self.values.clone() } }
    }

    /// The same settings for another method (its budgets as they are).
    pub fn with_algorithm(&self, algorithm: Algorithm) -> Settings {
        Settings { values: Hyperparameters { algorithm, ..self.values.clone() } }
    }

    /// The settings as they acted: PGD always starts at random, whatever
    /// `random_start` (which ADR and GD read) says.
    pub fn as_acted(&self) -> Settings {
        let random_start = self.random_start || self.algorithm == Algorithm::Pgd;
        Settings { values: Hyperparameters { random_start, ..self.values.clone() } }
    }
}

/// Whether `alpha` can sharpen the gates: positive and finite, also as the
/// 32-bit number the graphs hold.
pub fn check_alpha(alpha: f64) -> Result<(), InvalidSettings> {
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(InvalidSettings::new("alpha", format!("alpha must be a positive number, got {alpha}")));
    }
    // The gate's sharpness is written into f32 graphs.
    if !(alpha as f32).is_finite() {
        return Err(InvalidSettings::new("alpha", format!("alpha must be finite as a 32-bit number, got {alpha:?}")));
    }
    if alpha as f32 == 0.0 {
        return Err(InvalidSettings::new("alpha", format!("alpha must be positive as a 32-bit number, got {alpha:?}")));
    }
    Ok(())
}

impl Hyperparameters {
    fn resolve(goal: &Goal, cli: &MethodBlock, relu_neurons: usize) -> Hyperparameters {
        let g = &goal.method;
        let d = defaults(goal.kind, relu_neurons);
        let free = goal.feasible.free().iter().filter(|f| **f).count();
        // `iterations`, when given, is the steps per restart of the method
        // run alone, whichever it is (its own field wins over it). `auto`'s
        // stages keep their own budgets (the preset's), and `iterations` is
        // its ADR stage's.
        // ADR by default; on a network without ReLU, where it does not
        // apply, `auto` (which then leaves its ADR stage out).
        let default_algorithm = if relu_neurons == 0 { Algorithm::Auto } else { Algorithm::Adr };
        let algorithm = pick!(cli, g, d, algorithm, default_algorithm);
        let given = if algorithm == Algorithm::Auto { None } else { cli.iterations.or(g.iterations) };
        let steps = |own: Option<usize>, default: Option<usize>, fallback: usize| {
            own.or(given).or(default).unwrap_or(fallback).max(1)
        };
        let pgd_steps = steps(cli.pgd_steps.or(g.pgd_steps), d.pgd_steps, 1000);
        let preset = pick!(cli, g, d, preset, Preset::Standard);
        let strong = algorithm == Algorithm::Auto && preset == Preset::Strong;
        let restarts = cli.restarts.or(g.restarts).unwrap_or(if strong { STRONG_RESTARTS } else { 1 }).max(1);
        let normalisers = match cli.normalisers.or(g.normalisers) {
            None => match NormaliserMethod::default_for(free) {
                NormaliserMethod::Random { .. } => {
                    NormaliserMethod::Random { tangents: pick!(cli, g, d, tangents, DEFAULT_RANDOM_TANGENTS).max(1) }
                }
                exact => exact,
            },
            Some(NormaliserChoice::Exact) => NormaliserMethod::Exact,
            Some(NormaliserChoice::Random) => {
                NormaliserMethod::Random { tangents: pick!(cli, g, d, tangents, DEFAULT_RANDOM_TANGENTS).max(1) }
            }
        };
        let radius = f64::from(goal.feasible.radius());
        let standard_ensemble =
            algorithm == Algorithm::Auto && preset == Preset::Standard && goal.kind == GoalKind::TargetClass;
        let iterations = match cli.iterations.or(g.iterations) {
            None if standard_ensemble => STANDARD_ADR_ITERATIONS,
            _ => pick!(cli, g, d, iterations, 500),
        };
        Hyperparameters {
            algorithm,
            iterations,
            restarts,
            seed: pick!(cli, g, d, seed, 0),
            lr: pick!(cli, g, d, lr, 1.0),
            lr_eta: pick!(cli, g, d, lr_eta, 0.25),
            c_init: pick!(cli, g, d, c_init, 0.5),
            lr_c: pick!(cli, g, d, lr_c, 0.0),
            c_decay: pick!(cli, g, d, c_decay, 0.0),
            noise: pick!(cli, g, d, noise, 0.0),
            grad_threshold: pick!(cli, g, d, grad_threshold, 0.0),
            perturb_every: pick!(cli, g, d, perturb_every, 5),
            resync_every: Some(pick!(cli, g, d, resync_every, 0)).filter(|&r| r > 0),
            alpha: pick!(cli, g, d, alpha, crate::surrogate::gate::DEFAULT_ALPHA),
            normalisers,
            x_step: pick!(cli, g, d, x_step, StepRule::Clip),
            eta_step: pick!(cli, g, d, eta_step, StepRule::Clip),
            normalised_objective: pick!(cli, g, d, normalised_objective, true),
            random_start: pick!(cli, g, d, random_start, false),
            pgd_steps,
            pgd_step_size: pick!(cli, g, d, pgd_step_size, 2.5 * radius / pgd_steps as f64),
            // Without a threshold a goal is achieved from its first
            // evaluation: stopping then would stop the search itself.
            stop_when_achieved: goal.has_threshold() && pick!(cli, g, d, stop_when_achieved, true),
            loss: pick!(cli, g, d, loss, Loss::Ce),
            apgd_steps: steps(cli.apgd_steps.or(g.apgd_steps), None, APGD_STEPS),
            apgd_targets: pick!(cli, g, d, apgd_targets, APGD_TARGETS),
            square_queries: steps(cli.square_queries.or(g.square_queries), None, SQUARE_QUERIES),
            square_p_init: pick!(cli, g, d, square_p_init, SQUARE_P_INIT),
            adam_steps: steps(cli.adam_steps.or(g.adam_steps), None, ADAM_STEPS),
            adam_lr: pick!(cli, g, d, adam_lr, 1.0),
            preset,
        }
    }

    /// Checks ranges; the message names the setting.
    fn check(&self) -> Result<(), InvalidSettings> {
        let positive = [
            ("lr", self.lr),
            ("lr_eta", self.lr_eta),
            ("alpha", self.alpha),
            ("pgd_step_size", self.pgd_step_size),
            ("adam_lr", self.adam_lr),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(InvalidSettings::new(name, format!("{name} must be a positive number, got {v}")));
            }
        }
        let non_negative = [
            ("c_init", self.c_init),
            ("lr_c", self.lr_c),
            ("c_decay", self.c_decay),
            ("noise", self.noise),
            ("grad_threshold", self.grad_threshold),
        ];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(InvalidSettings::new(name, format!("{name} must be a non-negative number, got {v}")));
            }
        }
        // The steps and rates scale float32 tensors: one beyond float32's
        // range turns every point into infinities and NaNs.
        let rates = positive.iter().chain(&non_negative[..4]);
        for &(name, v) in rates {
            if !(v as f32).is_finite() {
                return Err(InvalidSettings::new(name, format!("{name} must be finite as a 32-bit number, got {v:?}")));
            }
        }
        check_alpha(self.alpha)?;
        if !(self.square_p_init.is_finite() && self.square_p_init > 0.0 && self.square_p_init <= 1.0) {
            let message = format!("square_p_init must lie in (0, 1], got {}", self.square_p_init);
            return Err(InvalidSettings::new("square_p_init", message));
        }
        if self.apgd_targets == 0 {
            return Err(InvalidSettings::new("apgd_targets", "apgd_targets must be at least 1".into()));
        }
        let (lo, hi) = (f64::from(super::adr::C_MIN), f64::from(super::adr::C_MAX));
        if !(lo..=hi).contains(&self.c_init) {
            let message = format!("c_init must lie in [{lo}, {hi}], where c is kept, got {}", self.c_init);
            return Err(InvalidSettings::new("c_init", message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::ImportedModel;

    fn model() -> ImportedModel {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        crate::onnx::import_proto(std::path::Path::new("mlp.onnx"), &zoo.graph.model).unwrap()
    }

    /// A target_class goal on `model` with `method` as its method block.
    fn goal(model: &ImportedModel, method: &str) -> Goal {
        let text = format!(
            r#"{{"kind": "target_class", "input": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "label": 0, "epsilon": 0.1,
                "method": {method}}}"#
        );
        crate::goal::parse(std::path::Path::new("g.json"), &text, model).unwrap()
    }

    fn resolve(method: &str, cli: &MethodBlock) -> Result<Settings, InvalidSettings> {
        let model = model();
        Settings::resolve(&goal(&model, method), cli, crate::surrogate::total_neurons(&model.graph))
    }

    #[test]
    fn settings_that_break_a_range_cannot_be_made() {
        let cases = [
            (r#"{"alpha": 1e308}"#, "alpha", "alpha must be finite as a 32-bit number, got 1e308"),
            (r#"{"alpha": 1e-50}"#, "alpha", "alpha must be positive as a 32-bit number, got 1e-50"),
            (r#"{"lr": 0}"#, "lr", "lr must be a positive number, got 0"),
            // It made every point NaN, and tract's ReLU made their outputs finite.
            (r#"{"lr_eta": 3.5e38}"#, "lr_eta", "lr_eta must be finite as a 32-bit number, got 3.5e38"),
            (r#"{"c_decay": 1e39}"#, "c_decay", "c_decay must be finite as a 32-bit number, got 1e39"),
            (r#"{"noise": -1}"#, "noise", "noise must be a non-negative number, got -1"),
            (r#"{"square_p_init": 1.5}"#, "square_p_init", "square_p_init must lie in (0, 1], got 1.5"),
            (r#"{"apgd_targets": 0}"#, "apgd_targets", "apgd_targets must be at least 1"),
            (r#"{"c_init": 1e9}"#, "c_init", "c_init must lie in ["),
        ];
        for (method, setting, message) in cases {
            let e = resolve(method, &MethodBlock::default()).unwrap_err();
            assert_eq!(e.setting, setting, "{method}");
            assert!(e.to_string().starts_with(message), "{method}: {e}");
        }
    }

    #[test]
    fn flags_win_over_the_method_block_and_are_checked_too() {
        let cli = MethodBlock { lr: Some(0.25), ..MethodBlock::default() };
        assert_eq!(resolve(r#"{"lr": 0.5}"#, &cli).unwrap().lr, 0.25);
        assert_eq!(resolve(r#"{"lr": 0.5}"#, &MethodBlock::default()).unwrap().lr, 0.5);
        let bad = MethodBlock { alpha: Some(-1.0), ..MethodBlock::default() };
        assert_eq!(resolve(r#"{"alpha": 100}"#, &bad).unwrap_err().setting, "alpha");
    }

    #[test]
    fn derived_settings_stay_valid() {
        let s = resolve("{}", &MethodBlock::default()).unwrap();
        assert_eq!(s.with_restarts(0).restarts, 1);
        assert_eq!(s.with_seed(7).seed, 7);
        assert!(s.with_algorithm(Algorithm::Pgd).as_acted().random_start);
        assert_eq!(s.with_algorithm(Algorithm::Gd).as_acted().random_start, s.random_start);
    }

    #[test]
    fn the_standard_ensemble_gives_adr_the_budget_of_its_apgd_stages_unless_iterations_is_given() {
        let no_flags = MethodBlock::default();
        assert_eq!(resolve(r#"{"algorithm": "auto"}"#, &no_flags).unwrap().iterations, STANDARD_ADR_ITERATIONS);
        assert_eq!(resolve(r#"{"algorithm": "auto", "preset": "strong"}"#, &no_flags).unwrap().iterations, 500);
        assert_eq!(resolve(r#"{"algorithm": "auto", "iterations": 300}"#, &no_flags).unwrap().iterations, 300);
        let flag = MethodBlock { iterations: Some(40), ..MethodBlock::default() };
        assert_eq!(resolve(r#"{"algorithm": "auto"}"#, &flag).unwrap().iterations, 40);
        assert_eq!(resolve("{}", &no_flags).unwrap().iterations, 500, "ADR alone keeps the kind's default");
    }

    #[test]
    fn the_report_holds_the_values_in_their_order() {
        let s = resolve("{}", &MethodBlock::default()).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with(r#"{"algorithm":"adr","iterations":500,"restarts":1,"seed":0,"lr":1.0,"#), "{json}");
        assert!(json.ends_with(r#""adam_steps":100,"adam_lr":1.0}"#), "{json}");
    }
}
