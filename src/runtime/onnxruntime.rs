//! The ONNX Runtime backend, through the `ort` crate with its library
//! loaded at run time (`load-dynamic`): the same graphs tract runs, on ONNX
//! Runtime's CPU execution provider or its CUDA provider. A CUDA provider
//! that cannot be registered is an error, never a silent fall-back to the
//! CPU.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use ndarray::ArrayD;
use ort::environment::Environment;
use ort::ep;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};

use super::ort_library::{FoundLibrary, INSTALL_HINT, MIN_MINOR_VERSION};
use super::parallel::{ChunkPlan, SplitBatch};
pub use super::Device;
use super::{Backend, Executable, HostTensor};
use crate::error::{Error, Result};
use crate::writer::builder::OnnxGraph;

/// What ran: for reports and `doctor`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrtInfo {
    pub library: PathBuf,
    pub version: String,
    pub provider: String,
    pub device: String,
    pub threads: usize,
}

#[derive(Clone)]
pub struct OrtBackend {
    env: Environment,
    device: Device,
    threads: usize,
    /// ONNX Runtime's graph optimisations: all of them for the derived
    /// graphs, the basic ones (which keep every value) for a model file run
    /// as the reference ([`OrtBackend::exact`]).
    optimization: GraphOptimizationLevel,
    pub info: OrtInfo,
}

/// The library loaded in this process and its environment (ONNX Runtime
/// loads once and allows one environment per process).
static LOADED: OnceLock<Mutex<Option<(PathBuf, Environment)>>> = OnceLock::new();

fn failure(message: String) -> Error {
    Error::RuntimeLibrary { message: message.replace('\n', " ") }
}

/// ONNX Runtime's version, from its build information (`git-branch=rel-1.31.1`).
fn runtime_version(lib: &FoundLibrary) -> String {
    let info = ort::info();
    info.split(|c: char| c == ',' || c.is_whitespace())
        .find_map(|part| part.strip_prefix("git-branch=rel-"))
        .map(str::to_string)
        .or_else(|| lib.version.clone())
        .unwrap_or_else(|| "unknown".into())
}

fn environment(lib: &FoundLibrary) -> Result<Environment> {
    let loaded = LOADED.get_or_init(|| Mutex::new(None));
    let mut guard = loaded.lock().map_err(|_| failure("ONNX Runtime loader poisoned".into()))?;
    if let Some((path, env)) = guard.as_ref() {
        if path != &lib.path {
            return Err(failure(format!(
                "ONNX Runtime was already loaded from {}; cannot load {} in the same process",
                path.display(),
                lib.path.display()
            )));
        }
        return Ok(env.clone());
    }
    let builder = ort::init_from(&lib.path).map_err(|e| match &e {
        ort::LoadDynamicError::BadVersion { version_str, .. } => failure(format!(
            "{}: ONNX Runtime {version_str} is too old (adr-onnx needs 1.{MIN_MINOR_VERSION} or newer); {INSTALL_HINT}",
            lib.path.display()
        )),
        _ => failure(format!("{}: cannot load ONNX Runtime: {e}; {INSTALL_HINT}", lib.path.display())),
    })?;
    let env = builder.with_name("adr-onnx").build().map_err(|e| failure(format!("ONNX Runtime environment: {e}")))?;
    *guard = Some((lib.path.clone(), env.clone()));
    Ok(env)
}

/// The device's name as the NVIDIA driver reports it, if it can be asked.
fn cuda_device_name(n: u32) -> String {
    std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader", "-i", &n.to_string()])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("CUDA device {n}"), |name| format!("{name} (CUDA device {n})"))
}

