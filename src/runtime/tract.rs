//! The tract backend: pure Rust, always built, the static binary's engine.

use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::{AttributeProto, ModelProto, NodeProto};
use tract_onnx::prelude::*;

use super::{Backend, Executable, HostTensor};
use crate::error::{Error, Result};
use crate::writer::builder::{attr_ints, OnnxGraph};

#[derive(Debug, Clone, Copy, Default)]
pub struct TractBackend;

struct TractExecutable {
    graph: String,
    plan: Arc<TypedRunnableModel>,
}

/// tract's error on `graph`, in one line.
fn runtime_error(graph: &str, e: TractError) -> Error {
    Error::Runtime { backend: "tract".into(), graph: graph.to_string(), message: format!("{e:#}").replace('\n', " ") }
}

impl TractBackend {
    /// Loads `graph` in one piece.
    pub fn load_whole(graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        let fixed = read_as_onnx_defines(&graph.model);
        let plan = tract_onnx::onnx()
            .model_for_proto_model(fixed.as_ref().unwrap_or(&graph.model))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| runtime_error(&graph.name, e))?;
        Ok(Box::new(TractExecutable { graph: graph.name.clone(), plan }))
    }
}

/// Whether `node` is the standard ONNX op `op_type`.
fn is_onnx_op(node: &NodeProto, op_type: &str) -> bool {
    node.op_type == op_type && (node.domain.is_empty() || node.domain == "ai.onnx")
}

/// Whether `node` is a ConstantOfShape without a `value`.
fn default_fill(node: &NodeProto) -> bool {
    is_onnx_op(node, "ConstantOfShape") && !node.attribute.iter().any(|a| a.name == "value")
}

/// Whether `node` is a ConvTranspose sized by `output_shape` or padded by
/// `auto_pad` SAME_UPPER or SAME_LOWER.
fn sized_conv_transpose(node: &NodeProto) -> bool {
    let auto_pad = |a: &AttributeProto| a.name == "auto_pad" && a.s.starts_with(b"SAME");
    is_onnx_op(node, "ConvTranspose") && node.attribute.iter().any(|a| a.name == "output_shape" || auto_pad(a))
}

/// The file with the nodes that tract 0.23.9 reads otherwise than ONNX
/// defines them rewritten to a form it reads as ONNX does; `None` when it
/// has none. ONNX Runtime, the reference, gets files untouched.
/// - A ConstantOfShape without `value` gets the one ONNX defines, a float32
///   zero: tract's importer fills with a float64 zero, which no float32 op
///   downstream accepts.
/// - A ConvTranspose sized by `output_shape` or padded `SAME_*` gets the
///   explicit pads ONNX defines for it ([`explicit_transposed_pads`]),
///   where tract can infer the shapes they need (else it stays as it is).
///   tract keeps `pads` beside `output_shape` and puts the difference at
///   the end as output padding, where ONNX ignores `pads` and splits the
///   difference between both ends (the odd row at the beginning unless
///   `SAME_UPPER`); without `pads` it underflows, and it panics on
///   `SAME_*`. A file exported by tf2onnx, which sizes its transposed
///   convolutions by `output_shape`, ran wrongly on tract.
fn read_as_onnx_defines(model: &ModelProto) -> Option<ModelProto> {
    let graph = model.graph.as_ref()?;
    let sized = graph.node.iter().any(sized_conv_transpose);
    if !sized && !graph.node.iter().any(default_fill) {
        return None;
    }
    let mut inference = if sized { tract_onnx::onnx().model_for_proto_model(model).ok() } else { None };
    if let Some(m) = inference.as_mut() {
        // The shapes known before an op fails are enough.
        let _ = m.analyse(true);
    }
    let mut fixed = model.clone();
    for node in fixed.graph.as_mut().map(|g| g.node.iter_mut())? {
        if default_fill(node) {
            node.attribute.push(AttributeProto {
                name: "value".into(),
                r#type: AttributeType::Tensor as i32,
                t: Some(crate::onnx::proto::encode_f32("value", &ArrayD::zeros(IxDyn(&[1])))),
                ..Default::default()
            });
        } else if sized_conv_transpose(node) {
            if let Some(pads) = inference.as_ref().and_then(|m| explicit_transposed_pads(m, node)) {
                node.attribute.retain(|a| !matches!(a.name.as_str(), "output_shape" | "auto_pad" | "pads"));
                node.attribute.push(attr_ints("pads", &pads));
            }
        }
    }
    Some(fixed)
}

