//! Dataset audits: one attack goal template run over every sample of a
//! dataset (or of one shard of it) in batches, reported as robust accuracy
//! with per-sample results, a per-class table and the worst examples.
//! Shards merge into exactly the report of an unsharded run: each sample's
//! search depends only on its own index, and the report holds no timings.

pub mod page;

use std::path::Path;

use ndarray::{Array2, ArrayD, Axis};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::goal::schema::MethodBlock;
use crate::goal::{self, argmax, Goal};
use crate::onnx::ImportedModel;
use crate::optim::engine::Engine;
use crate::optim::{optimise, Progress, Settings};
use crate::report::{distances, ToolInfo};
use crate::runtime::Backend;

pub const AUDIT_SCHEMA_VERSION: u32 = 1;

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

/// One sample's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleResult {
    pub index: usize,
    pub label: usize,
    pub clean_prediction: usize,
    pub clean_correct: bool,
    /// Whether the attack ran (only on correctly classified samples).
    pub attacked: bool,
    /// The attack flipped the prediction (the goal was achieved).
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_prediction: Option<usize>,
    /// Classification margin at the best point (negative: misclassified).
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
    /// Correct and not flipped, among all samples.
    pub robust_accuracy: f64,
    pub per_class: Vec<ClassRow>,
    /// Indices of the successful attacks with the most negative margins.
    pub worst: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub model_sha256: String,
    pub images_sha256: String,
    pub goal: Value,
    pub settings: Value,
    pub shard: Shard,
    pub samples: Vec<SampleResult>,
    pub summary: Summary,
}

impl<'de> Deserialize<'de> for ToolInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            version: String,
            commit: String,
        }
        let raw = Raw::deserialize(d)?;
        let now = ToolInfo::current();
        if raw.version != now.version || raw.commit != now.commit {
            return Err(serde::de::Error::custom(format!(
                "written by adr-onnx {} ({}), this is {} ({})",
                raw.version, raw.commit, now.version, now.commit
            )));
        }
        Ok(now)
    }
}

const WORST: usize = 10;

/// What an audit runs on.
pub struct AuditInput<'a> {
    pub model: &'a ImportedModel,
    pub model_sha256: String,
    pub images: &'a ArrayD<f32>,
    pub images_sha256: String,
    pub labels: &'a [usize],
    /// The goal template's file (paths in it are relative to its folder).
    pub template_path: &'a Path,
    pub template: Value,
    pub cli: MethodBlock,
    pub backend: &'a dyn Backend,
    /// Goals per batch.
    pub batch: usize,
    pub shard: Shard,
}

