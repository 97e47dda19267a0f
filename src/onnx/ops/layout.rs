//! Ops that move data without arithmetic: Reshape, Flatten, Squeeze,
//! Unsqueeze, Transpose, Concat, Pad, and the no-ops Identity, Dropout and
//! float Cast. None may touch the batch axis.

use tract_onnx::pb::NodeProto;

use super::Builder;
use crate::ir::{Concat, Op, Pad, Reshape, Transpose};
use crate::onnx::attrs;
use crate::onnx::context::ImportCtx;

pub const OPS: &[(&str, Builder)] = &[
    ("Reshape", reshape),
    ("Flatten", flatten),
    ("Squeeze", squeeze),
    ("Unsqueeze", unsqueeze),
    ("Transpose", transpose),
    ("Concat", concat),
    ("Pad", pad),
    ("Identity", identity),
    ("Dropout", identity),
    ("Cast", identity),
];

fn identity(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    ctx.alias_output(node, x);
    Ok(())
}

/// Reshapes to `target`, a shape in the model's view (with the batch axis
/// in front for batched models).
fn reshape_to(ctx: &mut ImportCtx, node: &NodeProto, x: crate::ir::ValueId, target: Vec<usize>) -> Result<(), String> {
    let sample = if ctx.batched {
        if target.first() != Some(&ctx.batch) {
            let shape = ctx.shape(x);
            return Err(format!("reshaping {shape:?} to {target:?} would move or merge the batch axis"));
        }
        target[1..].to_vec()
    } else {
        target
    };
    ctx.add(node, Op::Reshape(Reshape { shape: sample }), vec![x])?;
    Ok(())
}

/// The element count of `shape` (the import batch included), or an error
/// when it overflows.
fn checked_product(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("the element count of shape {shape:?} overflows"))
}

fn reshape(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let spec = if ctx.opset < 5 {
        attrs::ints(node, "shape").ok_or("attribute 'shape' is missing")?
    } else {
        ctx.const_input(node, 1)?.as_ints().ok_or("the target shape must be integers")?
    };
    let allow_zero = attrs::int(node, "allowzero", 0) != 0;
    let shape = ctx.shape(x);
    let total = checked_product(&shape)?;
    let mut target = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                target.push(1);
            }
            0 if !allow_zero => target.push(*shape.get(i).ok_or(format!("dimension 0 at {i} copies a missing axis"))?),
            d if d > 0 => target.push(d as usize),
            d => return Err(format!("invalid target dimension {d} in {spec:?}")),
        }
    }
    if let Some(i) = infer {
        let known = checked_product(&target)?;
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot infer -1 reshaping {shape:?} to {spec:?}"));
        }
        target[i] = total / known;
    }
    if checked_product(&target)? != total {
        return Err(format!("cannot reshape {shape:?} to {spec:?}"));
    }
    reshape_to(ctx, node, x, target)
}

fn flatten(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let shape = ctx.shape(x);
    // Flatten's axis lies in [-r, r]: -k is r - k.
    let given = attrs::int(node, "axis", 1);
    let signed = if given < 0 { given + shape.len() as i64 } else { given };
    let axis = usize::try_from(signed)
        .ok()
        .filter(|&a| a <= shape.len())
        .ok_or_else(|| format!("axis {given} out of range for rank {}", shape.len()))?;
    if ctx.batched && axis == 0 {
        return Err("Flatten with axis 0 merges the batch axis".into());
    }
    let target = vec![checked_product(&shape[..axis])?, checked_product(&shape[axis..])?];
    reshape_to(ctx, node, x, target)
}

fn axes_of(ctx: &ImportCtx, node: &NodeProto) -> Result<Option<Vec<i64>>, String> {
    if ctx.opset < 13 {
        Ok(attrs::ints(node, "axes"))
    } else {
        ctx.optional_const_input(node, 1)?
            .map(|c| c.as_ints().ok_or_else(|| "axes must be integers".to_string()))
            .transpose()
    }
}