/// The explicit pads ONNX gives `node`, a ConvTranspose sized by
/// `output_shape` or padded `SAME_*`, from its input and kernel shapes as
/// tract infers them (ONNX's ConvTranspose: `total = stride * (in - 1) +
/// output_padding + (kernel - 1) * dilation + 1 - out`, `out` being
/// `output_shape`, or `in * stride` for `SAME_*`; the odd row at the end
/// for SAME_UPPER only). `None` where a shape is unknown or the output is
/// larger than the full transposed convolution.
fn explicit_transposed_pads(inference: &InferenceModel, node: &NodeProto) -> Option<Vec<usize>> {
    let name = if node.name.is_empty() { node.output.first()? } else { &node.name };
    let tract_node = inference.node_by_name(name).ok()?;
    let shape = |input: usize| -> Option<TVec<usize>> {
        let outlet = *tract_node.inputs.get(input)?;
        inference.outlet_fact(outlet).ok()?.shape.as_concrete_finite().ok().flatten()
    };
    let (x, w) = (shape(0)?, shape(1)?);
    let rank = x.len().checked_sub(2).filter(|&r| r > 0 && w.len() == r + 2)?;
    let ints = |name: &str, default: i64| -> Vec<i64> {
        node.attribute.iter().find(|a| a.name == name).map_or_else(|| vec![default; rank], |a| a.ints.clone())
    };
    let (strides, dilations, output_padding) = (ints("strides", 1), ints("dilations", 1), ints("output_padding", 0));
    let auto_pad = node.attribute.iter().find(|a| a.name == "auto_pad").map(|a| a.s.as_slice()).unwrap_or_default();
    let output_shape = node.attribute.iter().find(|a| a.name == "output_shape").map(|a| a.ints.clone());
    let at_least = |v: &[i64], least: i64| v.len() == rank && v.iter().all(|&s| s >= least);
    if !(at_least(&strides, 1) && at_least(&dilations, 1) && at_least(&output_padding, 0)) {
        return None;
    }
    let mut pads = vec![0usize; 2 * rank];
    for a in 0..rank {
        let (len, kernel) = (i64::try_from(x[a + 2]).ok()?, i64::try_from(w[a + 2]).ok()?);
        let out = match &output_shape {
            // Spatial extents, or the whole shape as some exporters write it.
            Some(out) if out.len() >= rank => out[out.len() - rank + a],
            Some(_) => return None,
            None => len.checked_mul(strides[a])?,
        };
        let dilated = (kernel - 1).checked_mul(dilations[a])?;
        let full =
            strides[a].checked_mul(len - 1)?.checked_add(output_padding[a])?.checked_add(dilated)?.checked_add(1)?;
        let total = usize::try_from(full.checked_sub(out)?).ok()?;
        let (begin, end) =
            if auto_pad == b"SAME_UPPER" { (total / 2, total - total / 2) } else { (total - total / 2, total / 2) };
        pads[a] = begin;
        pads[a + rank] = end;
    }
    Some(pads)
}

impl Backend for TractBackend {
    /// Large graphs load in segments ([`super::segmented`]).
    fn load(&self, graph: &OnnxGraph) -> Result<Box<dyn Executable>> {
        super::segmented::load_with(graph, TractBackend::load_whole)
    }
}

fn to_tvalue(t: HostTensor) -> TValue {
    match t {
        HostTensor::F32(a) => Tensor::from(a).into_tvalue(),
        HostTensor::F64(a) => Tensor::from(a).into_tvalue(),
        HostTensor::I64(a) => Tensor::from(a).into_tvalue(),
    }
}

