//! Conv and ConvTranspose with constant weights.

use ndarray::Ix1;
use tract_onnx::pb::NodeProto;

use super::{window, Builder};
use crate::ir::{Conv, ConvTranspose, Op};
use crate::onnx::attrs;
use crate::onnx::context::ImportCtx;

pub const OPS: &[(&str, Builder)] = &[("Conv", conv), ("ConvTranspose", conv_transpose)];

struct Parts {
    x: crate::ir::ValueId,
    weight: ndarray::ArrayD<f32>,
    bias: Option<ndarray::Array1<f32>>,
    spatial: Vec<usize>,
    groups: usize,
}

fn parts(ctx: &ImportCtx, node: &NodeProto) -> Result<Parts, String> {
    let x = ctx.value_input(node, 0)?;
    if !ctx.batched {
        return Err("a convolution needs an input with a batch axis".into());
    }
    if !ctx.is_const(node, 1) {
        return Err("the weight (input 1) must be a constant".into());
    }
    let weight = ctx.const_input(node, 1)?.to_f32();
    if weight.ndim() < 3 {
        return Err(format!("weight of shape {:?} has no spatial axes", weight.shape()));
    }
    let bias = ctx
        .optional_const_input(node, 2)?
        .map(|b| b.to_f32().into_dimensionality::<Ix1>().map_err(|_| "bias must be 1-d".to_string()))
        .transpose()?;
    let shape = ctx.shape(x);
    let groups = usize::try_from(attrs::int(node, "group", 1))
        .ok()
        .filter(|&g| g > 0)
        .ok_or("attribute 'group' must be positive")?;
    Ok(Parts { x, spatial: shape.get(2..).unwrap_or_default().to_vec(), weight, bias, groups })
}

fn kernel(node: &NodeProto, weight: &ndarray::ArrayD<f32>) -> Result<Vec<usize>, String> {
    let from_weight = weight.shape()[2..].to_vec();
    match attrs::usizes(node, "kernel_shape")? {
        Some(k) if k != from_weight => {
            Err(format!("attribute 'kernel_shape' {k:?} disagrees with the weight {from_weight:?}"))
        }
        _ => Ok(from_weight),
    }
}

fn conv(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let p = parts(ctx, node)?;
    let window = window::parse(node, kernel(node, &p.weight)?, &p.spatial)?;
    if let Some(b) = &p.bias {
        if b.len() != p.weight.shape()[0] {
            return Err(format!("bias has {} values for {} output channels", b.len(), p.weight.shape()[0]));
        }
    }
    let op = Conv { weight: p.weight, bias: p.bias, window, groups: p.groups };
    ctx.add(node, Op::Conv(op), vec![p.x])?;
    Ok(())
}

/// ConvTranspose's output extent before padding along spatial axis `a`,
/// `(len - 1) * stride + dilated kernel + output padding`, checked.
fn transposed_extent(len: usize, w: &crate::ir::Window, output_padding: usize, a: usize) -> Result<usize, String> {
    (len - 1)
        .checked_mul(w.strides[a])
        .and_then(|s| s.checked_add(w.dilated_kernel(a)))
        .and_then(|s| s.checked_add(output_padding))
        .ok_or_else(|| format!("the output extent along spatial axis {a} overflows"))
}

fn conv_transpose(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let p = parts(ctx, node)?;
    let kernel = kernel(node, &p.weight)?;
    let rank = kernel.len();
    let mut window = window::parse(node, kernel, &p.spatial)?;
    let output_padding = attrs::usizes(node, "output_padding")?.unwrap_or_else(|| vec![0; rank]);
    if output_padding.len() != rank {
        return Err(format!("attribute 'output_padding' {output_padding:?} does not fit a {rank}-d kernel"));
    }
    let auto = attrs::string(node, "auto_pad").unwrap_or_default();
    if let Some(out) = attrs::usizes(node, "output_shape")? {
        if out.len() != rank && out.len() != rank + 2 {
            return Err(format!("attribute 'output_shape' {out:?} does not fit a {rank}-d kernel"));
        }
        let out = &out[out.len() - rank..];
        for a in 0..rank {
            let full = transposed_extent(p.spatial[a], &window, output_padding[a], a)?;
            let total =
                full.checked_sub(out[a]).ok_or_else(|| format!("attribute 'output_shape' {out:?} is too large"))?;
            // Only SAME_UPPER puts the odd row at the end; NOTSET and
            // SAME_LOWER put it at the beginning (the ONNX spec, ONNX Runtime).
            let (begin, end) =
                if auto == "SAME_UPPER" { (total / 2, total - total / 2) } else { (total - total / 2, total / 2) };
            window.pads[a] = begin;
            window.pads[a + rank] = end;
        }
    } else if auto == "SAME_UPPER" || auto == "SAME_LOWER" {
        // ConvTranspose's SAME padding targets out = in * stride.
        for a in 0..rank {
            let full = transposed_extent(p.spatial[a], &window, output_padding[a], a)?;
            let total = full.saturating_sub(p.spatial[a].saturating_mul(window.strides[a]));
            let (begin, end) =
                if auto == "SAME_LOWER" { (total - total / 2, total / 2) } else { (total / 2, total - total / 2) };
            window.pads[a] = begin;
            window.pads[a + rank] = end;
        }
    }
    // ONNX allows output padding below the dilation too; its adjoint Conv
    // would then return more rows than the input has: not supported.
    for a in 0..rank {
        if output_padding[a] >= window.strides[a] {
            return Err(format!(
                "attribute 'output_padding' {output_padding:?} must be smaller than the strides {:?}",
                window.strides
            ));
        }
    }
    let c_out = p.weight.shape()[1] * p.groups;
    if let Some(b) = &p.bias {
        if b.len() != c_out {
            return Err(format!("bias has {} values for {c_out} output channels", b.len()));
        }
    }
    let op = ConvTranspose { weight: p.weight, bias: p.bias, window, groups: p.groups, output_padding };
    ctx.add(node, Op::ConvTranspose(op), vec![p.x])?;
    Ok(())
}