impl OrtBackend {
    /// Loads the library and checks the device: with CUDA, a first session
    /// must register the CUDA provider or this fails.
    pub fn new(lib: &FoundLibrary, device: Device, threads: usize) -> Result<Self> {
        let env = environment(lib)?;
        let (provider, device_name) = match device {
            Device::Cpu => ("CPUExecutionProvider".to_string(), "cpu".to_string()),
            Device::Cuda(n) => ("CUDAExecutionProvider".to_string(), cuda_device_name(n)),
        };
        let info = OrtInfo {
            library: lib.path.clone(),
            version: runtime_version(lib),
            provider,
            device: device_name,
            threads,
        };
        let backend = OrtBackend { env, device, threads, optimization: GraphOptimizationLevel::Level3, info };
        if let Device::Cuda(_) = device {
            backend.probe()?;
        }
        Ok(backend)
    }

    /// The backend with ONNX Runtime's basic graph optimisations only, to
    /// run a model file as ONNX defines it: its extended ones approximate
    /// (a DequantizeLinear of int8 weights feeding a MatMul becomes an
    /// integer product of the activations quantized on the fly, 1e-2 off
    /// the file's values on a weight-quantized layer).
    pub fn exact(mut self) -> Self {
        self.optimization = GraphOptimizationLevel::Level1;
        self
    }

    /// Builds a session for a one-node graph, so that a CUDA provider that
    /// cannot start fails here with its reason.
    fn probe(&self) -> Result<()> {
        let mut b = crate::writer::GraphBuilder::new("cuda_probe", crate::writer::Precision::F32);
        let x = b.input("x", vec![1, 4]);
        let y = b.relu(&x);
        b.output(&y, "y");
        self.session(&b.finish()).map(|_| ())
    }

    fn session(&self, graph: &OnnxGraph) -> Result<Session> {
        self.session_with_threads(graph, self.threads)
    }

    fn session_with_threads(&self, graph: &OnnxGraph, threads: usize) -> Result<Session> {
        let err = |e: String| Error::Runtime {
            backend: "onnxruntime".into(),
            graph: graph.name.clone(),
            message: e.replace('\n', " "),
        };
        let mut builder = Session::builder(&self.env).map_err(|e| err(e.to_string()))?;
        builder = builder.with_optimization_level(self.optimization).map_err(|e| err(e.to_string()))?;
        builder = builder.with_intra_threads(threads.max(1)).map_err(|e| err(e.to_string()))?;
        // Idle workers must not spin between runs: the host's own work runs then.
        builder = builder.with_intra_op_spinning(false).map_err(|e| err(e.to_string()))?;
        if let Device::Cuda(n) = self.device {
            let cuda = ep::CUDA::default().with_device_id(n as i32).with_tf32(false).build().error_on_failure();
            builder = builder.with_execution_providers([cuda]).map_err(|e| {
                err(format!(
                    "the CUDA execution provider could not be registered ({e}); `--device cuda` needs the onnxruntime-gpu \
                     package (`pip install onnxruntime-gpu==1.31.1`), an NVIDIA GPU and its driver, and the CUDA 12/13 and \
                     cuDNN 9 libraries on the library path"
                ))
            })?;
        }
        builder.commit_from_memory(&graph.to_bytes()).map_err(|e| err(e.to_string()))
    }
}

struct OrtExecutable {
    graph: String,
    session: Session,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl OrtBackend {
    /// Loads `graph` on `threads` intra-op threads; a large graph in
    /// segments ([`super::segmented`]), one session each.
    fn executable(&self, graph: &OnnxGraph, threads: usize) -> Result<Box<dyn Executable>> {
        let backend = self.clone();
        super::segmented::load_with(graph, move |g| backend.whole(g, threads))
    }

    fn whole(&self, graph: &OnnxGraph, threads: usize) -> Result<Box<dyn Executable>> {
        let session = self.session_with_threads(graph, threads)?;
        Ok(Box::new(OrtExecutable {
            graph: graph.name.clone(),
            session,
            inputs: graph.inputs.iter().map(|i| i.name.clone()).collect(),
            outputs: graph.outputs.iter().map(|o| o.name.clone()).collect(),
        }))
    }
}

impl Backend for OrtBackend {
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        self.executable(graph, self.threads)
    }

