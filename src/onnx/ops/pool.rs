//! MaxPool, AveragePool and their global forms.

use tract_onnx::pb::NodeProto;

use super::{window, Builder};
use crate::ir::{AvgPool, MaxPool, Op, Window};
use crate::onnx::attrs;
use crate::onnx::context::ImportCtx;

pub const OPS: &[(&str, Builder)] = &[
    ("MaxPool", max_pool),
    ("AveragePool", average_pool),
    ("GlobalAveragePool", global_average_pool),
    ("GlobalMaxPool", global_max_pool),
];

fn parse(ctx: &ImportCtx, node: &NodeProto) -> Result<(crate::ir::ValueId, Window), String> {
    parse_with_ceil(ctx, node).map(|(x, w, _)| (x, w))
}

/// The pool's input and window; also whether `ceil_mode` added padding.
fn parse_with_ceil(ctx: &ImportCtx, node: &NodeProto) -> Result<(crate::ir::ValueId, Window, bool), String> {
    let x = ctx.value_input(node, 0)?;
    if !ctx.batched {
        return Err("this op needs an input with a batch axis".into());
    }
    let shape = ctx.shape(x);
    let spatial = shape.get(2..).unwrap_or_default().to_vec();
    let kernel = attrs::usizes(node, "kernel_shape")?.ok_or("attribute 'kernel_shape' is missing")?;
    let mut w = window::parse(node, kernel, &spatial)?;
    let before = w.pads.clone();
    if attrs::int(node, "ceil_mode", 0) != 0 {
        add_ceil_padding(&mut w, &spatial);
    }
    let ceil_padded = w.pads != before;
    Ok((x, w, ceil_padded))
}

/// `ceil_mode` rounds the output length up; the extra windows read end
/// padding, but (as ONNX Runtime and PyTorch) a window must start inside the
/// input or its begin padding.
fn add_ceil_padding(w: &mut Window, spatial: &[usize]) {
    for a in 0..w.rank() {
        let span = spatial[a] + w.pad_begin(a) + w.pad_end(a);
        let k = w.dilated_kernel(a);
        if span < k {
            continue;
        }
        let mut out = (span - k).div_ceil(w.strides[a]) + 1;
        if (out - 1) * w.strides[a] >= spatial[a] + w.pad_begin(a) {
            out -= 1;
        }
        let needed = (out - 1) * w.strides[a] + k;
        let r = w.rank();
        w.pads[a + r] += needed.saturating_sub(span);
    }
}

fn max_pool(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    if node.output.get(1).is_some_and(|o| !o.is_empty()) {
        return Err("the Indices output is not supported".into());
    }
    if attrs::int(node, "storage_order", 0) != 0 {
        return Err("attribute 'storage_order' = 1 is not supported".into());
    }
    let (x, window) = parse(ctx, node)?;
    ctx.add(node, Op::MaxPool(MaxPool { window }), vec![x])?;
    Ok(())
}

fn average_pool(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let (x, window, ceil_padded) = parse_with_ceil(ctx, node)?;
    let count_include_pad = attrs::int(node, "count_include_pad", 0) != 0;
    if count_include_pad && ceil_padded {
        return Err("ceil_mode with count_include_pad = 1 is not supported where it adds windows".into());
    }
    ctx.add(node, Op::AvgPool(AvgPool { window, count_include_pad }), vec![x])?;
    Ok(())
}

fn global_window(ctx: &ImportCtx, node: &NodeProto) -> Result<(crate::ir::ValueId, Window), String> {
    let x = ctx.value_input(node, 0)?;
    if !ctx.batched {
        return Err("this op needs an input with a batch axis".into());
    }
    let shape = ctx.shape(x);
    let kernel = shape.get(2..).filter(|s| !s.is_empty()).ok_or("input has no spatial axes")?.to_vec();
    let r = kernel.len();
    Ok((x, Window { kernel, strides: vec![1; r], dilations: vec![1; r], pads: vec![0; 2 * r] }))
}

fn global_average_pool(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let (x, window) = global_window(ctx, node)?;
    ctx.add(node, Op::AvgPool(AvgPool { window, count_include_pad: true }), vec![x])?;
    Ok(())
}

fn global_max_pool(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let (x, window) = global_window(ctx, node)?;
    ctx.add(node, Op::MaxPool(MaxPool { window }), vec![x])?;
    Ok(())
}