fn from_tvalue(graph: &str, v: TValue) -> Result<HostTensor> {
    let t = v.into_tensor();
    let err = |e| runtime_error(graph, e);
    Ok(match t.datum_type() {
        DatumType::F32 => HostTensor::F32(t.into_plain_array::<f32>().map_err(err)?),
        DatumType::F64 => HostTensor::F64(t.into_plain_array::<f64>().map_err(err)?),
        DatumType::I64 => HostTensor::I64(t.into_plain_array::<i64>().map_err(err)?),
        // A Shape's output: integers, as ONNX has them.
        DatumType::TDim => {
            HostTensor::I64(t.cast_to::<i64>().map_err(err)?.into_owned().into_plain_array::<i64>().map_err(err)?)
        }
        _ => {
            let c = t.cast_to::<f32>().map_err(err)?;
            HostTensor::F32(c.to_plain_array_view::<f32>().map_err(err)?.to_owned())
        }
    })
}

impl Executable for TractExecutable {
    fn run(&mut self, inputs: Vec<HostTensor>) -> Result<Vec<HostTensor>> {
        let values: TVec<TValue> = inputs.into_iter().map(to_tvalue).collect();
        let outs = self.plan.run(values).map_err(|e| runtime_error(&self.graph, e))?;
        outs.into_iter().map(|v| from_tvalue(&self.graph, v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::builder::{attr_ints, attr_string, GraphBuilder};
    use crate::writer::Precision;

    /// A 3 x 3 input up-sampled by a 3 x 3 kernel at stride 2 (7 x 7 in
    /// full) to 6 x 6, with `attrs` beside the strides; the input and the
    /// kernel are asymmetric, so that a row of padding at the wrong end
    /// shows.
    fn upsampled(attrs: Vec<AttributeProto>) -> ArrayD<f32> {
        let mut g = GraphBuilder::new("deconv", Precision::F32);
        let x = g.input("x", vec![1, 1, 3, 3]);
        let w = g.constant("w", &ArrayD::from_shape_fn(IxDyn(&[1, 1, 3, 3]), |i| (i[2] * 3 + i[3]) as f32 - 2.5));
        let mut attrs = attrs;
        attrs.push(attr_ints("strides", &[2, 2]));
        let y = g.node("ConvTranspose", &[&x, &w], attrs, vec![1, 1, 6, 6]);
        g.output(&y, "y");
        let mut exe = TractBackend.load(&g.finish()).unwrap();
        let input = ArrayD::from_shape_fn(IxDyn(&[1, 1, 3, 3]), |i| (i[2] * 5 + i[3] * 2) as f32 / 7.0 - 0.6);
        exe.run(vec![HostTensor::F32(input)]).unwrap().remove(0).into_f32()
    }

    /// ONNX sizes a ConvTranspose by `output_shape` whatever its `pads`
    /// say, the odd row of padding at the beginning (at the end for
    /// SAME_UPPER); `SAME_*` alone targets the input times the stride.
    /// tract 0.23.9 alone read the first wrongly, underflowed on the second
    /// and panicked on the rest.
    #[test]
    fn a_conv_transpose_sized_by_output_shape_or_same_runs_as_onnx_defines_it() {
        let begin = upsampled(vec![attr_ints("pads", &[1, 1, 0, 0])]);
        let end = upsampled(vec![attr_ints("pads", &[0, 0, 1, 1])]);
        assert_ne!(begin, end, "the test tells the two ends apart");
        let output_shape = || attr_ints("output_shape", &[6, 6]);
        let cases = [
            ("output_shape over pads", vec![output_shape(), attr_ints("pads", &[0, 0, 2, 2])], &begin),
            ("output_shape alone", vec![output_shape()], &begin),
            ("output_shape, SAME_LOWER", vec![output_shape(), attr_string("auto_pad", "SAME_LOWER")], &begin),
            ("output_shape, SAME_UPPER", vec![output_shape(), attr_string("auto_pad", "SAME_UPPER")], &end),
            ("SAME_LOWER", vec![attr_string("auto_pad", "SAME_LOWER")], &begin),
            ("SAME_UPPER", vec![attr_string("auto_pad", "SAME_UPPER")], &end),
        ];
        for (what, attrs, want) in cases {
            assert_eq!(&upsampled(attrs), want, "{what}");
        }
    }
}
