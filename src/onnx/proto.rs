//! Reading an ONNX file into tract's protobuf types, and decoding its
//! constant tensors (initializers, `Constant` nodes), with external data
//! confined to the model's folder.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use prost::Message;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::{ModelProto, TensorProto};

use crate::error::{clip, Error, Result};

/// A constant tensor met during import: weights, or integer shape data.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstTensor {
    Float(ArrayD<f32>),
    Int(ArrayD<i64>),
}

impl ConstTensor {
    pub fn shape(&self) -> &[usize] {
        match self {
            ConstTensor::Float(a) => a.shape(),
            ConstTensor::Int(a) => a.shape(),
        }
    }

    /// The values as floats (integers converted).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            ConstTensor::Float(a) => a.clone(),
            ConstTensor::Int(a) => a.mapv(|v| v as f32),
        }
    }

    /// The values as integers, when they are integers.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            ConstTensor::Int(a) => Some(a.iter().copied().collect()),
            ConstTensor::Float(_) => None,
        }
    }
}

/// Encodes f32 values as an ONNX tensor (raw little-endian data).
pub fn encode_f32(name: &str, a: &ArrayD<f32>) -> TensorProto {
    encode_raw(name, a.shape(), DataType::Float, a.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Encodes f64 values as an ONNX tensor.
pub fn encode_f64(name: &str, a: &ArrayD<f64>) -> TensorProto {
    encode_raw(name, a.shape(), DataType::Double, a.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Encodes i64 values as an ONNX tensor.
pub fn encode_i64(name: &str, a: &ArrayD<i64>) -> TensorProto {
    encode_raw(name, a.shape(), DataType::Int64, a.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Encodes an import-time constant.
pub fn encode_const(name: &str, c: &ConstTensor) -> TensorProto {
    match c {
        ConstTensor::Float(a) => encode_f32(name, a),
        ConstTensor::Int(a) => encode_i64(name, a),
    }
}

/// `c` as a tensor of the ONNX element type `dtype` it was read as (a
/// boolean or an integer type the importer keeps as int64), so that an op
/// folded on it sees the type the model gave it; float32 or int64 for
/// any other type.
pub fn encode_const_as(name: &str, c: &ConstTensor, dtype: DataType) -> TensorProto {
    let ConstTensor::Int(a) = c else { return encode_const(name, c) };
    let bytes: Vec<u8> = match dtype {
        DataType::Bool | DataType::Uint8 => a.iter().map(|&v| v as u8).collect(),
        DataType::Int8 => a.iter().map(|&v| v as i8 as u8).collect(),
        DataType::Int16 => a.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect(),
        DataType::Uint16 => a.iter().flat_map(|&v| (v as u16).to_le_bytes()).collect(),
        DataType::Int32 => a.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect(),
        DataType::Uint32 => a.iter().flat_map(|&v| (v as u32).to_le_bytes()).collect(),
        _ => return encode_const(name, c),
    };
    encode_raw(name, a.shape(), dtype, bytes)
}

fn encode_raw(name: &str, shape: &[usize], dtype: DataType, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: dtype as i32,
        raw_data: raw,
        ..Default::default()
    }
}

/// Reads and decodes an ONNX file.
pub fn read_model(path: &Path) -> Result<ModelProto> {
    let bytes = crate::input::read(path)?;
    decode_model(path, &bytes)
}

/// Decodes ONNX bytes; `path` is only used in errors.
pub fn decode_model(path: &Path, bytes: &[u8]) -> Result<ModelProto> {
    let not_onnx = |reason: String| Error::NotOnnx { path: path.to_path_buf(), reason };
    if bytes.is_empty() {
        return Err(not_onnx("the file is empty".into()));
    }
    let model = ModelProto::decode(bytes).map_err(|e| not_onnx(format!("protobuf decoding failed ({e})")))?;
    let graph = model.graph.as_ref().ok_or_else(|| not_onnx("it has no graph".into()))?;
    if graph.node.is_empty() && graph.output.is_empty() {
        return Err(not_onnx("its graph has no nodes and no outputs".into()));
    }
    Ok(model)
}

/// Decodes a tensor of the model file `model_path` (external data must stay
/// in its folder).
pub fn decode_tensor(model_path: &Path, t: &TensorProto) -> Result<ConstTensor> {
    let bad = |message: String| Error::Model {
        path: model_path.to_path_buf(),
        message: format!("tensor '{}': {message}", clip(&t.name)),
    };
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} holds more elements than memory can")))?;
    let external;
    let raw: &[u8] = if t.data_location == Some(DataLocation::External as i32) {
        external = read_external(model_path, t)?;
        &external
    } else {
        &t.raw_data
    };
    let dtype = DataType::try_from(t.data_type).map_err(|_| bad(format!("unknown data type {}", t.data_type)))?;
    let floats = |v: Vec<f32>| -> Result<ConstTensor> {
        let n = v.len();
        ArrayD::from_shape_vec(IxDyn(&shape), v)
            .map(ConstTensor::Float)
            .map_err(|_| bad(format!("{n} values for shape {shape:?}")))
    };
    let ints = |v: Vec<i64>| -> Result<ConstTensor> {
        let n = v.len();
        ArrayD::from_shape_vec(IxDyn(&shape), v)
            .map(ConstTensor::Int)
            .map_err(|_| bad(format!("{n} values for shape {shape:?}")))
    };
    let from_raw = |width: usize| -> Result<Vec<[u8; 8]>> {
        if Some(raw.len()) != count.checked_mul(width) {
            return Err(bad(format!("{} bytes of data for {count} elements", raw.len())));
        }
        Ok(raw
            .chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                b
            })
            .collect())
    };
    let use_raw = !raw.is_empty() || count == 0;
    match dtype {
        DataType::Float if use_raw => {
            floats(from_raw(4)?.iter().map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        }
        DataType::Float => floats(t.float_data.clone()),
        DataType::Double if use_raw => floats(from_raw(8)?.iter().map(|b| f64::from_le_bytes(*b) as f32).collect()),
        DataType::Double => floats(t.double_data.iter().map(|&v| v as f32).collect()),
        DataType::Int64 if use_raw => ints(from_raw(8)?.iter().map(|b| i64::from_le_bytes(*b)).collect()),
        DataType::Int64 => ints(t.int64_data.clone()),
        DataType::Int32 if use_raw => {
            ints(from_raw(4)?.iter().map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64).collect())
        }
        DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::Uint8 | DataType::Uint16 | DataType::Bool
            if !use_raw =>
        {
            ints(t.int32_data.iter().map(|&v| v as i64).collect())
        }
        DataType::Int8 => ints(from_raw(1)?.iter().map(|b| b[0] as i8 as i64).collect()),
        DataType::Uint8 | DataType::Bool => ints(from_raw(1)?.iter().map(|b| b[0] as i64).collect()),
        DataType::Int16 => ints(from_raw(2)?.iter().map(|b| i16::from_le_bytes([b[0], b[1]]) as i64).collect()),
        DataType::Uint16 => ints(from_raw(2)?.iter().map(|b| u16::from_le_bytes([b[0], b[1]]) as i64).collect()),
        DataType::Uint32 if use_raw => {
            ints(from_raw(4)?.iter().map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64).collect())
        }
        DataType::Uint32 => ints(t.uint64_data.iter().map(|&v| v as i64).collect()),
        other => Err(bad(format!("element type {} is not supported", other.as_str_name()))),
    }
}

/// Moves every external-data tensor of `model` (initializers and tensor
/// attributes of the main graph's nodes), read from the folder of
/// `model_path` as the importer reads it, into the model: a runtime given
/// the model as bytes would look for the files in its working directory.
pub fn inline_external_data(model_path: &Path, model: &mut ModelProto) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    let constants = graph.node.iter_mut().flat_map(|n| n.attribute.iter_mut()).filter_map(|a| a.t.as_mut());
    for t in graph.initializer.iter_mut().chain(constants) {
        if t.data_location == Some(DataLocation::External as i32) {
            t.raw_data = read_external(model_path, t)?;
            t.external_data.clear();
            t.data_location = Some(DataLocation::Default as i32);
        }
    }
    Ok(())
}

