//! Dataset audits: one attack goal template run over every sample of a
//! dataset (or of one shard of it) in batches, reported as robust accuracy
//! with per-sample results, a per-class table and the worst examples.
//! Shards merge into exactly the report of an unsharded run: each sample's
//! search depends only on its own index, and the report holds no timings
//! outside its `provenance` block, which the merge does not compare.

pub mod bisect;
pub mod export;
pub mod page;
pub mod progress;
pub mod provenance;
pub mod resume;
pub mod session;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::base64::Engine as _;
use ndarray::{Array2, ArrayD, Axis};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::front;
use crate::goal::schema::MethodBlock;
use crate::goal::{self, argmax, ClassTemplate, Goal};
use crate::input::sha256_hex;
use crate::ir::ValueId;
use crate::memory::{MemoryLimit, Workload};
use crate::onnx::ImportedModel;
use crate::optim::engine::Engine;
use crate::optim::{optimise, Settings, Silent};
use crate::original::{FileCheck, FileRunner, LoadedOriginal};
use crate::report::{distances, ToolInfo};
use crate::runtime::select::Runtime;
use crate::runtime::Backend;

/// 2: `dataset_sha256` (images, labels and sample count) replaced the
/// `images_sha256` of "<sha>:<label count>"; `skip_reason`; targeted templates.
/// 3: `dataset_samples` and `rows_sha256`, so that a merge detects removed,
/// repeated and relabelled samples; `summary.found_by` (successes per
/// stage); with `--epsilons`, `epsilons`, `curve` and each sample's
/// `min_epsilon`.
/// 4: `kind`; `provenance` (backend, model file, date, duration), the one
/// block two runs of the same audit differ in; with `--epsilons`,
/// `min_epsilon` refined by bisection (see [`bisect`]), each sample's
/// `max_robust_epsilon`, the report's `epsilon_tolerance`, and curve points
/// at the refined radii too.
pub const AUDIT_SCHEMA_VERSION: u32 = crate::document::AUDIT_REPORT.schema_version;

/// Every `n`-th sample starting at `k` (`k` in `0..n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { k: 0, n: 1 };

    /// Parses `K/N`.
    pub fn parse(s: &str) -> std::result::Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("shard '{s}': expected K/N, e.g. 0/4"))?;
        let k: usize = k.trim().parse().map_err(|_| format!("shard '{s}': K is not a number"))?;
        let n: usize = n.trim().parse().map_err(|_| format!("shard '{s}': N is not a number"))?;
        if n == 0 || k >= n {
            return Err(format!("shard '{s}': need 0 <= K < N"));
        }
        Ok(Shard { k, n })
    }

    pub fn contains(&self, index: usize) -> bool {
        index % self.n == self.k
    }
}

/// Why a sample was not attacked.
pub const SKIP_MISCLASSIFIED: &str = "misclassified clean";
/// A targeted audit does not attack the samples of the target class.
pub const SKIP_LABEL_IS_TARGET: &str = "label is the target";

/// One sample's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleResult {
    pub index: usize,
    pub label: usize,
    pub clean_prediction: usize,
    pub clean_correct: bool,
    /// Whether the attack ran (on correctly classified samples whose label
    /// is not the target).
    pub attacked: bool,
    /// Why the attack did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The attack achieved the goal (left the label, or reached the target).
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_prediction: Option<usize>,
    /// Classification margin at the best point (negative: achieved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Cross-entropy of the label at the best point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_entropy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_linf: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_l2: Option<f64>,
    /// The method (phase) that found the best point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
    /// The adversarial input of a successful attack, f32 little-endian, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_f32le: Option<String>,
    /// The sample's target class in a targeted audit (with `"target":
    /// "all"`: the class reached, or the last one tried); none for a sample
    /// misclassified clean, which is not attacked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    /// With `--epsilons`: the smallest radius at which the attack succeeded
    /// (listed, or found by the bisection), whose adversarial the other
    /// fields describe: an upper bound on the sample's minimal perturbation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_epsilon: Option<f64>,
    /// With `--epsilons`: the largest radius at which the attack was tried
    /// and failed (none when it flipped the sample at every radius tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_robust_epsilon: Option<f64>,
}

impl SampleResult {
    /// Whether the sample is evidence of robustness: classified correctly,
    /// attacked, and not flipped. A sample left unattacked because its
    /// label is the target is not: the target's class holds at the clean
    /// input already.
    pub fn robust(&self) -> bool {
        self.clean_correct && self.attacked && !self.success
    }

    /// A sample as classified clean, before (or without) its attack.
    fn unattacked(index: usize, label: usize, clean_prediction: usize, skip_reason: Option<&str>) -> Self {
        SampleResult {
            index,
            label,
            clean_prediction,
            clean_correct: clean_prediction == label,
            attacked: false,
            skip_reason: skip_reason.map(String::from),
            success: false,
            adversarial_prediction: None,
            margin: None,
            cross_entropy: None,
            distance_linf: None,
            distance_l2: None,
            found_by: None,
            adversarial_f32le: None,
            target: None,
            min_epsilon: None,
            max_robust_epsilon: None,
        }
    }
}

/// A stage of the method an audit did not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLeftOut {
    pub stage: String,
    pub reason: String,
}

/// One point of a robustness curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub epsilon: f64,
    /// Samples classified correctly and not flipped within `epsilon`.
    pub robust: usize,
    /// `robust` over all samples.
    pub robust_accuracy: f64,
}

