//! Running a batch in chunks: the graph is built for a chunk of the batch,
//! each worker thread owns one executable and runs its share of the chunks
//! in turn, and the outputs are joined. Every input and output's leading
//! axis is the batch (or a multiple of it: `K` tangents per sample), split in
//! proportion. Rows never interact, so the result does not depend on the
//! split.

use ndarray::{Axis, Slice};

use super::{Executable, HostTensor};
use crate::error::{Error, Result};
use crate::writer::builder::OnnxGraph;

/// Activation floats one call should touch at most: about a third of a 1 MiB
/// L2 cache, leaving room for the tangents and gradients the step graph keeps
/// beside them. Measured on the MNIST CNN (17,602 floats a row: 4-row calls
/// are fastest) and the 1,500-neuron random net (4,502: 16 rows).
pub const CHUNK_FLOATS: usize = 81_920;

/// How a batch is cut: `chunks` calls of `rows` rows (the last one padded),
/// spread round-robin over `workers` executables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    pub batch: usize,
    pub rows: usize,
    pub chunks: usize,
    pub workers: usize,
}

impl ChunkPlan {
    /// The plan for `batch` rows on `threads` threads: rows per call the
    /// largest power of two whose activations fit [`CHUNK_FLOATS`] (at least
    /// one, and no more than a thread's share), then balanced so that the
    /// last call carries as little padding as possible.
    pub fn new(batch: usize, threads: usize, floats_per_row: usize) -> Self {
        let batch = batch.max(1);
        let fit = (CHUNK_FLOATS / floats_per_row.max(1)).max(1);
        let fit = if fit.is_power_of_two() { fit } else { fit.next_power_of_two() / 2 };
        let share = batch.div_ceil(threads.clamp(1, batch));
        let chunks = batch.div_ceil(fit.min(share));
        let rows = batch.div_ceil(chunks);
        ChunkPlan { batch, rows, chunks, workers: threads.clamp(1, chunks) }
    }

    /// The plan for `batch` rows run as calls of exactly `rows` rows (the
    /// last one padded), whatever the batch and the threads: the cut of a
    /// batch-invariant run.
    pub fn fixed(batch: usize, threads: usize, rows: usize) -> Self {
        let (batch, rows) = (batch.max(1), rows.max(1));
        let chunks = batch.div_ceil(rows);
        ChunkPlan { batch, rows, chunks, workers: threads.clamp(1, chunks) }
    }
}

/// Rows of every call in a batch-invariant run: one. A backend picks its
/// kernels by a call's shape and a row's place in it: on tract the MNIST
/// CNN's input gradient differs in the last bits between a row at an even
/// and at an odd position of a call (its forward pass does not). With one
/// row per call, a row's result depends on that row alone.
pub const INVARIANT_ROWS: usize = 1;

pub struct SplitBatch {
    workers: Vec<Box<dyn Executable>>,
    plan: ChunkPlan,
}

impl SplitBatch {
    fn new(workers: Vec<Box<dyn Executable>>, plan: ChunkPlan) -> Self {
        SplitBatch { workers, plan }
    }

    /// Loads `plan.workers` executables of `graph`, built for `plan.rows`
    /// rows, with `load`.
    pub fn load(
        plan: ChunkPlan,
        graph: &OnnxGraph,
        load: impl Fn(&OnnxGraph) -> Result<Box<dyn Executable>>,
    ) -> Result<Box<dyn Executable>> {
        let workers = (0..plan.workers).map(|_| load(graph)).collect::<Result<Vec<_>>>()?;
        Ok(Box::new(SplitBatch::new(workers, plan)))
    }

    /// Runs the chunks of `plan` (at most the loaded plan's workers) and
    /// joins their outputs.
    fn run_plan(&mut self, inputs: Vec<HostTensor>, plan: ChunkPlan) -> Result<Vec<HostTensor>> {
        let step = plan.workers.min(self.workers.len()).max(1);
        let shares: Vec<Result<ChunkOutputs>> = if step == 1 {
            vec![run_share(self.workers[0].as_mut(), &inputs, plan, 0, 1)]
        } else {
            std::thread::scope(|scope| {
                let inputs = &inputs;
                let handles: Vec<_> = self.workers[..step]
                    .iter_mut()
                    .enumerate()
                    .map(|(w, exe)| scope.spawn(move || run_share(exe.as_mut(), inputs, plan, w, step)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(Error::internal("a worker thread panicked"))))
                    .collect()
            })
        };
        let mut per_chunk: ChunkOutputs =
            shares.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
        per_chunk.sort_by_key(|(c, _)| *c);
        let outputs = per_chunk.first().map_or(0, |(_, o)| o.len());
        let mut joined = Vec::with_capacity(outputs);
        for o in 0..outputs {
            let parts: Vec<HostTensor> = per_chunk
                .iter_mut()
                .map(|(_, c)| std::mem::replace(&mut c[o], HostTensor::F32(Default::default())))
                .collect();
            joined.push(join(parts, plan.rows, plan.batch)?);
        }
        Ok(joined)
    }
}

