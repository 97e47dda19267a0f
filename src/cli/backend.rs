//! The backend flags shared by every command that runs graphs.

use std::path::PathBuf;

use adr_onnx::runtime::select::{BackendChoice, BackendRequest};
use adr_onnx::runtime::Device;

#[derive(clap::Args, Debug, Clone)]
pub struct BackendArgs {
    /// Which runtime runs the graphs: ONNX Runtime when its library is found (auto), tract, or ONNX Runtime.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    /// Where ONNX Runtime runs: cpu, cuda or cuda:N.
    #[arg(long)]
    device: Option<Device>,
    /// The ONNX Runtime library (else ORT_DYLIB_PATH, the onnxruntime Python package, the system path).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Threads per graph evaluation.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

impl BackendArgs {
    pub fn request(&self) -> BackendRequest {
        BackendRequest {
            choice: self.backend,
            device: self.device.unwrap_or(Device::Cpu),
            ort_lib: self.ort_lib.clone(),
            threads: self.threads.max(1),
        }
    }
}
