//! Constant folding: a node whose inputs are all constants is evaluated at
//! import time by tract itself, so every op tract knows folds.

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto};
use tract_onnx::prelude::*;

use tract_onnx::pb::tensor_proto::DataType;

use super::proto::{encode_const_as, ConstTensor};

/// Evaluates `node` on constant inputs, each with the ONNX element type it
/// was read as (see [`encode_const_as`]); one constant per output, with
/// its element type.
pub fn fold(
    node: &NodeProto,
    inputs: &[(ConstTensor, DataType)],
    opset: i64,
) -> Result<Vec<(ConstTensor, DataType)>, String> {
    let constants: Vec<ConstTensor> = inputs.iter().map(|(c, _)| c.clone()).collect();
    check_gather(node, &constants)?;
    check_layout_rank(node, &constants)?;
    let names: Vec<&String> = node.input.iter().filter(|n| !n.is_empty()).collect();
    let initializer = names.iter().zip(inputs).map(|(n, (c, dtype))| encode_const_as(n, c, *dtype)).collect();
    let outputs: Vec<&String> = node.output.iter().filter(|n| !n.is_empty()).collect();
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset.max(7) }],
        graph: Some(GraphProto {
            name: "fold".into(),
            node: vec![node.clone()],
            initializer,
            output: outputs.iter().map(|n| ValueInfoProto { name: (*n).clone(), ..Default::default() }).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let run = || -> TractResult<TVec<TValue>> {
        let plan = tract_onnx::onnx().model_for_proto_model(&model)?.into_typed()?.into_runnable()?;
        plan.run(tvec![])
    };
    // tract 0.23.9 panics on some invalid nodes instead of failing (a
    // Gather index past the axis, say); any such panic is an error here.
    let values = crate::contained::contain(run)
        .map_err(|why| format!("tract failed while folding this constant node ({})", crate::error::clip(&why)))?
        .map_err(|e| tract_message(&e))?;
    values.iter().map(|t| to_const(t)).collect()
}

/// tract's error, its start (the node) and end (the cause) kept: it quotes
/// the node's names and op type, which may be of any length.
fn tract_message(e: &TractError) -> String {
    crate::error::clip_middle(&format!("{e:#}"), 2 * crate::error::ECHO_CHARS)
}

/// Refuses a convolution, pooling or normalisation node whose constant
/// tensors lack the batch, channel (and spatial) axes: tract 0.23.9 reads
/// those axes unchecked (`DataFormat::c`), out of bounds.
fn check_layout_rank(node: &NodeProto, inputs: &[ConstTensor]) -> Result<(), String> {
    const SPATIAL: &[&str] = &[
        "Conv",
        "ConvTranspose",
        "ConvInteger",
        "QLinearConv",
        "MaxPool",
        "AveragePool",
        "LpPool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "GlobalLpPool",
        "InstanceNormalization",
        "LRN",
        "MaxRoiPool",
        "DepthToSpace",
        "SpaceToDepth",
    ];
    let least = match node.op_type.as_str() {
        op if SPATIAL.contains(&op) => 3,
        "BatchNormalization" => 2,
        _ => return Ok(()),
    };
    let weights = if node.op_type.starts_with("Conv") { 2 } else { 1 };
    for (k, c) in inputs.iter().enumerate().take(weights) {
        if c.shape().len() < least {
            return Err(format!("input {k} has rank {}; {} needs at least {least}", c.shape().len(), node.op_type));
        }
    }
    Ok(())
}

/// Refuses a Gather whose constant indices fall outside the data's axis,
/// on which tract panics.
fn check_gather(node: &NodeProto, inputs: &[ConstTensor]) -> Result<(), String> {
    let (Some(data), Some(ConstTensor::Int(indices))) = (inputs.first(), inputs.get(1)) else {
        return Ok(());
    };
    if node.op_type != "Gather" {
        return Ok(());
    }
    let rank = data.shape().len() as i64;
    let axis = super::attrs::int(node, "axis", 0);
    let resolved = if axis < 0 { axis + rank } else { axis };
    let Some(&len) = usize::try_from(resolved).ok().and_then(|a| data.shape().get(a)) else {
        return Err(format!("attribute 'axis' = {axis} outside the data's {rank} axes"));
    };
    let len = len as i64;
    match indices.iter().find(|&&i| i < -len || i >= len) {
        Some(i) => Err(format!("index {i} outside the {len} entries of axis {axis}")),
        None => Ok(()),
    }
}

fn to_const(t: &Tensor) -> Result<(ConstTensor, DataType), String> {
    let err = |e: TractError| tract_message(&e);
    if t.datum_type().is_float() {
        let c = t.cast_to::<f32>().map_err(err)?;
        Ok((ConstTensor::Float(c.to_plain_array_view::<f32>().map_err(err)?.to_owned()), DataType::Float))
    } else {
        let c = t.cast_to::<i64>().map_err(err)?;
        let dtype = match t.datum_type() {
            DatumType::Bool => DataType::Bool,
            DatumType::I8 => DataType::Int8,
            DatumType::U8 => DataType::Uint8,
            DatumType::I16 => DataType::Int16,
            DatumType::U16 => DataType::Uint16,
            DatumType::I32 => DataType::Int32,
            DatumType::U32 => DataType::Uint32,
            _ => DataType::Int64,
        };
        Ok((ConstTensor::Int(c.to_plain_array_view::<i64>().map_err(err)?.to_owned()), dtype))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn folds_a_shape_computation() {
        let node = NodeProto {
            op_type: "Concat".into(),
            input: vec!["a".into(), "b".into()],
            output: vec!["c".into()],
            attribute: vec![tract_onnx::pb::AttributeProto {
                name: "axis".into(),
                i: 0,
                r#type: 2,
                ..Default::default()
            }],
            ..Default::default()
        };
        let a = int(&[1]);
        let b = int(&[-1]);
        let out = fold(&node, &[a, b], 13).unwrap();
        assert_eq!(out, vec![int(&[1, -1])]);
    }

    #[test]
    fn a_batch_norm_of_a_rank_1_constant_is_an_error_not_an_abort() {
        let node = NodeProto {
            op_type: "BatchNormalization".into(),
            input: ["x", "g", "b", "m", "v"].map(String::from).to_vec(),
            output: vec!["y".into()],
            ..Default::default()
        };
        let v = (ConstTensor::Float(arr1(&[1.0f32, 2.0]).into_dyn()), DataType::Float);
        let err = fold(&node, &[v.clone(), v.clone(), v.clone(), v.clone(), v], 13).unwrap_err();
        assert_eq!(err, "input 0 has rank 1; BatchNormalization needs at least 2");
    }

    #[test]
    fn a_gather_past_the_axis_is_an_error_not_a_panic() {
        let node = NodeProto {
            op_type: "Gather".into(),
            input: vec!["a".into(), "i".into()],
            output: vec!["c".into()],
            ..Default::default()
        };
        let a = int(&[1, 2, 3, 4]);
        assert_eq!(
            fold(&node, &[a.clone(), int(&[100])], 13).unwrap_err(),
            "index 100 outside the 4 entries of axis 0"
        );
        assert_eq!(fold(&node, &[a, int(&[-4, 3])], 13).unwrap(), vec![int(&[1, 4])]);
    }

    /// An int64 constant, as the importer reads one.
    fn int(v: &[i64]) -> (ConstTensor, DataType) {
        (ConstTensor::Int(arr1(v).into_dyn()), DataType::Int64)
    }

    fn node(op: &str, inputs: &[&str]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["out".into()],
            ..Default::default()
        }
    }

    /// Constants keep their ONNX element types through a fold: a Where on
    /// an Equal's booleans (PyTorch's shape arithmetic), on a boolean
    /// initializer, and a DequantizeLinear of int8 weights fold, where
    /// booleans and int8 read back as int64 could not.
    #[test]
    fn booleans_and_narrow_integers_fold_with_their_types() {
        let equal = fold(&node("Equal", &["a", "b"]), &[int(&[2, -1, 3]), int(&[-1, -1, -1])], 13).unwrap();
        assert_eq!(equal, vec![(ConstTensor::Int(arr1(&[0i64, 1, 0]).into_dyn()), DataType::Bool)]);
        let cond = equal[0].clone();
        let picked = fold(&node("Where", &["c", "a", "b"]), &[cond, int(&[1, 1, 1]), int(&[2, 5, 7])], 13).unwrap();
        assert_eq!(picked, vec![int(&[2, 1, 7])]);
        let weights = (ConstTensor::Int(arr1(&[-3i64, 0, 5]).into_dyn()), DataType::Int8);
        let scale = (ConstTensor::Float(ndarray::arr0(0.5f32).into_dyn()), DataType::Float);
        let zero = (ConstTensor::Int(ndarray::arr0(1i64).into_dyn()), DataType::Int8);
        let dq = fold(&node("DequantizeLinear", &["w", "s", "z"]), &[weights, scale, zero], 13).unwrap();
        assert_eq!(dq, vec![(ConstTensor::Float(arr1(&[-2.0f32, -0.5, 2.0]).into_dyn()), DataType::Float)]);
    }
}
