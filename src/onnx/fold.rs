//! Constant folding: a node whose inputs are all constants is evaluated at
//! import time by tract itself, so every op tract knows folds.

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto};
use tract_onnx::prelude::*;

use super::proto::{encode_const, ConstTensor};

/// Evaluates `node` on constant inputs; one constant per output.
pub fn fold(node: &NodeProto, inputs: &[ConstTensor], opset: i64) -> Result<Vec<ConstTensor>, String> {
    check_gather(node, inputs)?;
    check_layout_rank(node, inputs)?;
    let names: Vec<&String> = node.input.iter().filter(|n| !n.is_empty()).collect();
    let initializer = names.iter().zip(inputs).map(|(n, c)| encode_const(n, c)).collect();
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

fn to_const(t: &Tensor) -> Result<ConstTensor, String> {
    let err = |e: TractError| tract_message(&e);
    if t.datum_type().is_float() {
        let c = t.cast_to::<f32>().map_err(err)?;
        Ok(ConstTensor::Float(c.to_plain_array_view::<f32>().map_err(err)?.to_owned()))
    } else {
        let c = t.cast_to::<i64>().map_err(err)?;
        Ok(ConstTensor::Int(c.to_plain_array_view::<i64>().map_err(err)?.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, ArrayD};

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
        let a = ConstTensor::Int(arr1(&[1i64]).into_dyn());
        let b = ConstTensor::Int(arr1(&[-1i64]).into_dyn());
        let out = fold(&node, &[a, b], 13).unwrap();
        let want: ArrayD<i64> = arr1(&[1, -1]).into_dyn();
        assert_eq!(out, vec![ConstTensor::Int(want)]);
    }

    #[test]
    fn a_batch_norm_of_a_rank_1_constant_is_an_error_not_an_abort() {
        let node = NodeProto {
            op_type: "BatchNormalization".into(),
            input: ["x", "g", "b", "m", "v"].map(String::from).to_vec(),
            output: vec!["y".into()],
            ..Default::default()
        };
        let v = ConstTensor::Float(arr1(&[1.0f32, 2.0]).into_dyn());
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
        let a = ConstTensor::Int(arr1(&[1i64, 2, 3, 4]).into_dyn());
        let i = ConstTensor::Int(arr1(&[100i64]).into_dyn());
        assert_eq!(fold(&node, &[a.clone(), i], 13).unwrap_err(), "index 100 outside the 4 entries of axis 0");
        let i = ConstTensor::Int(arr1(&[-4i64, 3]).into_dyn());
        assert_eq!(fold(&node, &[a, i], 13).unwrap(), vec![ConstTensor::Int(arr1(&[1i64, 4]).into_dyn())]);
    }
}
