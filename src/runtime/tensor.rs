//! Host tensors exchanged with a runtime: f32 (running), f64 (checks) and
//! i64 (indices).

use ndarray::ArrayD;

#[derive(Debug, Clone, PartialEq)]
pub enum HostTensor {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    I64(ArrayD<i64>),
}

impl HostTensor {
    pub fn shape(&self) -> &[usize] {
        match self {
            HostTensor::F32(a) => a.shape(),
            HostTensor::F64(a) => a.shape(),
            HostTensor::I64(a) => a.shape(),
        }
    }

    /// The values as f32 (f64 rounded, i64 converted).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            HostTensor::F32(a) => a.clone(),
            HostTensor::F64(a) => a.mapv(|v| v as f32),
            HostTensor::I64(a) => a.mapv(|v| v as f32),
        }
    }

    /// The values as f64.
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            HostTensor::F32(a) => a.mapv(f64::from),
            HostTensor::F64(a) => a.clone(),
            HostTensor::I64(a) => a.mapv(|v| v as f64),
        }
    }

    pub fn into_f32(self) -> ArrayD<f32> {
        match self {
            HostTensor::F32(a) => a,
            other => other.to_f32(),
        }
    }
}

impl From<ArrayD<f32>> for HostTensor {
    fn from(a: ArrayD<f32>) -> Self {
        HostTensor::F32(a)
    }
}

impl From<ArrayD<f64>> for HostTensor {
    fn from(a: ArrayD<f64>) -> Self {
        HostTensor::F64(a)
    }
}
