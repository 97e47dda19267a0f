//! Running emitted ONNX graphs: one trait, so that the optimiser never knows
//! whether tract or ONNX Runtime runs them.

#[cfg(feature = "onnxruntime")]
pub mod onnxruntime;
pub mod ort_library;
pub mod parallel;
pub mod segmented;
pub mod select;
pub mod tensor;
pub mod tract;

pub use tensor::HostTensor;

use std::str::FromStr;

use crate::error::Result;
use crate::writer::builder::OnnxGraph;

/// Where the graphs run: `cpu`, `cuda` (device 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(u32),
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<u32>) {
                Some(Ok(n)) => Ok(Device::Cuda(n)),
                _ => Err(format!("unknown device '{s}': expected cpu, cuda or cuda:N")),
            },
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A loaded graph, ready to run on inputs in the graph's input order.
pub trait Executable: Send {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>>;

    /// Runs a call of `rows` rows, at most the batch the executable was
    /// loaded for. An executable of one whole batch (the default) runs only
    /// that batch; one loaded by [`Backend::load_fixed_rows`] runs exactly
    /// the calls the rows need, so that a call of fewer rows costs less.
    fn run_rows(&mut self, inputs: Vec<HostTensor>, rows: usize) -> Result<Vec<HostTensor>> {
        let _ = rows;
        self.run(inputs)
    }
}

/// A runtime that can load emitted graphs.
pub trait Backend: Send + Sync {
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>>;

    /// Threads the host work beside the graphs (a dense chain's normaliser
    /// updates) may use: the threads the graphs were given.
    fn host_threads(&self) -> usize {
        1
    }

    /// Loads the graph `build(rows)` serving `batch` rows, each row touching
    /// about `floats_per_row` activation floats; a backend that runs batches
    /// in chunks builds it for one chunk.
    fn load_batched(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        floats_per_row: usize,
    ) -> Result<Box<dyn Executable>> {
        let _ = floats_per_row;
        self.load(&build(batch))
    }

    /// Loads the graph for `batch` rows as calls of exactly
    /// `rows_per_call` rows each (`build(rows_per_call)`, the last call
    /// padded), so that a row's result never depends on how many rows share
    /// its call ([`parallel::INVARIANT_ROWS`]).
    fn load_fixed_rows(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        rows_per_call: usize,
    ) -> Result<Box<dyn Executable>> {
        let plan = parallel::ChunkPlan::fixed(batch, 1, rows_per_call);
        parallel::SplitBatch::load(plan, &build(plan.rows), |g| self.load(g))
    }
}

/// A backend whose batches run in cache-sized chunks spread over `threads`
/// threads: tract's per-row cost grows once a call's activations leave the
/// CPU cache, so a 64-row step runs fastest as sixteen 4-row calls.
pub struct Threaded {
    pub inner: Box<dyn Backend>,
    pub threads: usize,
}

impl Backend for Threaded {
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        self.inner.load(graph)
    }

    fn host_threads(&self) -> usize {
        self.threads.max(1)
    }

    fn load_batched(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        floats_per_row: usize,
    ) -> Result<Box<dyn Executable>> {
        let plan = parallel::ChunkPlan::new(batch, self.threads, floats_per_row);
        if plan.chunks == 1 {
            return self.inner.load(&build(batch));
        }
        parallel::SplitBatch::load(plan, &build(plan.rows), |g| self.inner.load(g))
    }

    fn load_fixed_rows(
        &self,
        build: &dyn Fn(usize) -> OnnxGraph,
        batch: usize,
        rows_per_call: usize,
    ) -> Result<Box<dyn Executable>> {
        let plan = parallel::ChunkPlan::fixed(batch, self.threads, rows_per_call);
        parallel::SplitBatch::load(plan, &build(plan.rows), |g| self.inner.load(g))
    }
}

/// Runs `exe` (loaded from `graph`) with inputs given by name; returns the
/// outputs by name.
pub fn run_named(
    exe: &mut dyn Executable,
    graph: &OnnxGraph,
    inputs: std::collections::HashMap<String, HostTensor>,
) -> Result<std::collections::HashMap<String, HostTensor>> {
    let outs = exe.run(ordered_inputs(graph, inputs)?)?;
    Ok(named_outputs(graph, outs))
}

/// [`run_named`] for a call of `rows` rows ([`Executable::run_rows`]).
pub fn run_named_rows(
    exe: &mut dyn Executable,
    graph: &OnnxGraph,
    inputs: std::collections::HashMap<String, HostTensor>,
    rows: usize,
) -> Result<std::collections::HashMap<String, HostTensor>> {
    let outs = exe.run_rows(ordered_inputs(graph, inputs)?, rows)?;
    Ok(named_outputs(graph, outs))
}

fn named_outputs(graph: &OnnxGraph, outs: Vec<HostTensor>) -> std::collections::HashMap<String, HostTensor> {
    graph.outputs.iter().map(|o| o.name.clone()).zip(outs).collect()
}

/// The inputs given by name, in the graph's input order.
fn ordered_inputs(
    graph: &OnnxGraph,
    mut inputs: std::collections::HashMap<String, HostTensor>,
) -> Result<Vec<HostTensor>> {
    graph
        .inputs
        .iter()
        .map(|spec| {
            inputs.remove(&spec.name).ok_or_else(|| crate::Error::Runtime {
                backend: "any".into(),
                graph: graph.name.clone(),
                message: format!("input '{}' not given", spec.name),
            })
        })
        .collect()
}
