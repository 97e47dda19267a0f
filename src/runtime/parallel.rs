//! Spreading a batch over threads: the graph is built for a chunk of the
//! batch, one executable per thread runs its chunk, and the outputs are
//! joined. Every input and output's leading axis is the batch (or a multiple
//! of it: `K` tangents per sample), split in proportion. Rows never interact,
//! so the result does not depend on the split.

use ndarray::{Axis, Slice};

use super::{Executable, HostTensor};
use crate::error::{Error, Result};

pub struct SplitBatch {
    chunks: Vec<Box<dyn Executable>>,
    /// Rows of the whole batch and of each chunk.
    batch: usize,
    chunk: usize,
}

impl SplitBatch {
    /// `chunks` executables of a graph built for `chunk` rows, together
    /// serving `batch` rows (the last chunk padded).
    pub fn new(chunks: Vec<Box<dyn Executable>>, batch: usize, chunk: usize) -> Self {
        SplitBatch { chunks, batch, chunk }
    }
}

/// Rows `[from, from + len)` of a tensor whose leading axis holds `per_row`
/// entries per batch row, padded by repeating the last row.
fn rows(t: &HostTensor, from: usize, len: usize, batch: usize) -> HostTensor {
    fn take<T: Clone>(a: &ndarray::ArrayD<T>, from: usize, len: usize, batch: usize) -> ndarray::ArrayD<T> {
        let lead = a.shape().first().copied().unwrap_or(1);
        let per_row = (lead / batch.max(1)).max(1);
        let idx: Vec<usize> = (from..from + len)
            .map(|r| r.min(batch - 1))
            .flat_map(|r| (r * per_row..(r + 1) * per_row).collect::<Vec<_>>())
            .collect();
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
        let all = ndarray::concatenate(Axis(0), &views).map_err(|e| Error::Invalid(format!("joining chunks: {e}")))?;
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
        None => Err(Error::Invalid("no chunk output".into())),
    }
}

impl Executable for SplitBatch {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        let (batch, chunk) = (self.batch, self.chunk);
        let results: Vec<Result<Vec<HostTensor>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .chunks
                .iter_mut()
                .enumerate()
                .map(|(c, exe)| {
                    let part: Vec<HostTensor> = inputs.iter().map(|t| rows(t, c * chunk, chunk, batch)).collect();
                    scope.spawn(move || exe.run(part))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(Error::Invalid("a worker thread panicked".into()))))
                .collect()
        });
        let mut per_chunk: Vec<Vec<HostTensor>> = results.into_iter().collect::<Result<_>>()?;
        let outputs = per_chunk.first().map_or(0, Vec::len);
        let mut joined = Vec::with_capacity(outputs);
        for o in 0..outputs {
            let parts: Vec<HostTensor> = per_chunk
                .iter_mut()
                .map(|c| std::mem::replace(&mut c[o], HostTensor::F32(Default::default())))
                .collect();
            joined.push(join(parts, chunk, batch)?);
        }
        Ok(joined)
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
        let mut s = SplitBatch::new(vec![Box::new(Double), Box::new(Double)], batch, 3);
        let out = s.run(vec![HostTensor::F32(x.clone()), HostTensor::F32(tangents.clone())]).unwrap();
        assert_eq!(out[0].to_f32(), x * 2.0);
        assert_eq!(out[1].to_f32(), tangents * 2.0);
    }
}
