//! Typed access to a node's attributes, with errors that name the attribute.

use tract_onnx::pb::{AttributeProto, NodeProto};

use super::proto::ConstTensor;

fn find<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    find(node, name).map_or(default, |a| a.i)
}

pub fn float(node: &NodeProto, name: &str, default: f32) -> f32 {
    find(node, name).map_or(default, |a| a.f)
}

pub fn has(node: &NodeProto, name: &str) -> bool {
    find(node, name).is_some()
}

pub fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    find(node, name).map(|a| a.ints.clone())
}

pub fn string(node: &NodeProto, name: &str) -> Option<String> {
    find(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

pub fn tensor<'a>(node: &'a NodeProto, name: &str) -> Option<&'a tract_onnx::pb::TensorProto> {
    find(node, name).and_then(|a| a.t.as_ref())
}

/// A list of non-negative integers (kernel sizes, strides, pads).
pub fn usizes(node: &NodeProto, name: &str) -> Result<Option<Vec<usize>>, String> {
    ints(node, name)
        .map(|v| {
            v.iter()
                .map(|&i| usize::try_from(i).map_err(|_| format!("attribute '{name}': negative value {i}")))
                .collect()
        })
        .transpose()
}

/// The value of a `Constant` node given by its other value attributes
/// (`value_float`, `value_floats`, `value_int`, `value_ints`): a scalar or a
/// list, float or integer.
pub fn constant_value(node: &NodeProto) -> Option<ConstTensor> {
    use ndarray::{ArrayD, IxDyn};
    if let Some(a) = find(node, "value_float") {
        return Some(ConstTensor::Float(ArrayD::from_elem(IxDyn(&[]), a.f)));
    }
    if let Some(a) = find(node, "value_floats") {
        return Some(ConstTensor::Float(ArrayD::from_shape_vec(IxDyn(&[a.floats.len()]), a.floats.clone()).ok()?));
    }
    if let Some(a) = find(node, "value_int") {
        return Some(ConstTensor::Int(ArrayD::from_elem(IxDyn(&[]), a.i)));
    }
    if let Some(a) = find(node, "value_ints") {
        return Some(ConstTensor::Int(ArrayD::from_shape_vec(IxDyn(&[a.ints.len()]), a.ints.clone()).ok()?));
    }
    None
}
