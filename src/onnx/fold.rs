//! Constant folding: a node whose inputs are all constants is evaluated at
//! import time by tract itself, so every op tract knows folds.

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto};
use tract_onnx::prelude::*;

use super::proto::{encode_const, ConstTensor};

/// Evaluates `node` on constant inputs; one constant per output.
pub fn fold(node: &NodeProto, inputs: &[ConstTensor], opset: i64) -> Result<Vec<ConstTensor>, String> {
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
    let values = run().map_err(|e| format!("{e:#}"))?;
    values.iter().map(|t| to_const(t)).collect()
}

fn to_const(t: &Tensor) -> Result<ConstTensor, String> {
    let err = |e: TractError| format!("{e:#}");
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
}