/// The robustness curve at the listed `epsilons` and at every sample's
/// `min_epsilon` and `max_robust_epsilon`, ascending (empty without
/// `epsilons`): an attacked sample counts as robust at an epsilon below its
/// `min_epsilon` (or at every one, never flipped).
pub fn curve(samples: &[SampleResult], epsilons: &[f64]) -> Vec<CurvePoint> {
    if epsilons.is_empty() {
        return Vec::new();
    }
    let mut radii: Vec<f64> = epsilons.to_vec();
    radii.extend(samples.iter().flat_map(|s| [s.min_epsilon, s.max_robust_epsilon]).flatten());
    radii.sort_by(f64::total_cmp);
    radii.dedup();
    let attacked = |s: &&SampleResult| s.clean_correct && s.attacked;
    let mut flips: Vec<f64> = samples.iter().filter(attacked).filter_map(|s| s.min_epsilon).collect();
    flips.sort_by(f64::total_cmp);
    let correct = samples.iter().filter(attacked).count();
    radii
        .into_iter()
        .map(|epsilon| {
            let robust = correct - flips.partition_point(|&m| m <= epsilon);
            let robust_accuracy = if samples.is_empty() { 0.0 } else { robust as f64 / samples.len() as f64 };
            CurvePoint { epsilon, robust, robust_accuracy }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    pub class: usize,
    pub samples: usize,
    pub clean_correct: usize,
    pub robust: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub samples: usize,
    pub clean_correct: usize,
    pub clean_accuracy: f64,
    pub attacked: usize,
    pub successes: usize,
    /// Successes among attacked samples.
    pub attack_success_rate: f64,
    /// Correct, attacked and not flipped, among all samples
    /// ([`SampleResult::robust`]).
    pub robust_accuracy: f64,
    /// One row per class that occurs among the samples, by class.
    pub per_class: Vec<ClassRow>,
    /// Indices of the successful attacks with the most negative margins.
    pub worst: Vec<usize>,
    /// Successes per stage that found them (`apgd-ce`, `apgd-t`, `square`,
    /// `adr`, `pgd`...).
    #[serde(default)]
    pub found_by: BTreeMap<String, usize>,
}

/// The build that wrote a report, as read back ([`ToolInfo`] as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRecord {
    pub name: String,
    pub version: String,
    pub commit: String,
}

impl ToolRecord {
    pub fn current() -> Self {
        let t = ToolInfo::current();
        ToolRecord { name: t.name.into(), version: t.version.into(), commit: t.commit.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    pub schema_version: u32,
    /// `audit_report` (crate::document::AUDIT_REPORT).
    pub kind: String,
    pub tool: ToolRecord,
    pub model_sha256: String,
    /// See [`dataset_sha256`].
    pub dataset_sha256: String,
    /// SHA-256 of the images file (lets `audit-merge --page` check it).
    pub images_sha256: String,
    pub goal: Value,
    pub settings: Value,
    pub shard: Shard,
    /// `--epsilons`: the radii attacked, ascending; empty: the template's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epsilons: Vec<f64>,
    /// With `--epsilons`: where each flipped sample's bisection stopped, as
    /// a fraction of the listed radius that flipped it (see [`bisect`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon_tolerance: Option<f64>,
    /// With `--targets`: [`targets_sha256`] of the classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_sha256: Option<String>,
    /// Stages of the method that did not run on any sample, and why
    /// (`auto`'s `adr` stage on a network without ReLU).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<StageLeftOut>,
    /// The rows of a batch searched at once, where memory (`--max-memory`)
    /// split a batch's goals and restarts into waves: a wave's reached
    /// goals skip their later restarts, so the adversarials found depend on
    /// it. Absent when every batch ran whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave_rows: Option<usize>,
    /// How many samples the audit covers (indices `0..dataset_samples`,
    /// after `--limit`), whichever shard this report holds.
    pub dataset_samples: usize,
    pub samples: Vec<SampleResult>,
    /// See [`rows_sha256`].
    pub rows_sha256: String,
    pub summary: Summary,
    /// The robustness curve over `epsilons` (empty without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curve: Vec<CurvePoint>,
    /// Where and when it ran: the one block in which two runs of the same
    /// audit differ (kept last, see [`provenance`]).
    pub provenance: provenance::Provenance,
}

const WORST: usize = 10;

/// The dataset's identity: SHA-256 of the text
/// `images <sha256 of the images file>\nlabels <sha256 of the labels file>\nsamples <count audited>\n`.
pub fn dataset_sha256(images_sha256: &str, labels_sha256: &str, samples: usize) -> String {
    sha256_hex(format!("images {images_sha256}\nlabels {labels_sha256}\nsamples {samples}\n").as_bytes())
}

/// The digest of a report's rows: SHA-256 of each sample's record as the
/// report writes it (compact JSON), one line each, in the report's order,
/// so that an edited outcome is caught as an edited label is.
pub fn rows_sha256(samples: &[SampleResult]) -> String {
    let mut text = String::new();
    for s in samples {
        // A record of plain fields always serialises.
        text.push_str(&serde_json::to_string(s).unwrap_or_default());
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// The digest of `--targets`' classes (not of the file's name): SHA-256 of
/// the text `<class>\n` per sample of the dataset.
pub fn targets_sha256(targets: &[usize]) -> String {
    sha256_hex(targets.iter().map(|c| format!("{c}\n")).collect::<String>().as_bytes())
}

/// What an audit runs on.
pub struct AuditInput<'a> {
    pub model: &'a ImportedModel,
    pub model_sha256: String,
    pub images: &'a ArrayD<f32>,
    pub images_path: &'a Path,
    pub images_sha256: String,
    pub labels: &'a [usize],
    pub labels_path: &'a Path,
    /// Audit only the first `limit` samples (every label is still checked).
    pub limit: Option<usize>,
    /// See [`dataset_sha256`].
    pub dataset_sha256: String,
    /// The goal template's file (paths in it are relative to its folder).
    pub template_path: &'a Path,
    pub template: Value,
    pub cli: MethodBlock,
    pub backend: &'a dyn Backend,
    /// Goals per batch.
    pub batch: usize,
    pub shard: Shard,
    /// Radii to attack in turn (ascending), each on the samples still
    /// robust; empty: the template's epsilon only.
    pub epsilons: Vec<f64>,
    /// With `epsilons`: the bisection's stopping width, a fraction of each
    /// sample's listed flipping radius in `(0, 1]` (1: no bisection).
    pub epsilon_tolerance: f64,
    /// `--targets`: a target class per sample of the dataset, with the file
    /// they were read from.
    pub targets: Option<(&'a Path, Vec<usize>)>,
    /// The model file as read and the runtime to run it, to check the
    /// network derived from it against (the first [`FILE_CHECK_SAMPLES`]
    /// samples and [`ADVERSARIAL_CHECKS`] adversarials run through both).
    pub file: Option<FileRunner<'a>>,
    /// The memory the audit may use, checked before any batch runs.
    pub memory: MemoryLimit,
    /// The runtime of `backend`, for the memory estimate.
    pub runtime: Runtime,
}

/// How a targeted audit picks each sample's target class.
#[derive(Debug, Clone, PartialEq)]
enum TargetRule {
    Untargeted,
    /// The template's `target`: one class for every sample.
    Fixed(usize),
    /// A class other than the label, drawn per sample from the seed.
    Random,
    /// The class with the lowest clean output.
    LeastLikely,
    /// `--targets`: one class per sample.
    Given,
    /// Every class but the label, one targeted search each, most likely
    /// first, until one is reached (`rounds`).
    All,
}

impl TargetRule {
    /// The rule the template's `target` (or `--targets`) asks for.
    fn of(a: &AuditInput) -> Result<TargetRule> {
        let err =
            |message: String| Error::Goal { file: a.template_path.to_path_buf(), pointer: "/target".into(), message };
        match (a.template.get("target"), &a.targets) {
            (Some(v), Some((path, _))) if !v.is_null() => {
                Err(err(format!("give the target either here or with --targets {}, not both", path.display())))
            }
            (_, Some(_)) => Ok(TargetRule::Given),
            (None | Some(Value::Null), None) => Ok(TargetRule::Untargeted),
            (Some(Value::String(s)), None) => match s.as_str() {
                "random" => Ok(TargetRule::Random),
                "least_likely" => Ok(TargetRule::LeastLikely),
                "all" => Ok(TargetRule::All),
                other => {
                    Err(err(format!("unknown target '{other}' (a class, \"random\", \"least_likely\" or \"all\")")))
                }
            },
            (Some(v), None) => match v.as_u64() {
                Some(c) => Ok(TargetRule::Fixed(c as usize)),
                None => Err(err(format!("expected a class, \"random\", \"least_likely\" or \"all\", found {v}"))),
            },
        }
    }

    /// The targets of sample `index` (label `label`, clean outputs
    /// `clean`), one search each until one is reached: one target (none
    /// when untargeted), or every other class for `All`.
    fn targets(&self, a: &AuditInput, seed: u64, index: usize, label: usize, clean: &[f32]) -> Vec<Option<usize>> {
        match self {
            TargetRule::All => crate::optim::wrong_classes_by_likelihood(clean, label).into_iter().map(Some).collect(),
            _ => vec![self.target(a, seed, index, label, clean)],
        }
    }

    /// The target of sample `index` (label `label`, clean outputs `clean`).
    fn target(&self, a: &AuditInput, seed: u64, index: usize, label: usize, clean: &[f32]) -> Option<usize> {
        use rand::{Rng, SeedableRng};
        match self {
            TargetRule::Untargeted => None,
            TargetRule::Fixed(t) => Some(*t),
            TargetRule::Random => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(crate::optim::row_seed(
                    seed ^ 0x7461_7267_6574,
                    index as u64,
                    0,
                ));
                let others = clean.len().saturating_sub(1).max(1);
                let k = rng.random_range(0..others);
                Some(if k >= label { k + 1 } else { k })
            }
            TargetRule::LeastLikely => (0..clean.len()).min_by(|&x, &y| clean[x].total_cmp(&clean[y]).then(x.cmp(&y))),
            TargetRule::Given => a.targets.as_ref().and_then(|(_, t)| t.get(index).copied()),
            TargetRule::All => None,
        }
    }
}

/// The template's goal on sample `i` with label `label`, at `epsilon`
/// (none: the template's), toward `target` (none: untargeted).
fn goal_for(
    a: &AuditInput,
    template: &ClassTemplate,
    i: usize,
    label: usize,
    epsilon: Option<f64>,
    target: Option<usize>,
) -> Result<Goal> {
    let x0 = a.images.index_axis(Axis(0), i).iter().copied().collect();
    let mut g = template.goal(x0, label, epsilon, target).map_err(|e| blame_the_sample(a, i, e))?;
    g.stream = i as u64;
    Ok(g)
}

/// A goal error caused by sample `i` rather than by the template (the
/// input it supplies, or its values outside the template's bounds) names
/// the images file and the sample.
fn blame_the_sample(a: &AuditInput, i: usize, e: Error) -> Error {
    match e {
        Error::Goal { pointer, message, .. } if pointer.starts_with("/input") => {
            Error::data(a.images_path, format!("sample {i}: {message}"))
        }
        Error::Goal { pointer, message, .. } if pointer == "/bounds" && message.starts_with("input element") => {
            Error::data(a.images_path, format!("sample {i}: {message}, the bounds of {}", a.template_path.display()))
        }
        other => other,
    }
}

/// Checks the template: a target_class goal whose input and label the
/// dataset supplies.
fn check_template(a: &AuditInput) -> Result<()> {
    let err = |pointer: &str, message: &str| Error::Goal {
        file: a.template_path.to_path_buf(),
        pointer: pointer.into(),
        message: message.into(),
    };
    let obj = a.template.as_object().ok_or_else(|| err("/", "the template must be an object"))?;
    if obj.get("kind").and_then(Value::as_str) != Some("target_class") {
        return Err(err("/kind", "an audit template must be a target_class goal"));
    }
    for key in ["input", "label"] {
        if obj.contains_key(key) {
            return Err(err(&format!("/{key}"), "the dataset supplies this: leave it out of the template"));
        }
    }
    Ok(())
}

/// Checks the dataset's shape against the model; returns the sample count.
fn check_dataset(a: &AuditInput) -> Result<usize> {
    let count = a.images.shape().first().copied().unwrap_or(0);
    if a.labels.len() != count {
        return Err(Error::DatasetMismatch {
            images: a.images_path.to_path_buf(),
            image_count: count,
            labels: a.labels_path.to_path_buf(),
            label_count: a.labels.len(),
        });
    }
    if count == 0 {
        return Err(Error::data(a.images_path, "the dataset holds no sample"));
    }
    let per_sample = a.images.len() / count;
    if let Some(at) = a.images.iter().position(|v| !v.is_finite()) {
        return Err(Error::data(
            a.images_path,
            format!(
                "sample {}: value {} is {} (images must be finite)",
                at / per_sample.max(1),
                at % per_sample.max(1),
                a.images.iter().nth(at).copied().unwrap_or(f32::NAN)
            ),
        ));
    }
    if per_sample != a.model.graph.input_size() {
        return Err(Error::data(
            a.images_path,
            format!(
                "the images hold {per_sample} values per sample (shape {:?}); the model's input has {}",
                a.images.shape(),
                a.model.graph.input_size()
            ),
        ));
    }
    let input = a.model.input_shape();
    let sample = a.images.shape().get(1..).unwrap_or_default();
    if !goal::data::same_layout(sample, &input) {
        return Err(Error::data(
            a.images_path,
            format!(
                "the samples have shape {sample:?} and the model's input {input:?}, another layout: their values \
                 may be in another order (store the images in the model's layout, or flat)"
            ),
        ));
    }
    Ok(count)
}

/// The template the goals are built from. One without `bounds` stands for
/// [0, 1] where a goal's input lies in it and for no box elsewhere
/// (docs/goals.md); an audit takes one box for all its samples: [0, 1]
/// when every audited value lies in it, else none (`"bounds": null`),
/// rather than a box for some samples and none for others. Whole numbers
/// up to 255 beyond 1 are refused: 8-bit pixels, searched without a box at
/// a radius meant for [0, 1], reported a model fully robust.
fn with_audit_bounds(a: &AuditInput, count: usize) -> Result<Value> {
    let mut template = a.template.clone();
    let Some(fields) = template.as_object_mut().filter(|t| !t.contains_key("bounds")) else {
        return Ok(template);
    };
    let input = a.model.input_shape();
    let sample = a.images.shape().get(1..).unwrap_or_default();
    let images = goal::data::ImageShape::of(&input).is_some() || goal::data::ImageShape::of(sample).is_some();
    match goal::data::implicit_bounds(a.images.outer_iter().take(count).flat_map(|s| s.into_iter().copied()), images) {
        goal::data::ImplicitBounds::Unit => {}
        goal::data::ImplicitBounds::Unbounded => {
            fields.insert("bounds".into(), Value::Null);
        }
        goal::data::ImplicitBounds::Pixels(largest) => {
            return Err(Error::Goal {
                file: a.template_path.to_path_buf(),
                pointer: "/bounds".into(),
                message: format!(
                    "absent, and the images of {} are whole numbers up to {largest}, as 8-bit pixels are: give the \
                     valid input range (`[0, 255]`, with an epsilon in those units), scale the images to [0, 1], \
                     or give null to search without a box",
                    a.images_path.display()
                ),
            })
        }
    }
    Ok(template)
}

pub fn run(a: &AuditInput, session: &mut session::Session) -> Result<AuditReport> {
    check_template(a)?;
    let whole = check_dataset(a)?;
    let count = a.limit.map_or(whole, |limit| limit.min(whole));
    let goal_template = with_audit_bounds(a, count)?;
    let indices: Vec<usize> = (0..count).filter(|&i| a.shard.contains(i)).collect();
    let Some(&first) = indices.first() else {
        return Err(Error::EmptyShard { k: a.shard.k, n: a.shard.n, samples: count });
    };
    // The probe resolves the settings and the class count. Its label is any
    // class but its target, so that it does not depend on the shard.
    let rule = TargetRule::of(a)?;
    let probe_target = match rule {
        TargetRule::Untargeted => None,
        TargetRule::Fixed(t) => Some(t),
        _ => Some(1),
    };
    let probe_label = usize::from(probe_target == Some(0));
    let template = ClassTemplate::new(a.template_path, &goal_template, a.model)?;
    let probe = goal_for(a, &template, first, probe_label, None, probe_target)?;
    let classes = a.model.graph.value(probe.target).size();
    if let Some((path, targets)) = &a.targets {
        if targets.len() != a.labels.len() {
            return Err(Error::data(
                path,
                format!("{} targets for the {} samples of {}", targets.len(), a.labels.len(), a.labels_path.display()),
            ));
        }
        if let Some((i, t)) = targets.iter().enumerate().find(|(_, &t)| t >= classes) {
            return Err(Error::data(
                path,
                format!("sample {i}: target {t} is not a class of the model (0..{})", classes.saturating_sub(1)),
            ));
        }
    }
    if let Some((i, l)) = a.labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(Error::data(
            a.labels_path,
            format!("sample {i}: label {l} is not a class of the model (0..{})", classes.saturating_sub(1)),
        ));
    }
    let settings_of = |goal: &Goal| {
        front::settings(a.model, goal, &a.cli)
            .map_err(|e| Error::Settings { file: a.template_path.to_path_buf(), message: e.to_string() })
    };
    let settings = settings_of(&probe)?;
    if settings.algorithm == crate::goal::schema::Algorithm::Adr {
        a.model.require_relu()?;
    }
    let batch = a.batch.max(1);
    // Every radius batches the same rows; the first one's settings size them.
    // A batch holds no more goals than there are samples (none is padded).
    let batch_flag = (batch.min(indices.len().max(1)), Some("--batch"));
    let workload = Workload::of(&a.model.graph, a.runtime, &settings, std::slice::from_ref(&probe), batch_flag);
    // A batch's rows beyond what memory holds at once stream through waves.
    let wave = a.memory.rows_that_fit("audit", &workload)?;

    // Clean outputs, in batches (each row in a call of its own, as in the
    // attack: see `Engine::batch_invariant`).
    let mut clean: Vec<Vec<f32>> = Vec::with_capacity(indices.len());
    let mut eval = front::engine(a.model, a.backend, &probe, &settings, batch).batch_invariant();
    for chunk in indices.chunks(batch.min(wave)) {
        let x = dataset_rows(a.images, chunk);
        let t = eval.eval(&x)?;
        clean.extend((0..chunk.len()).map(|r| t.y.row(r).to_vec()));
    }

    // A NaN or infinite clean output has no class (argmax would skip a
    // NaN) and no finite margin for the report to hold.
    if let Some((i, y)) = indices.iter().zip(&clean).find(|(_, y)| y.iter().any(|v| !v.is_finite())) {
        return Err(Error::data(
            a.images_path,
            format!(
                "sample {i}: the model's output there is not finite ({}): it has no class to audit",
                clip_values(y)
            ),
        ));
    }
    let file_check = match a.file {
        Some(file) => Some(check_file(a, file, probe.target, &indices, &clean)?),
        None => None,
    };

    // Each sample's targets, one search each until one is reached.
    let mut targets: Vec<Vec<Option<usize>>> = Vec::with_capacity(indices.len());
    let mut samples: Vec<SampleResult> = indices
        .iter()
        .zip(&clean)
        .map(|(&i, y)| {
            let label = a.labels[i];
            let p = argmax(y);
            targets.push(rule.targets(a, settings.seed, i, label, y));
            let target = targets.last().and_then(|t| t.first().copied()).flatten();
            let skip_reason = if p != label {
                Some(SKIP_MISCLASSIFIED)
            } else if target == Some(label) {
                Some(SKIP_LABEL_IS_TARGET)
            } else {
                None
            };
            // A sample not attacked for its clean error tried no target.
            let target = target.filter(|_| skip_reason != Some(SKIP_MISCLASSIFIED));
            SampleResult { target, ..SampleResult::unattacked(i, label, p, skip_reason) }
        })
        .collect();
    let rounds = targets.iter().map(Vec::len).max().unwrap_or(1);
    let settings_value = serde_json::to_value(&settings).map_err(|e| Error::internal(e.to_string()))?;
    // A batch's rows split into waves search otherwise than one batch does
    // (a goal reached in a wave skips its later restarts): part of what the
    // audit computes, as the settings are.
    let rows_per_batch = batch_flag.0.saturating_mul(settings.restarts.max(1));
    let wave_rows = (wave < rows_per_batch).then_some(wave);
    let relu = !crate::surrogate::relu_sites(&a.model.graph).is_empty();
    let (_, left_out) = crate::optim::Stage::plan_for(&settings, std::slice::from_ref(&probe), relu);
    let left_out =
        left_out.into_iter().map(|l| StageLeftOut { stage: l.stage.into(), reason: l.reason.into() }).collect();
    let identity = identity(a, &settings_value, count, wave_rows, &session.origin);
    let mut running = session.start(&identity, samples.len())?;
    running.report(&samples);
    let mut pending: Vec<usize> = (0..samples.len()).filter(|&s| samples[s].skip_reason.is_none()).collect();
    let radii: Vec<Option<f64>> =
        if a.epsilons.is_empty() { vec![None] } else { a.epsilons.iter().map(|&e| Some(e)).collect() };
    let last_radius = radii.len() - 1;
    let mut engine = front::engine(a.model, a.backend, &probe, &settings, batch * settings.restarts)
        .batch_invariant()
        .with_max_rows(wave);
    // The settings of a radius (default step sizes follow it).
    let settings_at = |epsilon: f64| -> Result<Settings> {
        settings_of(&goal_for(a, &template, first, probe_label, Some(epsilon), probe_target)?)
    };
    for (r, epsilon) in radii.into_iter().enumerate() {
        let at = match epsilon {
            None => settings.clone(),
            Some(e) => settings_at(e)?,
        };
        // A sample settles at a radius once every target it has (one, or
        // with `"target": "all"` each wrong class in turn until one is
        // reached) was searched; the partial file records that result.
        for chunk in pending.chunks(batch) {
            running.settle(&mut samples, chunk, epsilon, r == last_radius, |samples, todo| {
                let mut searching = todo.to_vec();
                for round in 0..rounds {
                    searching.retain(|&s| round < targets[s].len());
                    for &s in &searching {
                        samples[s].target = targets[s][round];
                    }
                    if !searching.is_empty() {
                        attack_batch(a, &template, &mut engine, &at, samples, &searching, epsilon)?;
                    }
                    searching.retain(|&s| !samples[s].success);
                }
                Ok(stage_seconds(&engine))
            })?;
        }
        pending.retain(|&s| !samples[s].success);
    }
    if !a.epsilons.is_empty() {
        bisect::refine(a, &template, &mut engine, &settings_at, &mut samples, batch)?;
    }
    let file_check = match (file_check, a.file) {
        (Some(clean), Some(file)) if clean.unavailable.is_none() => {
            Some(check_adversarials(a, file, probe.target, &mut eval, &samples, clean)?)
        }
        (check, _) => check,
    };
    let summary = summarise(&samples);
    let curve = curve(&samples, &a.epsilons);
    Ok(AuditReport {
        schema_version: AUDIT_SCHEMA_VERSION,
        kind: crate::document::AUDIT_REPORT.kind.into(),
        tool: ToolRecord::current(),
        model_sha256: a.model_sha256.clone(),
        dataset_sha256: a.dataset_sha256.clone(),
        images_sha256: a.images_sha256.clone(),
        // The template, with `"bounds": null` where the audit took no box.
        goal: goal_template.clone(),
        settings: settings_value,
        shard: a.shard,
        epsilons: a.epsilons.clone(),
        epsilon_tolerance: (!a.epsilons.is_empty()).then_some(a.epsilon_tolerance),
        targets_sha256: a.targets.as_ref().map(|(_, t)| targets_sha256(t)),
        left_out,
        wave_rows,
        dataset_samples: count,
        rows_sha256: rows_sha256(&samples),
        samples,
        summary,
        curve,
        provenance: provenance::Provenance { file_check, ..running.provenance(&stage_seconds(&engine)) },
    })
}

/// The first values of `y`, for a message.
fn clip_values(y: &[f32]) -> String {
    let shown: Vec<String> = y.iter().take(4).map(|v| v.to_string()).collect();
    format!("[{}{}]", shown.join(", "), if y.len() > 4 { ", ..." } else { "" })
}

/// Samples of an audit that [`check_file`] runs through the model file.
pub const FILE_CHECK_SAMPLES: usize = 8;

/// The derived network's clean outputs `clean` (of the samples `indices`)
/// against the model file's own, on the first [`FILE_CHECK_SAMPLES`]
/// samples: an error before any attack when they disagree.
fn check_file(
    a: &AuditInput,
    file: FileRunner,
    target: ValueId,
    indices: &[usize],
    clean: &[Vec<f32>],
) -> Result<FileCheck> {
    let rows = indices.len().min(clean.len()).min(FILE_CHECK_SAMPLES);
    let width = clean.first().map_or(0, Vec::len);
    let derived = Array2::from_shape_fn((rows, width), |(r, c)| clean[r][c]);
    let x = dataset_rows(a.images, &indices[..rows]);
    file.check(a.model, &a.model.graph.value(target).name, x.view(), derived.view())
}

/// Adversarials an audit (a shard) runs through the model file: the
/// first ones, in sample order. Each is one call of the file alone, which
/// for a large model on one CPU thread can cost more than its attack did.
pub const ADVERSARIAL_CHECKS: usize = 64;

/// The first [`ADVERSARIAL_CHECKS`] adversarials of `samples` (successes)
/// through the derived network (`eval`) and the file itself, after
/// `clean`, the check of the clean samples: a derivation wrong only away from the data (a ReLU
/// pattern no clean sample reaches, a clamp's far bound) shows where the
/// attacks went, and an adversarial on which the two disagree may not be
/// one of the file's. A disagreement ends the audit as on a clean sample,
/// naming the sample.
fn check_adversarials(
    a: &AuditInput,
    file: FileRunner,
    target: ValueId,
    eval: &mut Engine,
    samples: &[SampleResult],
    clean: FileCheck,
) -> Result<FileCheck> {
    let name = &a.model.graph.value(target).name;
    let loaded = LoadedOriginal::new(file.backend, file.original, a.model).for_output(name);
    let n = a.model.graph.input_size();
    let mut check = clean;
    let adversarials = samples.iter().filter_map(|s| {
        let x = s.adversarial_f32le.as_deref().and_then(decode_base64_f32).filter(|x| x.len() == n)?;
        Some((s, x))
    });
    for (s, x) in adversarials.take(ADVERSARIAL_CHECKS) {
        let x = Array2::from_shape_vec((1, n), x).map_err(|e| Error::internal(e.to_string()))?;
        let derived = eval.eval(&x)?.y;
        let at = |e: Error| match e {
            Error::Model { path, message } => {
                Error::Model { path, message: format!("at the adversarial of sample {}: {message}", s.index) }
            }
            other => other,
        };
        let one = loaded.check_derived(file.runtime, x.view(), derived.view()).map_err(at)?;
        if let Some(why) = one.unavailable {
            check.unavailable = Some(format!("at the adversarial of sample {}: {why}", s.index));
            return Ok(check);
        }
        check.add_rows(&one);
    }
    Ok(check)
}

/// The seconds `engine` spent per attack stage, by stage name.
fn stage_seconds(engine: &Engine) -> BTreeMap<String, f64> {
    engine.stage_seconds.iter().map(|(&stage, &s)| (stage.to_string(), s)).collect()
}

/// What an audit computes, for its partial file: a resume must compute the
/// same on the same backend.
fn identity(
    a: &AuditInput,
    settings: &Value,
    count: usize,
    wave_rows: Option<usize>,
    origin: &provenance::Origin,
) -> Value {
    serde_json::json!({
        "tool": ToolRecord::current(),
        "model_sha256": a.model_sha256,
        "dataset_sha256": a.dataset_sha256,
        "images_sha256": a.images_sha256,
        "goal": a.template,
        "settings": settings,
        "shard": a.shard,
        "epsilons": a.epsilons,
        "dataset_samples": count,
        "backend": [&origin.backend, &origin.backend_version, &origin.device],
        "targets_sha256": a.targets.as_ref().map(|(_, t)| targets_sha256(t)),
        "wave_rows": wave_rows,
    })
}

/// Attacks the samples `chunk` (indices into `samples`) as one batch at
/// `epsilon` and records their results.
fn attack_batch(
    a: &AuditInput,
    template: &ClassTemplate,
    engine: &mut Engine,
    settings: &Settings,
    samples: &mut [SampleResult],
    chunk: &[usize],
    epsilon: Option<f64>,
) -> Result<()> {
    let goals: Vec<Goal> = chunk
        .iter()
        .map(|&s| goal_for(a, template, samples[s].index, samples[s].label, epsilon, samples[s].target))
        .collect::<Result<_>>()?;
    attack_goals(engine, settings, &goals, samples, chunk, epsilon)
}

/// Attacks `goals` (those of the samples `chunk`, indices into `samples`)
/// as one batch at `epsilon` and records their results.
fn attack_goals(
    engine: &mut Engine,
    settings: &Settings,
    goals: &[Goal],
    samples: &mut [SampleResult],
    chunk: &[usize],
    epsilon: Option<f64>,
) -> Result<()> {
    let outcome = optimise(engine, goals, settings, &mut Silent, None)?;
    for (k, &s) in chunk.iter().enumerate() {
        let best = &outcome.best[k];
        // The clean image: the ball's centre (a warm start lies off it).
        let x0 = match (&goals[k].feasible.ball, &goals[k].start) {
            (Some(ball), _) => ball.center.clone(),
            (None, goal::Start::Given(x)) => x.clone(),
            (None, goal::Start::Random) => best.x.clone(),
        };
        let (linf, l2) = distances(&best.x, &x0);
        let r = &mut samples[s];
        r.attacked = true;
        r.success = best.assessment.achieved;
        r.adversarial_prediction = Some(argmax(&best.output));
        r.margin = Some(best.assessment.score);
        r.cross_entropy = Some(best.assessment.objective);
        r.distance_linf = Some(linf);
        r.distance_l2 = Some(l2);
        r.found_by = Some(best.phase.to_string());
        r.adversarial_f32le = r.success.then(|| base64_f32(&best.x));
        r.min_epsilon = if r.success { epsilon } else { None };
    }
    Ok(())
}

/// Rows `chunk` of the dataset, flattened.
fn dataset_rows(images: &ArrayD<f32>, chunk: &[usize]) -> Array2<f32> {
    let n = images.len() / images.shape()[0].max(1);
    let mut x = Array2::zeros((chunk.len(), n));
    for (r, &i) in chunk.iter().enumerate() {
        x.row_mut(r).assign(&ndarray::Array1::from_iter(images.index_axis(Axis(0), i).iter().copied()));
    }
    x
}

pub fn summarise(samples: &[SampleResult]) -> Summary {
    let total = samples.len();
    let clean_correct = samples.iter().filter(|s| s.clean_correct).count();
    let attacked = samples.iter().filter(|s| s.attacked).count();
    let successes = samples.iter().filter(|s| s.success).count();
    let robust = samples.iter().filter(|s| s.robust()).count();
    let mut rows: BTreeMap<usize, ClassRow> = BTreeMap::new();
    for s in samples {
        let row = rows.entry(s.label).or_insert(ClassRow { class: s.label, samples: 0, clean_correct: 0, robust: 0 });
        row.samples += 1;
        row.clean_correct += usize::from(s.clean_correct);
        row.robust += usize::from(s.robust());
    }
    let mut worst: Vec<&SampleResult> = samples.iter().filter(|s| s.success).collect();
    worst.sort_by(|a, b| {
        a.margin.partial_cmp(&b.margin).unwrap_or(std::cmp::Ordering::Equal).then(a.index.cmp(&b.index))
    });
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut found_by: BTreeMap<String, usize> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.success) {
        *found_by.entry(s.found_by.clone().unwrap_or_default()).or_default() += 1;
    }
    Summary {
        samples: total,
        clean_correct,
        clean_accuracy: ratio(clean_correct, total),
        attacked,
        successes,
        attack_success_rate: ratio(successes, attacked),
        robust_accuracy: ratio(robust, total),
        per_class: rows.into_values().collect(),
        worst: worst.iter().take(WORST).map(|s| s.index).collect(),
        found_by,
    }
}

/// Merges shard reports, each with the file it was read from, into the
/// report of the whole dataset. Every report must come from this build and
/// hold exactly its shard's samples, untouched (see [`check_rows`]).
pub fn merge(reports: Vec<(PathBuf, AuditReport)>) -> Result<AuditReport> {
    let Some((first_path, first)) = reports.first() else {
        return Err(Error::NothingToMerge);
    };
    let now = ToolRecord::current();
    let n = first.shard.n;
    let mut given: BTreeMap<usize, &Path> = BTreeMap::new();
    for (path, r) in &reports {
        let fail = |message: String| Err(Error::data(path, message));
        if r.kind != crate::document::AUDIT_REPORT.kind {
            return fail(format!("a document of kind `{}`, not an audit report", r.kind));
        }
        if r.schema_version != AUDIT_SCHEMA_VERSION {
            return fail(format!(
                "audit schema version {}; this adr-onnx merges version {AUDIT_SCHEMA_VERSION}",
                r.schema_version
            ));
        }
        if r.tool.version != now.version || r.tool.commit != now.commit {
            return fail(format!(
                "written by adr-onnx {} ({}), this is {} ({}): merge reports of the same build",
                r.tool.version, r.tool.commit, now.version, now.commit
            ));
        }
        if r.shard.n == 0 || r.shard.k >= r.shard.n {
            return fail(format!("shard {}/{} is invalid", r.shard.k, r.shard.n));
        }
        if r.shard.n != n {
            return fail(format!("a shard of {} parts, {} one of {n}", r.shard.n, first_path.display()));
        }
        if r.model_sha256 != first.model_sha256
            || r.dataset_sha256 != first.dataset_sha256
            || r.images_sha256 != first.images_sha256
            || r.dataset_samples != first.dataset_samples
        {
            return fail(format!("audits a different model or dataset than {}", first_path.display()));
        }
        if r.goal != first.goal
            || r.settings != first.settings
            || r.epsilons != first.epsilons
            || r.epsilon_tolerance != first.epsilon_tolerance
        {
            return fail(format!("ran a different goal or settings than {}", first_path.display()));
        }
        if r.targets_sha256 != first.targets_sha256 {
            return fail(format!("attacked other target classes (--targets) than {}", first_path.display()));
        }
        if r.wave_rows != first.wave_rows {
            let waves =
                |w: Option<usize>| w.map_or_else(|| "whole batches".to_string(), |w| format!("waves of {w} rows"));
            return fail(format!(
                "ran in {} where {} ran in {} (memory splits batches into waves, which changes the search: give \
                 every shard the same --max-memory)",
                waves(r.wave_rows),
                first_path.display(),
                waves(first.wave_rows)
            ));
        }
        check_rows(path, r)?;
        if let Some(other) = given.insert(r.shard.k, path) {
            return fail(format!("shard {}/{n} given twice (also {})", r.shard.k, other.display()));
        }
    }
    // `given` holds distinct shards in 0..n, so a missing one lies in 0..=len.
    if given.len() != n {
        let k = (0..n).find(|k| !given.contains_key(k)).unwrap_or(0);
        return Err(Error::MissingShard { k, n, given: given.len() });
    }
    let mut first = first.clone();
    let mut by_shard: Vec<&AuditReport> = reports.iter().map(|(_, r)| r).collect();
    by_shard.sort_by_key(|r| r.shard.k);
    let shards = by_shard.iter().map(|r| r.provenance.clone()).collect();
    first.provenance = provenance::Provenance::merged(shards).unwrap_or(first.provenance);
    let mut samples: Vec<SampleResult> = reports.into_iter().flat_map(|(_, r)| r.samples).collect();
    samples.sort_by_key(|s| s.index);
    let summary = summarise(&samples);
    let curve = curve(&samples, &first.epsilons);
    Ok(AuditReport { shard: Shard::WHOLE, rows_sha256: rows_sha256(&samples), samples, summary, curve, ..first })
}

/// Checks that report `r` (read from `path`) holds each sample of its shard
/// among `0..dataset_samples` exactly once, and nothing else, and that its
/// rows match `rows_sha256`: a removed, repeated, foreign, relabelled or
/// otherwise edited sample is refused, naming the file (and the sample).
pub fn check_rows(path: &Path, r: &AuditReport) -> Result<()> {
    let fail = |message: String| Err(Error::data(path, message));
    let (k, n, count) = (r.shard.k, r.shard.n, r.dataset_samples);
    let mut seen = std::collections::BTreeSet::new();
    for s in &r.samples {
        if s.index >= count {
            return fail(format!("sample {}: outside the {count} audited samples", s.index));
        }
        if !r.shard.contains(s.index) {
            return fail(format!("sample {} is not in shard {k}/{n}", s.index));
        }
        if !seen.insert(s.index) {
            return fail(format!("sample {} appears twice", s.index));
        }
    }
    // The shard's samples are k, k + n, ... below `count`.
    let expected = if k < count { (count - k - 1) / n + 1 } else { 0 };
    if seen.len() != expected {
        let missing = (k..count).step_by(n.max(1)).find(|i| !seen.contains(i)).unwrap_or(k);
        return fail(format!(
            "sample {missing} is missing (shard {k}/{n} holds {} of its {expected} samples)",
            seen.len()
        ));
    }
    if rows_sha256(&r.samples) != r.rows_sha256 {
        return fail("its rows do not match its rows_sha256: the samples were edited".into());
    }
    Ok(())
}

/// Checks the labels of report `r` (read from `path`) against the dataset's
/// labels (read from `labels_path`).
pub fn check_labels(path: &Path, r: &AuditReport, labels_path: &Path, labels: &[usize]) -> Result<()> {
    for s in &r.samples {
        match labels.get(s.index) {
            Some(&l) if l == s.label => {}
            Some(&l) => {
                return Err(Error::data(
                    path,
                    format!("sample {}: label {}, but {} gives {l}", s.index, s.label, labels_path.display()),
                ))
            }
            None => {
                return Err(Error::data(
                    path,
                    format!("sample {}: {} holds only {} labels", s.index, labels_path.display(), labels.len()),
                ))
            }
        }
    }
    Ok(())
}

/// Standard base64 of the values' little-endian bytes.
pub fn base64_f32(v: &[f32]) -> String {
    base64(&v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>())
}

/// Standard base64 (RFC 4648, padded).
pub fn base64(bytes: &[u8]) -> String {
    ::base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Inverse of [`base64_f32`]; `None` for invalid base64 or a length that is
/// not a whole number of floats.
pub fn decode_base64_f32(s: &str) -> Option<Vec<f32>> {
    let bytes = ::base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let floats = bytes.chunks_exact(4);
    floats.remainder().is_empty().then(|| floats.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_indices() {
        let s = Shard::parse("1/3").unwrap();
        assert_eq!((0..9).filter(|&i| s.contains(i)).collect::<Vec<_>>(), vec![1, 4, 7]);
        assert!(Shard::parse("3/3").is_err() && Shard::parse("x").is_err() && Shard::parse("0/0").is_err());
    }

    #[test]
    fn base64_round_trips() {
        for v in [vec![], vec![1.5f32], vec![0.0, -2.25, 3.0e-8], vec![1.0; 7]] {
            assert_eq!(decode_base64_f32(&base64_f32(&v)).unwrap(), v);
        }
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        // Not base64, and not a whole number of floats.
        assert_eq!(decode_base64_f32("@@@@"), None);
        assert_eq!(decode_base64_f32(&base64(b"abc")), None);
    }

    fn sample(index: usize, label: usize, correct: bool, success: bool) -> SampleResult {
        let prediction = if correct { label } else { label + 1 };
        SampleResult {
            attacked: correct,
            success,
            margin: success.then_some(-(index as f64)),
            ..SampleResult::unattacked(index, label, prediction, (!correct).then_some(SKIP_MISCLASSIFIED))
        }
    }

    /// Shard `k` of `n` over samples 0..6.
    fn report(k: usize, n: usize) -> (PathBuf, AuditReport) {
        let samples: Vec<SampleResult> =
            (0..6).filter(|i| i % n == k).map(|i| sample(i, i % 3, i != 4, i % 2 == 0 && i != 4)).collect();
        let r = AuditReport {
            schema_version: AUDIT_SCHEMA_VERSION,
            kind: crate::document::AUDIT_REPORT.kind.into(),
            tool: ToolRecord::current(),
            model_sha256: "m".into(),
            dataset_sha256: dataset_sha256("i", "l", 6),
            images_sha256: "i".into(),
            goal: serde_json::json!({"kind": "target_class"}),
            settings: serde_json::json!({}),
            shard: Shard { k, n },
            epsilons: vec![0.1, 0.2],
            epsilon_tolerance: Some(0.05),
            targets_sha256: None,
            left_out: Vec::new(),
            wave_rows: None,
            dataset_samples: 6,
            rows_sha256: rows_sha256(&samples),
            summary: summarise(&samples),
            curve: curve(&samples, &[0.1, 0.2]),
            samples,
            provenance: provenance::Provenance::new(
                &origin(),
                format!("2025-01-0{}T00:00:00Z", k + 1),
                1.0,
                BTreeMap::new(),
            ),
        };
        (PathBuf::from(format!("shard{k}.json")), r)
    }

    fn origin() -> provenance::Origin {
        provenance::Origin {
            backend: "tract".into(),
            backend_version: "0.23.9".into(),
            device: "cpu".into(),
            model_file: "m.onnx".into(),
        }
    }

    fn merge_error(reports: Vec<(PathBuf, AuditReport)>) -> String {
        merge(reports).unwrap_err().to_string()
    }

    #[test]
    fn shards_merge_into_the_whole_summary() {
        let whole = report(0, 1).1;
        let merged = merge(vec![report(2, 3), report(0, 3), report(1, 3)]).unwrap();
        // All but the provenance, which lists the shards' own.
        let shards: Vec<String> = merged.provenance.shards.iter().map(|p| p.started_utc.clone()).collect();
        assert_eq!(shards, ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"]);
        assert_eq!(
            (merged.provenance.started_utc.as_str(), merged.provenance.duration_s),
            ("2025-01-01T00:00:00Z", 3.0)
        );
        assert_eq!(AuditReport { provenance: whole.provenance.clone(), ..merged }, whole);
        // A report survives its JSON round trip (the tool info included).
        let json = serde_json::to_string(&whole).unwrap();
        assert_eq!(serde_json::from_str::<AuditReport>(&json).unwrap(), whole);
    }

    #[test]
    fn merge_errors_name_the_offending_file() {
        let err = merge_error(vec![report(0, 2), report(1, 2), report(0, 2)]);
        assert!(err.starts_with("shard0.json: shard 0/2 given twice"), "{err}");
        let mut other = report(1, 2);
        other.1.dataset_sha256 = dataset_sha256("i", "other labels", 6);
        let err = merge_error(vec![report(0, 2), other]);
        assert_eq!(err, "shard1.json: audits a different model or dataset than shard0.json");
        let mut other = report(1, 2);
        other.1.epsilon_tolerance = Some(0.1);
        let err = merge_error(vec![report(0, 2), other]);
        assert_eq!(err, "shard1.json: ran a different goal or settings than shard0.json");
        let mut other = report(1, 2);
        other.1.targets_sha256 = Some(targets_sha256(&[1, 2, 3, 4, 5, 6]));
        let err = merge_error(vec![report(0, 2), other]);
        assert_eq!(err, "shard1.json: attacked other target classes (--targets) than shard0.json");
        let mut other = report(1, 2);
        other.1.wave_rows = Some(8);
        let err = merge_error(vec![report(0, 2), other]);
        assert!(err.starts_with("shard1.json: ran in waves of 8 rows where shard0.json ran in whole batches"), "{err}");
        let mut other = report(1, 2);
        other.1.tool.commit = "elsewhere".into();
        let err = merge_error(vec![report(0, 2), other]);
        assert!(err.starts_with("shard1.json: written by adr-onnx") && err.contains("(elsewhere)"), "{err}");
        let mut other = report(1, 2);
        other.1.samples[0].index = 2;
        assert_eq!(merge_error(vec![report(0, 2), other]), "shard1.json: sample 2 is not in shard 1/2");
        assert_eq!(
            merge_error(vec![report(0, 2), report(1, 3)]),
            "shard1.json: a shard of 3 parts, shard0.json one of 2"
        );
        assert_eq!(merge_error(vec![report(1, 3)]), "shard 0/3 is missing (1 of 3 given)");
        assert_eq!(merge_error(vec![]), "no report to merge");
    }

    /// Report `k` of `n` after `edit`, its digest left as written.
    fn tampered(k: usize, n: usize, edit: impl FnOnce(&mut AuditReport)) -> (PathBuf, AuditReport) {
        let (path, mut r) = report(k, n);
        edit(&mut r);
        (path, r)
    }

    #[test]
    fn merge_refuses_repeated_missing_foreign_and_relabelled_samples() {
        let repeated = tampered(1, 2, |r| r.samples.push(r.samples[0].clone()));
        assert_eq!(merge_error(vec![report(0, 2), repeated]), "shard1.json: sample 1 appears twice");
        let removed = tampered(1, 2, |r| drop(r.samples.remove(1)));
        assert_eq!(
            merge_error(vec![report(0, 2), removed]),
            "shard1.json: sample 3 is missing (shard 1/2 holds 2 of its 3 samples)"
        );
        let emptied = tampered(0, 2, |r| r.samples.clear());
        assert_eq!(
            merge_error(vec![emptied, report(1, 2)]),
            "shard0.json: sample 0 is missing (shard 0/2 holds 0 of its 3 samples)"
        );
        let beyond = tampered(1, 2, |r| r.samples.push(sample(7, 1, true, false)));
        assert_eq!(merge_error(vec![report(0, 2), beyond]), "shard1.json: sample 7: outside the 6 audited samples");
        let edited = "shard1.json: its rows do not match its rows_sha256: the samples were edited";
        let relabelled = tampered(1, 2, |r| r.samples[0].label = 9);
        assert_eq!(merge_error(vec![report(0, 2), relabelled]), edited);
        // An outcome edited: a flipped sample made robust.
        let unflipped = tampered(0, 2, |r| r.samples[0].success = false);
        assert_eq!(merge_error(vec![unflipped, report(1, 2)]), edited.replace("shard1", "shard0"));
        let fewer = tampered(1, 2, |r| r.dataset_samples = 4);
        assert_eq!(
            merge_error(vec![report(0, 2), fewer]),
            "shard1.json: audits a different model or dataset than shard0.json"
        );
    }

    #[test]
    fn labels_are_checked_against_the_dataset() {
        let (path, r) = report(1, 2);
        let labels: Vec<usize> = (0..6).map(|i| i % 3).collect();
        check_labels(&path, &r, Path::new("y.npy"), &labels).unwrap();
        let mut other = labels.clone();
        other[3] = 2;
        let err = check_labels(&path, &r, Path::new("y.npy"), &other).unwrap_err().to_string();
        assert_eq!(err, "shard1.json: sample 3: label 0, but y.npy gives 2");
        let err = check_labels(&path, &r, Path::new("y.npy"), &labels[..2]).unwrap_err().to_string();
        assert_eq!(err, "shard1.json: sample 3: y.npy holds only 2 labels");
    }

    #[test]
    fn a_huge_shard_count_is_refused_without_allocating() {
        let (path, mut r) = report(0, 1);
        r.shard = Shard { k: 1, n: usize::MAX };
        r.samples.retain(|s| r.shard.contains(s.index));
        r.rows_sha256 = rows_sha256(&r.samples);
        assert_eq!(
            merge_error(vec![(path, r)]),
            format!("shard 0/{} is missing (1 of {} given)", usize::MAX, usize::MAX)
        );
    }

    #[test]
    fn the_curve_counts_samples_robust_at_each_radius() {
        let mut samples = vec![sample(0, 1, true, true), sample(1, 2, true, true), sample(2, 3, true, false)];
        samples.push(sample(3, 4, false, false));
        samples[0].min_epsilon = Some(0.1);
        samples[1].min_epsilon = Some(0.3);
        let c = curve(&samples, &[0.05, 0.1, 0.2, 0.3]);
        let robust: Vec<usize> = c.iter().map(|p| p.robust).collect();
        assert_eq!(robust, vec![3, 2, 2, 1]);
        assert_eq!(c[3].robust_accuracy, 0.25);
    }

    #[test]
    fn the_curve_steps_at_the_refined_radii() {
        let mut samples = vec![sample(0, 1, true, true), sample(1, 2, true, true), sample(2, 3, true, false)];
        (samples[0].min_epsilon, samples[0].max_robust_epsilon) = (Some(0.13), Some(0.125));
        (samples[1].min_epsilon, samples[1].max_robust_epsilon) = (Some(0.05), None);
        samples[2].max_robust_epsilon = Some(0.2);
        let c = curve(&samples, &[0.1, 0.2]);
        let points: Vec<(f64, usize)> = c.iter().map(|p| (p.epsilon, p.robust)).collect();
        assert_eq!(points, vec![(0.05, 2), (0.1, 2), (0.125, 2), (0.13, 1), (0.2, 1)]);
        assert!(curve(&samples, &[]).is_empty());
    }

    #[test]
    fn per_class_rows_hold_the_classes_present() {
        let samples = vec![sample(0, 7, true, true), sample(1, 2, true, false), sample(2, 7, false, false)];
        let s = summarise(&samples);
        assert_eq!(
            s.per_class,
            vec![
                ClassRow { class: 2, samples: 1, clean_correct: 1, robust: 1 },
                ClassRow { class: 7, samples: 2, clean_correct: 1, robust: 0 },
            ]
        );
        assert_eq!((s.attacked, s.successes, s.worst.clone()), (2, 1, vec![0]));
    }

    /// A sample of the target's class is classified as the target at its
    /// clean input: no evidence of robustness. An audit whose every target
    /// is the label attacks nothing and reports nothing robust.
    #[test]
    fn a_sample_whose_label_is_the_target_is_not_robust() {
        let at_target = |index: usize| SampleResult {
            target: Some(3),
            ..SampleResult::unattacked(index, 3, 3, Some(SKIP_LABEL_IS_TARGET))
        };
        let mut samples = vec![sample(0, 1, true, false), at_target(1), sample(2, 2, true, true)];
        samples[2].min_epsilon = Some(0.1);
        let s = summarise(&samples);
        assert_eq!((s.clean_correct, s.attacked, s.successes), (3, 2, 1));
        assert_eq!(s.robust_accuracy, 1.0 / 3.0);
        assert_eq!(s.per_class.iter().find(|r| r.class == 3).map(|r| r.robust), Some(0));
        let robust: Vec<usize> = curve(&samples, &[0.05, 0.2]).iter().map(|p| p.robust).collect();
        assert_eq!(robust, vec![2, 1, 1], "at 0.05, 0.1 (sample 2's flip) and 0.2");
        let none = summarise(&[at_target(0), at_target(1)]);
        assert_eq!((none.attacked, none.robust_accuracy), (0, 0.0));
    }

    #[test]
    fn the_dataset_identity_covers_images_labels_and_count() {
        let id = dataset_sha256("a", "b", 3);
        assert_eq!(id.len(), 64);
        assert_ne!(id, dataset_sha256("a", "c", 3));
        assert_ne!(id, dataset_sha256("c", "b", 3));
        assert_ne!(id, dataset_sha256("a", "b", 2));
    }
}