/// Reads the bytes of an external-data tensor, refusing any location that
/// resolves outside the model's folder.
fn read_external(model_path: &Path, t: &TensorProto) -> Result<Vec<u8>> {
    let entry = |key: &str| t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str());
    let bad = |message: String| Error::Model {
        path: model_path.to_path_buf(),
        message: format!("tensor '{}': external data: {message}", clip(&t.name)),
    };
    let location = entry("location").ok_or_else(|| bad("no location".into()))?;
    let outside = || Error::ExternalDataOutside {
        path: model_path.to_path_buf(),
        tensor: t.name.clone(),
        location: location.to_string(),
    };
    let dir = model_dir(model_path);
    let rel = Path::new(location);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(outside());
    }
    let io = |e: std::io::Error| bad(format!("'{}': {e}", clip(location)));
    let dir = dir.canonicalize().map_err(io)?;
    let file = dir.join(rel).canonicalize().map_err(io)?;
    if !file.starts_with(&dir) {
        return Err(outside());
    }
    let parse = |key: &str| -> Result<Option<u64>> {
        entry(key)
            .map(|v| v.parse::<u64>().map_err(|_| bad(format!("{key} '{}' is not a number", clip(v)))))
            .transpose()
    };
    // Read only this tensor's range: exporters put every tensor in one file.
    let mut f = crate::input::open(&file).map_err(|e| bad(format!("'{}': {e}", clip(location))))?;
    let size = f.metadata().map_err(io)?.len();
    let offset = parse("offset")?.unwrap_or(0);
    let length = parse("length")?.unwrap_or(size.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(bad(format!("range {offset}+{length} outside the {size}-byte file '{}'", clip(location))));
    }
    let mut data = vec![0u8; usize::try_from(length).map_err(|_| bad(format!("length {length} too large")))?];
    f.seek(std::io::SeekFrom::Start(offset)).and_then(|_| f.read_exact(&mut data)).map_err(io)?;
    Ok(data)
}

