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
    Auto,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Adr => "adr",
            Algorithm::Pgd => "pgd",
            Algorithm::Gd => "gd",
            Algorithm::Auto => "auto",
        }
    }
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetClassSpec {
    /// A PNG path, `{"npy": path, "index": i}`, `{"png": path}`, or numbers.
    pub input: Value,
    pub label: Option<i64>,
    pub target: Option<i64>,
    pub epsilon: f64,
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
