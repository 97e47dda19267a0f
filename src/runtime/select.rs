//! Choosing the backend for a run: `tract`, `ort` (ONNX Runtime, CPU or
//! CUDA), or `auto`, which takes ONNX Runtime when its library is found and
//! loads, and tract otherwise, saying why in the report.

use std::path::PathBuf;

use serde::Serialize;

use super::tract::TractBackend;
use super::{Backend, Threaded};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    Auto,
    Tract,
    Ort,
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct BackendRequest {
    pub choice: BackendChoice,
    /// `cpu`, `cuda` or `cuda:N`; `None` is the CPU.
    pub device: Option<String>,
    pub ort_lib: Option<PathBuf>,
    /// Threads per graph evaluation (ONNX Runtime's intra-op threads).
    pub threads: usize,
}

impl Default for BackendRequest {
    fn default() -> Self {
        BackendRequest { choice: BackendChoice::Tract, device: None, ort_lib: None, threads: 1 }
    }
}

/// Which runtime runs the graphs, as reports record it.
#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    pub name: String,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub device: String,
    pub threads: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Why `auto` chose what it chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub struct Selected {
    pub backend: Box<dyn Backend>,
    pub info: BackendInfo,
}

fn tract(threads: usize, note: Option<String>) -> Selected {
    Selected {
        backend: Box::new(Threaded { inner: Box::new(TractBackend), threads }),
        info: BackendInfo {
            name: "tract".into(),
            provider: "cpu".into(),
            version: Some("0.23.9".into()),
            device: "cpu".into(),
            threads,
            library: None,
            note,
        },
    }
}

fn wants_cuda(device: Option<&str>) -> bool {
    device.is_some_and(|d| d != "cpu")
}

pub fn select(req: &BackendRequest) -> Result<Selected> {
    let device = req.device.as_deref();
    match req.choice {
        BackendChoice::Tract if wants_cuda(device) => Err(Error::Invalid(format!(
            "--device {} needs --backend ort: tract runs on the CPU only",
            device.unwrap_or("")
        ))),
        BackendChoice::Tract => Ok(tract(req.threads, None)),
        BackendChoice::Ort => ort(req),
        BackendChoice::Auto if wants_cuda(device) => ort(req),
        BackendChoice::Auto => match ort(req) {
            Ok(s) => Ok(s),
            Err(e) => Ok(tract(req.threads, Some(format!("ONNX Runtime not used: {e}")))),
        },
    }
}

#[cfg(feature = "onnxruntime")]
fn ort(req: &BackendRequest) -> Result<Selected> {
    use super::onnxruntime::{Device, OrtBackend};
    let device: Device = req.device.as_deref().unwrap_or("cpu").parse().map_err(Error::Invalid)?;
    let lib = super::ort_library::find(req.ort_lib.as_deref()).map_err(|e| Error::Invalid(e.to_string()))?;
    let backend = OrtBackend::new(&lib, device, req.threads)?;
    let i = backend.info.clone();
    Ok(Selected {
        backend: Box::new(backend),
        info: BackendInfo {
            name: "onnxruntime".into(),
            provider: i.provider,
            version: Some(i.version),
            device: i.device,
            threads: i.threads,
            library: Some(i.library.display().to_string()),
            note: None,
        },
    })
}

#[cfg(not(feature = "onnxruntime"))]
fn ort(_: &BackendRequest) -> Result<Selected> {
    Err(Error::Invalid(
        "this build of adr-onnx has no ONNX Runtime backend (the static build); use --backend tract".into(),
    ))
}
