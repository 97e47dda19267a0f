//! Gemm and MatMul with a constant weight: the Dense op.

use ndarray::{Array1, Array2, Ix2};
use tract_onnx::pb::NodeProto;

use super::Builder;
use crate::ir::{Dense, Op, Reshape};
use crate::onnx::attrs;
use crate::onnx::context::{node_name, ImportCtx};

pub const OPS: &[(&str, Builder)] = &[("Gemm", gemm), ("MatMul", matmul)];

const BILINEAR: &str = "both operands are computed tensors: their product is not piecewise linear in the input";

fn gemm(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    if !ctx.is_const(node, 1) {
        return Err(if ctx.is_const(node, 0) {
            "the computed operand is B (input 1); only A (input 0) may be computed".into()
        } else {
            BILINEAR.into()
        });
    }
    let x = ctx.value_input(node, 0)?;
    if attrs::int(node, "transA", 0) != 0 {
        return Err("attribute 'transA' = 1 on a computed input is not supported".into());
    }
    let alpha = attrs::float(node, "alpha", 1.0);
    let beta = attrs::float(node, "beta", 1.0);
    let b = ctx.const_input(node, 1)?.to_f32();
    let b = b.into_dimensionality::<Ix2>().map_err(|_| "B must be a matrix".to_string())?;
    let weight = if attrs::int(node, "transB", 0) != 0 { b.t().to_owned() } else { b } * alpha;
    let out = weight.ncols();
    let bias = match ctx.optional_const_input(node, 2)? {
        None => None,
        Some(c) => {
            let c = c.to_f32();
            let flat: Vec<f32> = c.iter().map(|v| v * beta).collect();
            let bias = match flat.len() {
                1 => Array1::from_elem(out, flat[0]),
                n if n == out && c.shape().iter().rev().skip(1).all(|&d| d == 1) => Array1::from(flat),
                _ => return Err(format!("C of shape {:?} is not a bias over {out} outputs", c.shape())),
            };
            Some(bias)
        }
    };
    ctx.add(node, Op::Dense(Dense { weight, bias }), vec![x])?;
    Ok(())
}

fn matmul(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    if !ctx.is_const(node, 1) {
        if !ctx.is_const(node, 0) {
            return Err(BILINEAR.into());
        }
        return matrix_times_vector(ctx, node);
    }
    let x = ctx.value_input(node, 0)?;
    let w = ctx.const_input(node, 1)?.to_f32();
    match w.ndim() {
        2 => {
            let weight: Array2<f32> = w.into_dimensionality().map_err(|e| e.to_string())?;
            ctx.add(node, Op::Dense(Dense { weight, bias: None }), vec![x])?;
        }
        1 => {
            // x @ v drops the last axis: a one-column Dense, then a reshape.
            let n = w.len();
            let weight = w.into_shape_with_order((n, 1)).map_err(|e| e.to_string())?;
            let name = node_name(node);
            let col = ctx.add_named(
                &name,
                "MatMul",
                Op::Dense(Dense { weight, bias: None }),
                vec![x],
                &format!("{name}:column"),
            )?;
            let mut shape = ctx.graph.value(col).shape.clone();
            shape.pop();
            let out = node.output.first().cloned().unwrap_or_default();
            ctx.add_named(&name, "MatMul", Op::Reshape(Reshape { shape }), vec![col], &out)?;
        }
        r => return Err(format!("a rank-{r} constant right operand is not supported (only matrices)")),
    }
    Ok(())
}

/// `W @ x` with a constant matrix and a vector `x` of a model without a
/// batch axis: the Dense op with `W` transposed.
fn matrix_times_vector(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 1)?;
    if ctx.batched || ctx.shape(x).len() != 1 {
        return Err("the constant is the left operand; only x @ W, or W @ x for a vector x, is supported".into());
    }
    let w = ctx.const_input(node, 0)?.to_f32();
    let w: Array2<f32> = w.into_dimensionality().map_err(|_| "W must be a matrix".to_string())?;
    ctx.add(node, Op::Dense(Dense { weight: w.t().to_owned(), bias: None }), vec![x])?;
    Ok(())
}
