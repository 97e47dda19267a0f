//! Choosing the backend for a run: `tract`, `ort` (ONNX Runtime, CPU or
//! CUDA), or `auto`, which takes ONNX Runtime when its library is found and
//! loads, and tract otherwise, saying why in the report. `auto` with an
//! explicit library (`--ort-lib`) or a CUDA device means ONNX Runtime, and
//! failing to load it is then an error, never a silent fall-back.

use serde::Serialize;
use std::path::PathBuf;

use super::tract::TractBackend;
use super::{Backend, Device, Threaded};
use crate::error::{Error, Result};

/// The tract-onnx version built in (pinned in Cargo.toml), as reports and
/// `doctor` name it.
pub const TRACT_VERSION: &str = "0.23.9";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    Auto,
    Tract,
    Ort,
}

impl BackendChoice {
    /// The name `--backend` takes.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Tract => "tract",
            BackendChoice::Ort => "ort",
        }
    }
}

/// Which runtime a selected backend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Tract,
    OnnxRuntime,
}

/// Host copies of a row's activation values a batch holds at once, per
/// runtime. Measured with the peak RSS of `run` on the MNIST CNN (17,602
/// activation floats a row), 16 against 256 restarts: tract, which runs a
/// batch in cache-sized chunks, 380 KB a row (5.4 copies); ONNX Runtime,
/// which runs it whole and keeps its arena, 2.1 MB (30.5 copies).
pub const TRACT_COPIES: u64 = 8;
pub const ORT_COPIES: u64 = 32;

impl Runtime {
    /// Host copies of a row's activation values that a batch on this
    /// runtime holds at once (the memory estimate's factor).
    pub fn batch_copies(self) -> u64 {
        match self {
            Runtime::Tract => TRACT_COPIES,
            Runtime::OnnxRuntime => ORT_COPIES,
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct BackendRequest {
    pub choice: BackendChoice,
    /// Parsed at the command line (`cpu`, `cuda` or `cuda:N`).
    pub device: Device,
    pub ort_lib: Option<PathBuf>,
    /// Threads per graph evaluation: ONNX Runtime's intra-op threads, or the
    /// worker threads among which tract spreads a batch's chunks.
    pub threads: usize,
}

impl Default for BackendRequest {
    fn default() -> Self {
        BackendRequest { choice: BackendChoice::Tract, device: Device::Cpu, ort_lib: None, threads: 1 }
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
    pub runtime: Runtime,
    pub info: BackendInfo,
}

/// The runtime that runs a model file itself to check the derived network
/// against it, with its name: ONNX Runtime on the CPU, one thread, with
/// its basic graph optimisations only (its others approximate), where its
/// library loads with `request`'s library flag (the reference
/// implementation of ONNX, which tract follows less closely), else tract.
pub fn file_runtime(request: &BackendRequest) -> (Box<dyn Backend>, &'static str) {
    match reference_ort(request) {
        Ok(backend) => (backend, "onnxruntime"),
        Err(_) => (Box::new(TractBackend), "tract"),
    }
}

#[cfg(feature = "onnxruntime")]
fn reference_ort(request: &BackendRequest) -> Result<Box<dyn Backend>> {
    Ok(Box::new(ort_backend(request, Device::Cpu, 1)?.exact()))
}

/// ONNX Runtime from the library `req` names (or the one found), on
/// `device` with `threads` intra-op threads.
#[cfg(feature = "onnxruntime")]
fn ort_backend(req: &BackendRequest, device: Device, threads: usize) -> Result<super::onnxruntime::OrtBackend> {
    let lib = super::ort_library::find(req.ort_lib.as_deref())
        .map_err(|e| Error::RuntimeLibrary { message: e.to_string() })?;
    super::onnxruntime::OrtBackend::new(&lib, device, threads)
}

#[cfg(not(feature = "onnxruntime"))]
fn reference_ort(_: &BackendRequest) -> Result<Box<dyn Backend>> {
    Err(Error::NoOrtBackend)
}

fn tract(threads: usize, note: Option<String>) -> Selected {
    Selected {
        backend: Box::new(Threaded { inner: Box::new(TractBackend), threads }),
        runtime: Runtime::Tract,
        info: BackendInfo {
            name: "tract".into(),
            provider: "cpu".into(),
            version: Some(TRACT_VERSION.into()),
            device: "cpu".into(),
            threads,
            library: None,
            note,
        },
    }
}

pub fn select(req: &BackendRequest) -> Result<Selected> {
    let device = req.device;
    let cuda = device != Device::Cpu;
    let choice = match req.choice {
        BackendChoice::Auto if cuda || req.ort_lib.is_some() => BackendChoice::Ort,
        other => other,
    };
    match choice {
        BackendChoice::Tract if cuda => Err(Error::DeviceNeedsOrt { device: device.to_string() }),
        BackendChoice::Tract => Ok(tract(req.threads, None)),
        BackendChoice::Ort => ort(req, device),
        BackendChoice::Auto => match ort(req, device) {
            Ok(s) => Ok(s),
            Err(e) => Ok(tract(req.threads, Some(format!("ONNX Runtime not used: {e}")))),
        },
    }
}

#[cfg(feature = "onnxruntime")]
fn ort(req: &BackendRequest, device: Device) -> Result<Selected> {
    let backend = ort_backend(req, device, req.threads)?;
    let i = backend.info.clone();
    Ok(Selected {
        backend: Box::new(backend),
        runtime: Runtime::OnnxRuntime,
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
fn ort(_: &BackendRequest, _: Device) -> Result<Selected> {
    Err(Error::NoOrtBackend)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(choice: BackendChoice, device: Device, ort_lib: Option<&str>) -> BackendRequest {
        BackendRequest { choice, device, ort_lib: ort_lib.map(PathBuf::from), threads: 1 }
    }

    fn error(req: &BackendRequest) -> String {
        match select(req) {
            Ok(s) => panic!("expected an error, got {}", s.info.name),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn devices_parse() {
        assert_eq!("cpu".parse(), Ok(Device::Cpu));
        assert_eq!("cuda".parse(), Ok(Device::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(Device::Cuda(3)));
        assert!("gpu".parse::<Device>().is_err() && "cuda:x".parse::<Device>().is_err());
        assert_eq!(Device::Cuda(0).to_string(), "cuda:0");
    }

    #[test]
    fn tract_refuses_cuda() {
        let e = error(&request(BackendChoice::Tract, Device::Cuda(0), None));
        assert!(e.contains("--device cuda:0 needs --backend ort"), "{e}");
    }

    #[test]
    fn auto_with_an_explicit_library_must_load_it() {
        let e = error(&request(BackendChoice::Auto, Device::Cpu, Some("/no/such/libonnxruntime.so")));
        assert!(e.contains("/no/such/libonnxruntime.so"), "{e}");
    }

    #[test]
    fn tract_records_its_version() {
        let s = select(&request(BackendChoice::Tract, Device::Cpu, None)).unwrap();
        assert_eq!(s.info.version.as_deref(), Some(TRACT_VERSION));
        assert_eq!(s.info.threads, 1);
        let manifest = include_str!("../../Cargo.toml");
        assert!(
            manifest.contains(&format!("tract-onnx = {{ version = \"={TRACT_VERSION}\"")),
            "Cargo.toml pins another tract"
        );
    }
}