fn model_dir(model_path: &Path) -> PathBuf {
    match model_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_tensor(raw: Vec<u8>, dims: Vec<i64>) -> TensorProto {
        TensorProto { name: "w".into(), dims, data_type: DataType::Float as i32, raw_data: raw, ..Default::default() }
    }

    #[test]
    fn decodes_raw_floats_and_rejects_short_data() {
        let raw: Vec<u8> = [1.0f32, -2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = decode_tensor(Path::new("m.onnx"), &float_tensor(raw.clone(), vec![2])).unwrap();
        assert_eq!(t.to_f32().as_slice().unwrap(), &[1.0, -2.5]);
        let err = decode_tensor(Path::new("m.onnx"), &float_tensor(raw, vec![3])).unwrap_err();
        assert!(err.to_string().contains("tensor 'w'"), "{err}");
    }

    #[test]
    fn refuses_external_data_outside_the_model_folder() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        let mut t = float_tensor(vec![], vec![1]);
        t.data_location = Some(DataLocation::External as i32);
        t.external_data
            .push(tract_onnx::pb::StringStringEntryProto { key: "location".into(), value: "../../etc/passwd".into() });
        let err = decode_tensor(&model, &t).unwrap_err();
        assert!(matches!(err, Error::ExternalDataOutside { .. }), "{err}");
    }

    #[test]
    fn reads_an_external_range_inside_the_model_folder() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        let bytes: Vec<u8> = [9.0f32, 1.5, -3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.path().join("weights.bin"), &bytes).unwrap();
        let external = |offset: &str, length: &str| {
            let mut t = float_tensor(vec![], vec![2]);
            t.data_location = Some(DataLocation::External as i32);
            for (key, value) in [("location", "weights.bin"), ("offset", offset), ("length", length)] {
                t.external_data.push(tract_onnx::pb::StringStringEntryProto { key: key.into(), value: value.into() });
            }
            t
        };
        let t = decode_tensor(&model, &external("4", "8")).unwrap();
        assert_eq!(t.to_f32().as_slice().unwrap(), &[1.5, -3.0]);
        let err = decode_tensor(&model, &external("8", "8")).unwrap_err().to_string();
        assert!(err.contains("tensor 'w'") && err.contains("outside the 12-byte file 'weights.bin'"), "{err}");
        let mut missing = external("0", "8");
        missing.external_data[0].value = "gone.bin".into();
        let err = decode_tensor(&model, &missing).unwrap_err().to_string();
        assert!(err.contains("tensor 'w'") && err.contains("'gone.bin'"), "{err}");
    }

    #[test]
    fn garbage_is_not_onnx() {
        let err = decode_model(Path::new("x.onnx"), b"\xff\xff\xff\xffhello").unwrap_err();
        assert!(matches!(err, Error::NotOnnx { .. }), "{err}");
    }
}
