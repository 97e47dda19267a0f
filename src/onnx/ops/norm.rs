//! BatchNormalization in inference mode, folded into a per-channel affine.

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::NodeProto;

use super::Builder;
use crate::ir::{Affine, Op};
use crate::onnx::attrs;
use crate::onnx::context::ImportCtx;

pub const OPS: &[(&str, Builder)] = &[("BatchNormalization", batch_norm)];

fn batch_norm(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    if attrs::int(node, "training_mode", 0) != 0 {
        return Err("attribute 'training_mode' = 1: only inference-mode batch normalisation is supported".into());
    }
    let x = ctx.value_input(node, 0)?;
    if !ctx.batched {
        return Err("this op needs an input with a batch axis".into());
    }
    let rank = ctx.shape(x).len();
    let channels = *ctx.shape(x).get(1).ok_or("input has no channel axis")?;
    let eps = attrs::float(node, "epsilon", 1e-5);
    let param = |i: usize, what: &str| -> Result<Vec<f32>, String> {
        let v: Vec<f32> = ctx.const_input(node, i)?.to_f32().iter().copied().collect();
        if v.len() != channels {
            return Err(format!("{what} has {} values for {channels} channels", v.len()));
        }
        Ok(v)
    };
    let (gamma, beta, mean, var) = (param(1, "scale")?, param(2, "bias")?, param(3, "mean")?, param(4, "var")?);
    let mut shape = vec![1; rank];
    shape[1] = channels;
    let scale: Vec<f32> = (0..channels).map(|c| gamma[c] / (var[c] + eps).sqrt()).collect();
    let shift: Vec<f32> = (0..channels).map(|c| beta[c] - mean[c] * scale[c]).collect();
    let to_array = |v: Vec<f32>| ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| e.to_string());
    let op = Affine { scale: Some(to_array(scale)?), shift: Some(to_array(shift)?) };
    ctx.add(node, Op::Affine(op), vec![x])?;
    Ok(())
}