/// The outputs of some chunks, each with its chunk index.
type ChunkOutputs = Vec<(usize, Vec<HostTensor>)>;

/// Runs chunks `first, first + step, ...` on one executable, in order.
fn run_share(
    exe: &mut dyn Executable,
    inputs: &[HostTensor],
    plan: ChunkPlan,
    first: usize,
    step: usize,
) -> Result<ChunkOutputs> {
    (first..plan.chunks)
        .step_by(step)
        .map(|c| {
            let part = inputs.iter().map(|t| take_rows(t, c * plan.rows, plan.rows, plan.batch)).collect();
            Ok((c, exe.run(part)?))
        })
        .collect()
}

/// Rows `[from, from + len)` of a tensor of `batch` rows whose leading axis
/// holds `per_row` entries per row, padded by repeating the last row.
pub fn take_rows(t: &HostTensor, from: usize, len: usize, batch: usize) -> HostTensor {
    fn take<T: Clone>(a: &ndarray::ArrayD<T>, from: usize, len: usize, batch: usize) -> ndarray::ArrayD<T> {
        let lead = a.shape().first().copied().unwrap_or(1);
        let per_row = (lead / batch.max(1)).max(1);
        if from + len <= batch {
            // No padding: a contiguous block of rows.
            return a.slice_axis(Axis(0), Slice::from(from * per_row..(from + len) * per_row)).to_owned();
        }
        let idx: Vec<usize> =
            (from..from + len).map(|r| r.min(batch - 1)).flat_map(|r| r * per_row..(r + 1) * per_row).collect();
        a.select(Axis(0), &idx)
    }
    match t {
        HostTensor::F32(a) => HostTensor::F32(take(a, from, len, batch)),
        HostTensor::F64(a) => HostTensor::F64(take(a, from, len, batch)),
        HostTensor::I64(a) => HostTensor::I64(take(a, from, len, batch)),
    }
}

/// Joins chunk outputs, keeping `batch` rows (dropping the padding).
fn join(parts: Vec<HostTensor>, chunk: usize, batch: usize) -> Result<HostTensor> {
    fn cat<T: Clone>(parts: Vec<ndarray::ArrayD<T>>, chunk: usize, batch: usize) -> Result<ndarray::ArrayD<T>> {
        let lead = parts.first().and_then(|p| p.shape().first().copied()).unwrap_or(1);
        let per_row = (lead / chunk.max(1)).max(1);
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        let all = ndarray::concatenate(Axis(0), &views).map_err(|e| Error::internal(format!("joining chunks: {e}")))?;
        Ok(all.slice_axis(Axis(0), Slice::from(0..batch * per_row)).to_owned())
    }
    match parts.first() {
        Some(HostTensor::F32(_)) => {
            Ok(HostTensor::F32(cat(parts.into_iter().map(|p| p.into_f32()).collect(), chunk, batch)?))
        }
        Some(HostTensor::F64(_)) => {
            Ok(HostTensor::F64(cat(parts.into_iter().map(|p| p.to_f64()).collect(), chunk, batch)?))
        }
        Some(HostTensor::I64(_)) => {
            let ints = parts
                .into_iter()
                .map(|p| match p {
                    HostTensor::I64(a) => a,
                    other => other.to_f64().mapv(|v| v as i64),
                })
                .collect();
            Ok(HostTensor::I64(cat(ints, chunk, batch)?))
        }
        None => Err(Error::internal("no chunk output")),
    }
}

