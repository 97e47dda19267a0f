//! `attack`: the audit of `adr-onnx audit` over arrays in memory, one goal
//! per sample from a template (epsilon, norm, bounds, target), with the
//! CLI's method settings. The report is the audit report the CLI writes.

use std::path::{Path, PathBuf};

use adr_onnx::audit::provenance::Origin;
use adr_onnx::audit::session::Session;
use adr_onnx::audit::{self, AuditInput, Shard};
use adr_onnx::goal::schema::MethodBlock;
use adr_onnx::input::sha256_hex;
use adr_onnx::memory::MemoryLimit;
use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest};
use adr_onnx::runtime::Device;
use adr_onnx::{Error, Result};
use clap::ValueEnum;
use ndarray::ArrayD;
use numpy::PyReadonlyArrayDyn;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::model::ModelSource;
use crate::{errors, interruptible};

/// What errors name the arrays and the template by: the Python arguments.
const IMAGES: &str = "x";
const LABELS: &str = "y";
const TARGETS: &str = "targets";
const TEMPLATE: &str = "attack";

/// The method settings `settings` (a JSON object of method-block fields,
/// e.g. `{"algorithm": "pgd", "seed": 0}`), each field checked alone so
/// that an error names it.
fn method_block(settings: &str) -> PyResult<MethodBlock> {
    let bad = |message: String| PyValueError::new_err(message);
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(settings).map_err(|e| bad(format!("settings: {e}")))?;
    for (key, value) in &fields {
        let one = serde_json::Map::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = serde_json::from_value::<MethodBlock>(serde_json::Value::Object(one)) {
            return Err(bad(format!("{key}={value}: {e}")));
        }
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| bad(format!("settings: {e}")))
}

/// The backend flags' request.
fn backend_request(
    backend: &str,
    device: Option<&str>,
    ort_lib: Option<PathBuf>,
    threads: usize,
) -> PyResult<BackendRequest> {
    let choice = BackendChoice::from_str(backend, false)
        .map_err(|_| PyValueError::new_err(format!("backend {backend:?}: expected auto, tract or ort")))?;
    let device = match device {
        Some(d) => d.parse::<Device>().map_err(PyValueError::new_err)?,
        None => Device::Cpu,
    };
    Ok(BackendRequest { choice, device, ort_lib, threads: threads.max(1) })
}

/// SHA-256 of the images as float32 little-endian, in C order: the
/// `images_sha256` of an audit from memory.
fn images_sha256(images: &ArrayD<f32>) -> String {
    let bytes: Vec<u8> = images.iter().flat_map(|v| v.to_le_bytes()).collect();
    sha256_hex(&bytes)
}

/// SHA-256 of the labels as text, one per line.
fn labels_sha256(labels: &[usize]) -> String {
    let text: String = labels.iter().map(|l| format!("{l}\n")).collect();
    sha256_hex(text.as_bytes())
}

/// Everything the audit needs, owned, for the worker thread.
struct AttackJob {
    model: ModelSource,
    images: ArrayD<f32>,
    labels: Vec<usize>,
    template: serde_json::Value,
    method: MethodBlock,
    targets: Option<Vec<usize>>,
    epsilons: Vec<f64>,
    epsilon_tolerance: f64,
    request: BackendRequest,
    batch: usize,
}

impl AttackJob {
    /// The audit report, as JSON text.
    fn run(self) -> Result<String> {
        let memory = MemoryLimit::new(None);
        let original = self.model.original()?;
        let model = adr_onnx::onnx::import_proto(&original.path, &original.proto)?;
        let model = adr_onnx::front::within_memory(model, &memory, "attack")?;
        let selected = select(&self.request)?;
        let (file_backend, file_runtime) = adr_onnx::runtime::select::file_runtime(&self.request);
        let count = self.labels.len();
        let (images_sha256, labels_sha256) = (images_sha256(&self.images), labels_sha256(&self.labels));
        let input = AuditInput {
            model: &model,
            model_sha256: self.model.sha256(),
            images: &self.images,
            images_path: Path::new(IMAGES),
            dataset_sha256: audit::dataset_sha256(&images_sha256, &labels_sha256, count),
            images_sha256,
            labels: &self.labels,
            labels_path: Path::new(LABELS),
            limit: None,
            template_path: Path::new(TEMPLATE),
            template: self.template,
            cli: self.method,
            backend: selected.backend.as_ref(),
            batch: self.batch,
            epsilons: self.epsilons,
            epsilon_tolerance: self.epsilon_tolerance,
            targets: self.targets.map(|t| (Path::new(TARGETS), t)),
            shard: Shard::WHOLE,
            file: Some(adr_onnx::original::FileRunner {
                original: &original,
                backend: file_backend.as_ref(),
                runtime: file_runtime,
            }),
            memory,
            runtime: selected.runtime,
        };
        let origin = Origin {
            backend: selected.info.name.clone(),
            backend_version: selected.info.version.clone().unwrap_or_default(),
            device: selected.info.device.clone(),
            model_file: self.model.file_name(),
        };
        let mut session =
            Session { progress: &mut audit::progress::Unwatched, partial: None, stop_after: None, origin, held: None };
        let report = audit::run(&input, &mut session)?;
        serde_json::to_string(&report).map_err(|e| Error::Internal { message: e.to_string() })
    }
}

/// The audit report (JSON text) of attacking every sample of `x` (float32,
/// samples along the first axis) with label `y`, each goal the template
/// (JSON text) with the sample as input; `settings` as the CLI's method
/// flags; `targets` one class per sample; `epsilons` a robustness curve.
#[pyfunction]
#[pyo3(signature = (path, bytes, x, y, template, settings, targets, epsilons, epsilon_tolerance, backend, device, ort_lib, threads, batch))]
#[allow(clippy::too_many_arguments)]
pub fn attack(
    py: Python<'_>,
    path: Option<PathBuf>,
    bytes: Option<&[u8]>,
    x: PyReadonlyArrayDyn<'_, f32>,
    y: Vec<usize>,
    template: &str,
    settings: &str,
    targets: Option<Vec<usize>>,
    epsilons: Vec<f64>,
    epsilon_tolerance: f64,
    backend: &str,
    device: Option<&str>,
    ort_lib: Option<PathBuf>,
    threads: usize,
    batch: usize,
) -> PyResult<String> {
    let job = AttackJob {
        model: ModelSource::new(path, bytes).map_err(|e| errors::from_library(&e))?,
        images: x.as_array().to_owned(),
        labels: y,
        template: serde_json::from_str(template).map_err(|e| PyValueError::new_err(format!("template: {e}")))?,
        method: method_block(settings)?,
        targets,
        epsilons,
        epsilon_tolerance,
        request: backend_request(backend, device, ort_lib, threads)?,
        batch,
    };
    interruptible::run(py, move || job.run())?.map_err(|e| errors::from_library(&e))
}
