//! Parsing of the sliding-window attributes shared by Conv, ConvTranspose
//! and the pools: kernel, strides, dilations, explicit pads or `auto_pad`.

use tract_onnx::pb::NodeProto;

use crate::ir::Window;
use crate::onnx::attrs;

/// Reads the window of `node` sliding over the spatial extents `spatial`;
/// `auto_pad` is resolved into explicit pads.
pub fn parse(node: &NodeProto, kernel: Vec<usize>, spatial: &[usize]) -> Result<Window, String> {
    let rank = kernel.len();
    if spatial.len() != rank {
        return Err(format!("a {rank}-d kernel does not fit {} spatial axes", spatial.len()));
    }
    if kernel.contains(&0) {
        return Err(format!("kernel {kernel:?} has a zero extent"));
    }
    let per_axis = |name: &str| -> Result<Vec<usize>, String> {
        let v = attrs::usizes(node, name)?.unwrap_or_else(|| vec![1; rank]);
        if v.len() != rank || v.contains(&0) {
            return Err(format!("attribute '{name}' {v:?} does not fit a {rank}-d kernel"));
        }
        Ok(v)
    };
    let strides = per_axis("strides")?;
    let dilations = per_axis("dilations")?;
    for a in 0..rank {
        if dilations[a].checked_mul(kernel[a] - 1).and_then(|d| d.checked_add(1)).is_none() {
            return Err(format!("attribute 'dilations' {dilations:?}: the dilated kernel's extent overflows"));
        }
    }
    let mut w = Window { kernel, strides, dilations, pads: vec![0; 2 * rank] };
    let auto_pad = attrs::string(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
    match auto_pad.as_str() {
        "NOTSET" => {
            if let Some(p) = attrs::usizes(node, "pads")? {
                if p.len() != 2 * rank {
                    return Err(format!("attribute 'pads' {p:?} does not fit a {rank}-d kernel"));
                }
                w.pads = p;
            }
        }
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for a in 0..rank {
                let out = spatial[a].div_ceil(w.strides[a]);
                // (out - 1) * stride < spatial: only the kernel's extent can overflow.
                let reach = ((out - 1) * w.strides[a])
                    .checked_add(w.dilated_kernel(a))
                    .ok_or_else(|| format!("the padded extent of spatial axis {a} overflows"))?;
                let total = reach.saturating_sub(spatial[a]);
                let small = total / 2;
                let (begin, end) =
                    if auto_pad == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
                w.pads[a] = begin;
                w.pads[a + rank] = end;
            }
        }
        other => return Err(format!("attribute 'auto_pad': unknown value '{}'", crate::error::clip(other))),
    }
    Ok(w)
}
