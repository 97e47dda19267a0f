//! The model a call names, imported: a path (read as the CLI reads it) or
//! the bytes of an ONNX file (`torch.onnx.export` into a `BytesIO`, an
//! `onnx.ModelProto`'s `SerializeToString()`); and the calls that only read
//! a model, `inspect` and `derive`.

use std::path::{Path, PathBuf};

use adr_onnx::input::sha256_hex;
use adr_onnx::onnx::ImportedModel;
use adr_onnx::original::OriginalModel;
use adr_onnx::{Error, Result};
use pyo3::prelude::*;

use crate::errors;

/// What errors and reports call a model given as bytes.
pub const BYTES_NAME: &str = "<model bytes>";

/// An ONNX file's bytes and the name they go by.
pub struct ModelSource {
    name: PathBuf,
    bytes: Vec<u8>,
}

impl ModelSource {
    /// The model at `path`, else the model `bytes`.
    pub fn new(path: Option<PathBuf>, bytes: Option<&[u8]>) -> Result<ModelSource> {
        match (path, bytes) {
            (Some(path), _) => Ok(ModelSource { bytes: adr_onnx::input::read(&path)?, name: path }),
            (None, Some(bytes)) => Ok(ModelSource { name: BYTES_NAME.into(), bytes: bytes.to_vec() }),
            (None, None) => Err(Error::Internal { message: "no model given".into() }),
        }
    }

    pub fn import(&self) -> Result<ImportedModel> {
        let original = self.original()?;
        adr_onnx::onnx::import_proto(&original.path, &original.proto)
    }

    /// The model file as read: its graph decoded, named as in errors.
    pub fn original(&self) -> Result<OriginalModel> {
        Ok(OriginalModel {
            path: self.name.clone(),
            proto: adr_onnx::onnx::proto::decode_model(&self.name, &self.bytes)?,
        })
    }

    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }

    /// The file name, as the audit report's provenance gives it.
    pub fn file_name(&self) -> String {
        let name = self.name.file_name().unwrap_or(self.name.as_os_str());
        Path::new(name).display().to_string()
    }
}

/// `adr-onnx inspect --json` of the model, as JSON text.
#[pyfunction]
#[pyo3(signature = (path, bytes))]
pub fn inspect(py: Python<'_>, path: Option<PathBuf>, bytes: Option<&[u8]>) -> PyResult<String> {
    let source = ModelSource::new(path, bytes).map_err(|e| errors::from_library(&e))?;
    let summary = py.detach(|| source.import().map(|m| adr_onnx::summary::ModelSummary::of(&m)));
    let summary = summary.map_err(|e| errors::from_library(&e))?;
    adr_onnx::document::to_json(adr_onnx::document::INSPECT_REPORT, &summary)
        .map_err(|e| errors::from_library(&Error::Internal { message: e.to_string() }))
}

/// The bytes of `adr-onnx derive`'s surrogate of the model, its gates as
/// sharp as `alpha` says (default 2000).
#[pyfunction]
#[pyo3(signature = (path, bytes, alpha))]
pub fn derive(py: Python<'_>, path: Option<PathBuf>, bytes: Option<&[u8]>, alpha: Option<f64>) -> PyResult<Vec<u8>> {
    if let Some(a) = alpha {
        adr_onnx::optim::settings::check_alpha(a).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "alpha must be a positive, finite 32-bit number, got {a:?}"
            ))
        })?;
    }
    let source = ModelSource::new(path, bytes).map_err(|e| errors::from_library(&e))?;
    let surrogate = py.detach(|| {
        let model = source.import()?;
        model.require_relu()?;
        let alpha = alpha.unwrap_or(adr_onnx::surrogate::gate::DEFAULT_ALPHA);
        Ok::<_, Error>(
            adr_onnx::lower::step::surrogate_graph(&model, alpha, adr_onnx::writer::Precision::F32).to_bytes(),
        )
    });
    surrogate.map_err(|e| errors::from_library(&e))
}