fn squeeze(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let shape = ctx.shape(x);
    // An empty axes tensor squeezes as none given does (ONNX Runtime's
    // reading): every axis of extent 1, the batch axis of one sample too.
    let axes: Vec<usize> = match axes_of(ctx, node)? {
        Some(a) if !a.is_empty() => a.iter().map(|&a| ctx.axis(a, shape.len())).collect::<Result<_, _>>()?,
        _ if ctx.batched && ctx.batch == 1 => {
            return Err("without axes, Squeeze removes the batch axis too where it holds one sample (ONNX Runtime \
                        does, so every later axis means another one): give the axes to squeeze"
                .into())
        }
        _ => (usize::from(ctx.batched)..shape.len()).filter(|&i| shape[i] == 1).collect(),
    };
    if ctx.batched && axes.contains(&0) {
        return Err("squeezing the batch axis is not supported".into());
    }
    if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
        return Err(format!("axis {a} of {shape:?} is not of size 1"));
    }
    let target = shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
    reshape_to(ctx, node, x, target)
}

fn unsqueeze(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let shape = ctx.shape(x);
    let raw = axes_of(ctx, node)?.ok_or("axes are missing")?;
    let rank = shape.len() + raw.len();
    let axes: Vec<usize> = raw.iter().map(|&a| ctx.axis(a, rank)).collect::<Result<_, _>>()?;
    if ctx.batched && axes.contains(&0) {
        return Err("inserting an axis before the batch axis is not supported".into());
    }
    let mut dims = shape.iter();
    let target = (0..rank).map(|i| if axes.contains(&i) { 1 } else { *dims.next().unwrap_or(&1) }).collect();
    reshape_to(ctx, node, x, target)
}

fn transpose(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let rank = ctx.shape(x).len();
    let perm = match attrs::usizes(node, "perm")? {
        Some(p) => p,
        None => (0..rank).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(format!("attribute 'perm' {perm:?} is not a permutation of {rank} axes"));
    }
    let perm = if ctx.batched {
        if perm[0] != 0 {
            return Err(format!("attribute 'perm' {perm:?} moves the batch axis"));
        }
        perm
    } else {
        std::iter::once(0).chain(perm.iter().map(|p| p + 1)).collect()
    };
    ctx.add(node, Op::Transpose(Transpose { perm }), vec![x])?;
    Ok(())
}

fn concat(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let inputs: Vec<_> = (0..node.input.len()).map(|i| ctx.value_input(node, i)).collect::<Result<_, _>>()?;
    let first = *inputs.first().ok_or("Concat without inputs")?;
    let axis = ctx.axis(attrs::int(node, "axis", 1), ctx.shape(first).len())?;
    if ctx.batched && axis == 0 {
        return Err("concatenation along the batch axis is not supported".into());
    }
    ctx.add(node, Op::Concat(Concat { axis: ctx.ir_axis(axis) }), inputs)?;
    Ok(())
}

fn pad(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let rank = ctx.shape(x).len();
    let mode = attrs::string(node, "mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(format!("attribute 'mode' = '{}': only constant padding is supported", crate::error::clip(&mode)));
    }
    let (pads, value) = if ctx.opset < 11 {
        (attrs::ints(node, "pads").ok_or("attribute 'pads' is missing")?, attrs::float(node, "value", 0.0))
    } else {
        if node.input.get(3).is_some_and(|a| !a.is_empty()) {
            return Err("input 'axes' is not supported".into());
        }
        let pads = ctx.const_input(node, 1)?.as_ints().ok_or("pads must be integers")?;
        let value =
            ctx.optional_const_input(node, 2)?.map_or(0.0, |c| c.to_f32().iter().next().copied().unwrap_or(0.0));
        (pads, value)
    };
    if value != 0.0 {
        return Err(format!("padding value {value}: only zero padding is supported"));
    }
    if pads.len() != 2 * rank {
        return Err(format!("pads {pads:?} do not fit rank {rank}"));
    }
    let mut pads: Vec<usize> = pads
        .iter()
        .map(|&p| usize::try_from(p).map_err(|_| format!("negative pad {p} (cropping) is not supported")))
        .collect::<Result<_, _>>()?;
    if !ctx.batched {
        pads.insert(rank, 0);
        pads.insert(0, 0);
    }
    ctx.add(node, Op::Pad(Pad { pads }), vec![x])?;
    Ok(())
}
