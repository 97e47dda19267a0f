//! The goal file's JSON schema as written by users (serde, unknown fields
//! refused). Flexible fields (inputs, bounds) stay JSON values here and are
//! validated against the model in `goal::parse`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    #[default]
    Linf,
    L2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Maximize,
    Minimize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Adr,
    Pgd,
    Gd,
    /// Auto-PGD (Croce & Hein 2020) on the `loss` (default cross-entropy).
    Apgd,
    /// Targeted APGD on the targeted DLR loss, over the `apgd_targets`
    /// most likely wrong classes (classification goals).
    #[serde(rename = "apgd-t")]
    #[value(name = "apgd-t")]
    ApgdT,
    /// The Square attack (Andriushchenko et al. 2020): random square
    /// updates, forward passes only (classification goals).
    Square,
    /// Adam on the true objective with many random restarts, each at its
    /// own step size, decaying: the attack stage of verifiers
    /// (alpha-beta-CROWN); `falsify`'s `auto` runs it first.
    Adam,
    /// The ensemble: for classification goals APGD-CE, APGD-T, Square, then
    /// ADR from the best point (by `preset`); otherwise PGD, then ADR.
    Auto,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Adr => "adr",
            Algorithm::Pgd => "pgd",
            Algorithm::Gd => "gd",
            Algorithm::Apgd => "apgd",
            Algorithm::ApgdT => "apgd-t",
            Algorithm::Square => "square",
            Algorithm::Adam => "adam",
            Algorithm::Auto => "auto",
        }
    }
}

/// The loss the gradient methods (GD, PGD, APGD, ADR) descend on a
/// classification goal; other goals have their own objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Cross-entropy (ADR: of the logits scaled to norm 1, section 5).
    #[default]
    Ce,
    /// Difference of logits ratio: scale-invariant (needs 3 classes; with
    /// fewer, the margin).
    Dlr,
    /// The classification margin (C&W).
    Margin,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::Ce => "ce",
            Loss::Dlr => "dlr",
            Loss::Margin => "margin",
        }
    }
}

/// The budgets of `auto` on classification goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// APGD-CE only.
    Fast,
    /// AutoAttack's sequence and budgets: APGD-CE (100 steps), APGD-T (9
    /// targets, 100 steps each), Square (5000 queries), then ADR.
    #[default]
    Standard,
    /// The standard sequence with APGD-DLR added and 5 restarts (unless
    /// `restarts` is set).
    Strong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NormaliserChoice {
    Exact,
    Random,
}

/// How a gradient becomes a step (`lr` times what it says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepRule {
    /// `g` scaled to norm 1 when longer (ALGORITHM.md section 6).
    Clip,
    /// `g / ||g||` always (as GD).
    Unit,
    /// `sign(g)` (L-infinity steepest descent, as PGD).
    Sign,
}

/// The optional `method` block: every hyper-parameter may be set; command
/// line flags override it, and unset ones take the per-kind defaults.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MethodBlock {
    pub algorithm: Option<Algorithm>,
    pub iterations: Option<usize>,
    pub restarts: Option<usize>,
    pub seed: Option<u64>,
    pub lr: Option<f64>,
    pub lr_eta: Option<f64>,
    pub c_init: Option<f64>,
    pub lr_c: Option<f64>,
    pub c_decay: Option<f64>,
    pub noise: Option<f64>,
    pub grad_threshold: Option<f64>,
    pub perturb_every: Option<usize>,
    /// 0 means never.
    pub resync_every: Option<usize>,
    pub alpha: Option<f64>,
    pub normalisers: Option<NormaliserChoice>,
    pub tangents: Option<usize>,
    pub x_step: Option<StepRule>,
    pub eta_step: Option<StepRule>,
    /// ADR's objectives in the paper's normalised forms (default true).
    pub normalised_objective: Option<bool>,
    /// Start every restart (the first too) at a random point (PGD: true).
    pub random_start: Option<bool>,
    pub pgd_steps: Option<usize>,
    pub pgd_step_size: Option<f64>,
    pub stop_when_achieved: Option<bool>,
    /// The loss of GD, PGD, APGD and ADR on classification goals.
    pub loss: Option<Loss>,
    /// APGD steps per restart (per target for APGD-T).
    pub apgd_steps: Option<usize>,
    /// APGD-T's target classes: the most likely wrong ones.
    pub apgd_targets: Option<usize>,
    /// Square's queries (forward passes) per restart.
    pub square_queries: Option<usize>,
    /// Square's initial share of the input changed per query.
    pub square_p_init: Option<f64>,
    /// `auto`'s budgets on classification goals.
    pub preset: Option<Preset>,
    /// Adam steps per restart.
    pub adam_steps: Option<usize>,
    /// Scale of Adam's portfolio of first step sizes (fractions of the
    /// feasible set's radius).
    pub adam_lr: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetClassSpec {
    /// A PNG path, `{"npy": path, "index": i}`, `{"png": path}`, or numbers
    /// (required in a goal file; an audit's dataset supplies it).
    pub input: Option<Value>,
    pub label: Option<i64>,
    pub target: Option<i64>,
    /// Required in a goal file and an audit template (a missing one is
    /// reported as serde would); optional here so that an audit can set it
    /// per radius (`--epsilons`).
    pub epsilon: Option<f64>,
    #[serde(default)]
    pub norm: Norm,
    /// `[lower, upper]` of valid inputs, or null for none; absent: [0, 1]
    /// when every input value lies in [0, 1], else none.
    #[serde(default, deserialize_with = "present")]
    pub bounds: Option<Value>,
    pub output_name: Option<String>,
    pub method: Option<MethodBlock>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentSpec {
    pub lower: Option<Value>,
    pub upper: Option<Value>,
    /// A number, an array, `"zeros"` or `"random"`.
    pub start: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconstructionSpec {
    pub target: Value,
    #[serde(default)]
    pub latent: LatentSpec,
    pub tolerance: Option<f64>,
    pub output_name: Option<String>,
    pub method: Option<MethodBlock>,
}

/// A box on one model input: bounds (numbers or arrays), a start, or a
/// fixed `value` (lower = upper = value).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxSpec {
    pub lower: Option<Value>,
    pub upper: Option<Value>,
    pub start: Option<Value>,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputBoundSpec {
    /// A flat index into the output, or `{"name": ..., "index": ...}`.
    pub output: Value,
    pub direction: Direction,
    pub bound: Option<f64>,
    /// The box of a single-input model.
    pub input: Option<BoxSpec>,
    /// Boxes per input name, for models with several inputs.
    pub inputs: Option<BTreeMap<String, BoxSpec>>,
    pub method: Option<MethodBlock>,
}

/// A field that is present, even as null, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The kinds, as the `kind` field names them.
pub const KINDS: &[&str] = &["target_class", "reconstruction", "output_bound"];