impl Executable for SplitBatch {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        self.run_plan(inputs, self.plan)
    }

    /// Only the calls that `rows` rows need, each of the loaded plan's rows
    /// (the last one padded): a row meets the same call shape as in a full
    /// batch.
    fn run_rows(&mut self, inputs: Vec<HostTensor>, rows: usize) -> Result<Vec<HostTensor>> {
        if rows == 0 || rows > self.plan.batch {
            return Err(Error::internal(format!(
                "a call of {rows} rows on an executable loaded for {} rows",
                self.plan.batch
            )));
        }
        let plan = ChunkPlan::fixed(rows, self.workers.len(), self.plan.rows);
        self.run_plan(inputs, plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    struct Double;
    impl Executable for Double {
        fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
            Ok(inputs.into_iter().map(|t| HostTensor::F32(t.into_f32() * 2.0)).collect())
        }
    }

    #[test]
    fn splits_and_joins_rows_and_tangent_rows() {
        let batch = 5;
        let x = ArrayD::from_shape_vec(IxDyn(&[5, 2]), (0..10).map(|v| v as f32).collect()).unwrap();
        let tangents = ArrayD::from_shape_vec(IxDyn(&[15, 1]), (0..15).map(|v| v as f32).collect()).unwrap();
        for (workers, rows, chunks) in [(2, 3, 2), (1, 2, 3), (2, 1, 5)] {
            let plan = ChunkPlan { batch, rows, chunks, workers };
            let exes: Vec<Box<dyn Executable>> = (0..workers).map(|_| Box::new(Double) as _).collect();
            let mut s = SplitBatch::new(exes, plan);
            let out = s.run(vec![HostTensor::F32(x.clone()), HostTensor::F32(tangents.clone())]).unwrap();
            assert_eq!(out[0].to_f32(), &x * 2.0, "{plan:?}");
            assert_eq!(out[1].to_f32(), &tangents * 2.0, "{plan:?}");
        }
    }

    /// Doubles its inputs and counts its calls.
    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Executable for Counting {
        fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Double.run(inputs)
        }
    }

    #[test]
    fn a_call_of_fewer_rows_runs_only_the_calls_those_rows_need() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for (threads, rows_per_call) in [(1, 1), (2, 1), (2, 4)] {
            let plan = ChunkPlan::fixed(64, threads, rows_per_call);
            let exes: Vec<Box<dyn Executable>> =
                (0..plan.workers).map(|_| Box::new(Counting(calls.clone())) as _).collect();
            let mut s = SplitBatch::new(exes, plan);
            calls.store(0, std::sync::atomic::Ordering::SeqCst);
            let x = ArrayD::from_shape_vec(IxDyn(&[5, 2]), (0..10).map(|v| v as f32).collect()).unwrap();
            let out = s.run_rows(vec![HostTensor::F32(x.clone())], 5).unwrap();
            assert_eq!(out[0].to_f32(), &x * 2.0, "{plan:?}");
            assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5usize.div_ceil(rows_per_call), "{plan:?}");
            assert!(s.run_rows(vec![HostTensor::F32(x)], 65).is_err(), "more rows than loaded");
        }
    }

    #[test]
    fn chunk_plans_fit_the_cache_and_the_threads() {
        // The MNIST CNN: 4-row calls; one thread runs all 16, two share them.
        let mnist = 17_602;
        assert_eq!(ChunkPlan::new(64, 1, mnist), ChunkPlan { batch: 64, rows: 4, chunks: 16, workers: 1 });
        assert_eq!(ChunkPlan::new(64, 2, mnist), ChunkPlan { batch: 64, rows: 4, chunks: 16, workers: 2 });
        // A small net: the thread share bounds the chunk, not the cache.
        assert_eq!(ChunkPlan::new(64, 2, 386), ChunkPlan { batch: 64, rows: 32, chunks: 2, workers: 2 });
        assert_eq!(ChunkPlan::new(64, 1, 386), ChunkPlan { batch: 64, rows: 64, chunks: 1, workers: 1 });
        // Balanced: 5 rows in 4-row calls are two calls of 3, not 4 + 1.
        assert_eq!(ChunkPlan::new(5, 1, mnist), ChunkPlan { batch: 5, rows: 3, chunks: 2, workers: 1 });
        // A row larger than the budget still runs, one row a call.
        assert_eq!(ChunkPlan::new(3, 1, 10 * CHUNK_FLOATS).rows, 1);
        assert_eq!(ChunkPlan::new(1, 4, mnist), ChunkPlan { batch: 1, rows: 1, chunks: 1, workers: 1 });
    }
}