/// The goal of sample `i`: the template with the sample's input and label.
fn sample_goal(a: &AuditInput, i: usize) -> Result<Goal> {
    let mut v = a.template.clone();
    let obj = v.as_object_mut().ok_or_else(|| Error::Goal {
        file: a.template_path.to_path_buf(),
        pointer: "/".into(),
        message: "the template must be an object".into(),
    })?;
    obj.insert(
        "input".into(),
        Value::from(a.images.index_axis(Axis(0), i).iter().map(|&f| f64::from(f)).collect::<Vec<_>>()),
    );
    obj.insert("label".into(), Value::from(a.labels[i]));
    let mut g = goal::parse(a.template_path, &v.to_string(), a.model)?;
    g.stream = i as u64;
    Ok(g)
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

pub fn run(a: &AuditInput, progress: &mut dyn Progress) -> Result<AuditReport> {
    check_template(a)?;
    let count = a.images.shape().first().copied().unwrap_or(0);
    if a.labels.len() != count {
        return Err(Error::Invalid(format!("{} images but {} labels", count, a.labels.len())));
    }
    let per_sample = a.images.len() / count.max(1);
    if per_sample != a.model.graph.input_size() {
        return Err(Error::Invalid(format!(
            "the images hold {per_sample} values per sample (shape {:?}); the model's input has {}",
            a.images.shape(),
            a.model.graph.input_size()
        )));
    }
    let indices: Vec<usize> = (0..count).filter(|&i| a.shard.contains(i)).collect();
    let Some(&first) = indices.first() else {
        return Err(Error::Invalid("the shard holds no sample".into()));
    };
    let probe = sample_goal(a, first)?;
    let neurons = crate::surrogate::total_neurons(&a.model.graph);
    let settings = Settings::resolve(&probe, &a.cli, neurons);
    settings.validate().map_err(|e| Error::Invalid(format!("{}: {e}", a.template_path.display())))?;
    let batch = a.batch.max(1);

    // Clean predictions, in batches of the same size.
    let mut clean = Vec::with_capacity(indices.len());
    let mut eval = Engine::new(a.model, a.backend, probe.target, probe.output, batch, settings.alpha);
    for chunk in indices.chunks(batch) {
        let x = padded_rows(a.images, chunk, batch);
        let t = eval.eval(&x)?;
        for r in 0..chunk.len() {
            let row = t.y.row(r);
            clean.push(argmax(row.as_slice().unwrap_or(&row.to_vec())));
        }
    }

    let mut samples: Vec<SampleResult> = indices
        .iter()
        .zip(&clean)
        .map(|(&i, &p)| SampleResult {
            index: i,
            label: a.labels[i],
            clean_prediction: p,
            clean_correct: p == a.labels[i],
            attacked: false,
            success: false,
            adversarial_prediction: None,
            margin: None,
            cross_entropy: None,
            distance_linf: None,
            distance_l2: None,
            found_by: None,
            adversarial_f32le: None,
        })
        .collect();
    let attack: Vec<usize> = (0..samples.len()).filter(|&s| samples[s].clean_correct).collect();
    let mut engine =
        Engine::new(a.model, a.backend, probe.target, probe.output, batch * settings.restarts, settings.alpha);
    for chunk in attack.chunks(batch) {
        let mut goals: Vec<Goal> = chunk.iter().map(|&s| sample_goal(a, samples[s].index)).collect::<Result<_>>()?;
        // Full batches always: padding repeats the last goal, results discarded.
        while goals.len() < batch {
            let last = goals[goals.len() - 1].clone();
            goals.push(last);
        }
        let outcome = optimise(&mut engine, &goals, &settings, progress, None)?;
        for (k, &s) in chunk.iter().enumerate() {
            let best = &outcome.best[k];
            let x0 = match &goals[k].start {
                goal::Start::Given(x) => x.clone(),
                goal::Start::Random => best.x.clone(),
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
        }
    }
    let summary = summarise(&samples);
    Ok(AuditReport {
        schema_version: AUDIT_SCHEMA_VERSION,
        tool: ToolInfo::current(),
        model_sha256: a.model_sha256.clone(),
        images_sha256: a.images_sha256.clone(),
        goal: a.template.clone(),
        settings: serde_json::to_value(&settings).map_err(|e| Error::Invalid(e.to_string()))?,
        shard: a.shard,
        samples,
        summary,
    })
}

/// Rows `chunk` of the dataset, flattened, padded to `batch` rows by
/// repeating the last.
fn padded_rows(images: &ArrayD<f32>, chunk: &[usize], batch: usize) -> Array2<f32> {
    let n = images.len() / images.shape()[0].max(1);
    let mut x = Array2::zeros((batch, n));
    for r in 0..batch {
        let i = chunk[r.min(chunk.len() - 1)];
        x.row_mut(r).assign(&ndarray::Array1::from_iter(images.index_axis(Axis(0), i).iter().copied()));
    }
    x
}

pub fn summarise(samples: &[SampleResult]) -> Summary {
    let total = samples.len();
    let clean_correct = samples.iter().filter(|s| s.clean_correct).count();
    let attacked = samples.iter().filter(|s| s.attacked).count();
    let successes = samples.iter().filter(|s| s.success).count();
    let classes = samples.iter().map(|s| s.label + 1).max().unwrap_or(0);
    let per_class = (0..classes)
        .map(|c| {
            let of: Vec<&SampleResult> = samples.iter().filter(|s| s.label == c).collect();
            ClassRow {
                class: c,
                samples: of.len(),
                clean_correct: of.iter().filter(|s| s.clean_correct).count(),
                robust: of.iter().filter(|s| s.clean_correct && !s.success).count(),
            }
        })
        .collect();
    let mut worst: Vec<&SampleResult> = samples.iter().filter(|s| s.success).collect();
    worst.sort_by(|a, b| {
        a.margin.partial_cmp(&b.margin).unwrap_or(std::cmp::Ordering::Equal).then(a.index.cmp(&b.index))
    });
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Summary {
        samples: total,
        clean_correct,
        clean_accuracy: ratio(clean_correct, total),
        attacked,
        successes,
        attack_success_rate: ratio(successes, attacked),
        robust_accuracy: ratio(clean_correct - successes.min(clean_correct), total),
        per_class,
        worst: worst.iter().take(WORST).map(|s| s.index).collect(),
    }
}

/// Merges shard reports into the report of the whole dataset.
pub fn merge(reports: Vec<AuditReport>) -> std::result::Result<AuditReport, String> {
    let first = reports.first().ok_or("no report to merge")?.clone();
    let n = first.shard.n;
    let mut seen = vec![false; n];
    for r in &reports {
        if r.model_sha256 != first.model_sha256 || r.images_sha256 != first.images_sha256 {
            return Err("the shards audit different models or datasets".into());
        }
        if r.goal != first.goal || r.settings != first.settings {
            return Err("the shards ran different goals or settings".into());
        }
        if r.shard.n != n {
            return Err(format!("shards of {} and {} parts cannot be merged", n, r.shard.n));
        }
        if n == 0 || r.shard.k >= n {
            return Err(format!("shard {}/{} is invalid", r.shard.k, r.shard.n));
        }
        if std::mem::replace(&mut seen[r.shard.k], true) {
            return Err(format!("shard {}/{n} given twice", r.shard.k));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(format!("shard {k}/{n} is missing"));
    }
    let mut samples: Vec<SampleResult> = reports.into_iter().flat_map(|r| r.samples).collect();
    samples.sort_by_key(|s| s.index);
    let summary = summarise(&samples);
    Ok(AuditReport { shard: Shard::WHOLE, samples, summary, ..first })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 of the values' little-endian bytes.
pub fn base64_f32(v: &[f32]) -> String {
    base64(&v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>())
}

/// Standard base64 (RFC 4648, padded).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= c.len() {
                out.push(B64[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Inverse of [`base64_f32`].
pub fn decode_base64_f32(s: &str) -> Option<Vec<f32>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for ch in s.bytes().filter(|&b| b != b'=') {
        let v = B64.iter().position(|&b| b == ch)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    (bytes.len() % 4 == 0).then(|| bytes.chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
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
    }
}
