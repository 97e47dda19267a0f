//! Add, Sub, Mul, Div, Neg and Sum: with a constant operand they become an
//! Affine op; Add/Sub of two computed tensors stay an Add (residuals).

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::NodeProto;

use super::Builder;
use crate::ir::{Add, Affine, Op, Reshape, ValueId};
use crate::onnx::context::{node_name, Binding, ImportCtx};

pub const OPS: &[(&str, Builder)] =
    &[("Add", add), ("Sub", sub), ("Mul", mul), ("Div", div), ("Neg", neg), ("Sum", sum)];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Add,
    Sub,
    Mul,
    Div,
}

fn add(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    binary(ctx, node, Kind::Add)
}
fn sub(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    binary(ctx, node, Kind::Sub)
}
fn mul(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    binary(ctx, node, Kind::Mul)
}
fn div(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    binary(ctx, node, Kind::Div)
}

fn scalar(v: f32) -> ArrayD<f32> {
    ArrayD::from_elem(IxDyn(&[]), v)
}

fn binary(ctx: &mut ImportCtx, node: &NodeProto, kind: Kind) -> Result<(), String> {
    let lhs = ctx.input(node, 0)?.cloned().ok_or("input 0 is missing")?;
    let rhs = ctx.input(node, 1)?.cloned().ok_or("input 1 is missing")?;
    let op = match (lhs, rhs, kind) {
        (Binding::Value(a), Binding::Value(b), Kind::Add | Kind::Sub) => {
            let (a, b) = same_rank(ctx, node, a, b)?;
            ctx.add(node, Op::Add(Add { negate_rhs: kind == Kind::Sub }), vec![a, b])?;
            return Ok(());
        }
        (Binding::Value(_), Binding::Value(_), _) => {
            return Err("both operands are computed tensors: their product or quotient is not piecewise linear".into())
        }
        (Binding::Value(x), Binding::Const(c), _) => {
            let c = c.to_f32();
            let affine = match kind {
                Kind::Add => Affine { scale: None, shift: Some(c) },
                Kind::Sub => Affine { scale: None, shift: Some(-c) },
                Kind::Mul => Affine { scale: Some(c), shift: None },
                Kind::Div => {
                    if c.iter().any(|&v| v == 0.0) {
                        return Err("division by a constant that contains zeros".into());
                    }
                    Affine { scale: Some(c.mapv(|v| 1.0 / v)), shift: None }
                }
            };
            (x, affine)
        }
        (Binding::Const(c), Binding::Value(x), _) => {
            let c = c.to_f32();
            let affine = match kind {
                Kind::Add => Affine { scale: None, shift: Some(c) },
                Kind::Sub => Affine { scale: Some(scalar(-1.0)), shift: Some(c) },
                Kind::Mul => Affine { scale: Some(c), shift: None },
                Kind::Div => return Err("a constant divided by a computed tensor is not piecewise linear".into()),
            };
            (x, affine)
        }
        _ => return Err("unexpected operands".into()),
    };
    for c in [&op.1.scale, &op.1.shift].into_iter().flatten() {
        ctx.const_fits(op.0, c.shape())?;
    }
    ctx.add(node, Op::Affine(op.1), vec![op.0])?;
    Ok(())
}

/// Gives two computed operands the same per-sample rank (leading 1s on the
/// shorter one), so that broadcasting never aligns a sample axis with the
/// batch axis.
fn same_rank(ctx: &mut ImportCtx, node: &NodeProto, a: ValueId, b: ValueId) -> Result<(ValueId, ValueId), String> {
    let (ra, rb) = (ctx.graph.value(a).shape.len(), ctx.graph.value(b).shape.len());
    let widen = |ctx: &mut ImportCtx, v: ValueId, rank: usize, tag: &str| -> Result<ValueId, String> {
        let shape = ctx.graph.value(v).shape.clone();
        let mut target = vec![1; rank - shape.len()];
        target.extend(shape);
        let name = node_name(node);
        ctx.add_named(&name, &node.op_type, Op::Reshape(Reshape { shape: target }), vec![v], &format!("{name}:{tag}"))
    };
    Ok(match ra.cmp(&rb) {
        std::cmp::Ordering::Less => (widen(ctx, a, rb, "lhs")?, b),
        std::cmp::Ordering::Greater => (a, widen(ctx, b, ra, "rhs")?),
        std::cmp::Ordering::Equal => (a, b),
    })
}

fn neg(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    ctx.add(node, Op::Affine(Affine { scale: Some(scalar(-1.0)), shift: None }), vec![x])?;
    Ok(())
}

fn sum(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let n = node.input.len();
    let values: Vec<_> = (0..n).map(|i| ctx.value_input(node, i)).collect::<Result<_, _>>()?;
    let name = node_name(node);
    let out = node.output.first().cloned().unwrap_or_default();
    match values.as_slice() {
        [] => Err("Sum without inputs".into()),
        [only] => {
            ctx.alias_output(node, *only);
            Ok(())
        }
        [first, rest @ ..] => {
            let mut acc = *first;
            for (i, v) in rest.iter().enumerate() {
                let target = if i + 1 == rest.len() { out.clone() } else { format!("{name}:partial{i}") };
                acc = ctx.add_named(&name, "Sum", Op::Add(Add { negate_rhs: false }), vec![acc, *v], &target)?;
            }
            Ok(())
        }
    }
}