    fn host_threads(&self) -> usize {
        self.threads.max(1)
    }

    /// On the CPU with several threads, a graph with convolutions runs its
    /// batch as one chunk per thread, each in a single-threaded session:
    /// ONNX Runtime spreads one call's convolutions over its intra-op
    /// threads poorly (the MNIST CNN's ADR iteration at batch 64 runs 1.15
    /// times faster on 2 intra-op threads than on 1, and 1.6 times split).
    /// Dense graphs run in one call on the intra-op threads, whose matrix
    /// products use them well (split, the random nets and the VAE decoder ran
    /// slower). On CUDA a batch is always one call.
    fn load_batched(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        _floats_per_row: usize,
    ) -> Result<Box<dyn Executable>> {
        let whole = build(batch);
        let convolutional = whole.uses_op("Conv") || whole.uses_op("ConvTranspose");
        if self.device != Device::Cpu || self.threads < 2 || batch < 2 || !convolutional {
            return self.load(&whole);
        }
        let plan = ChunkPlan::new(batch, self.threads, 1);
        SplitBatch::load(plan, &build(plan.rows), |g| self.executable(g, 1))
    }

    /// Convolutional graphs on the CPU as in `load_batched`: one
    /// single-threaded session per thread.
    fn load_fixed_rows(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        rows_per_call: usize,
    ) -> Result<Box<dyn Executable>> {
        let call = build(rows_per_call);
        let convolutional = call.uses_op("Conv") || call.uses_op("ConvTranspose");
        let split = self.device == Device::Cpu && self.threads >= 2 && convolutional;
        let (threads, intra_op) = if split { (self.threads, 1) } else { (1, self.threads) };
        SplitBatch::load(ChunkPlan::fixed(batch, threads, rows_per_call), &call, |g| self.executable(g, intra_op))
    }
}

fn to_value(t: HostTensor) -> ort::Result<DynValue> {
    Ok(match t {
        HostTensor::F32(a) => Tensor::from_array(a)?.into_dyn(),
        HostTensor::F64(a) => Tensor::from_array(a)?.into_dyn(),
        HostTensor::I64(a) => Tensor::from_array(a)?.into_dyn(),
    })
}

impl Executable for OrtExecutable {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        let err = |e: ort::Error| Error::Runtime {
            backend: "onnxruntime".into(),
            graph: self.graph.clone(),
            message: e.to_string().replace('\n', " "),
        };
        // The session gets views: an output that is a graph input shares
        // the input's buffer, which must outlive the outputs' extraction.
        let tensors: Vec<DynValue> = inputs.into_iter().map(to_value).collect::<ort::Result<_>>().map_err(err)?;
        let values: Vec<(String, SessionInputValue)> =
            self.inputs.iter().cloned().zip(tensors.iter().map(SessionInputValue::from)).collect();
        let outs = self.session.run(values).map_err(err)?;
        let mut result = Vec::with_capacity(self.outputs.len());
        for name in &self.outputs {
            let v = &outs[name.as_str()];
            let t = if let Ok(a) = v.try_extract_array::<f32>() {
                HostTensor::F32(a.to_owned())
            } else if let Ok(a) = v.try_extract_array::<f64>() {
                HostTensor::F64(a.to_owned())
            } else if let Ok(a) = v.try_extract_array::<half::f16>() {
                // A model file's half-precision output (read exactly in f32).
                HostTensor::F32(a.mapv(f32::from))
            } else if let Ok(a) = v.try_extract_array::<half::bf16>() {
                HostTensor::F32(a.mapv(f32::from))
            } else {
                let a: ArrayD<i64> = v.try_extract_array::<i64>().map_err(err)?.to_owned();
                HostTensor::I64(a)
            };
            result.push(t);
        }
        Ok(result)
    }
}
