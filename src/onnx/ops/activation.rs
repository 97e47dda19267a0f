//! Activations: ReLU sites (Relu, LeakyRelu, scalar PRelu, Clip and Max
//! with a constant, which are sums of ReLUs) and smooth heads (Sigmoid,
//! Tanh, Softmax, LogSoftmax).

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::NodeProto;

use super::Builder;
use crate::ir::{Add, Affine, LeakyRelu, LogSoftmax, Op, Relu, Reshape, Sigmoid, Softmax, Tanh, ValueId};
use crate::onnx::attrs;
use crate::onnx::context::{node_name, Binding, ImportCtx};

pub const OPS: &[(&str, Builder)] = &[
    ("Relu", relu),
    ("LeakyRelu", leaky_relu),
    ("PRelu", prelu),
    ("Clip", clip),
    ("Max", max),
    ("Sigmoid", sigmoid),
    ("Tanh", tanh),
    ("Softmax", softmax),
    ("LogSoftmax", log_softmax),
];

fn relu(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    ctx.add(node, Op::Relu(Relu), vec![x])?;
    Ok(())
}

fn leaky_relu(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let alpha = attrs::float(node, "alpha", 0.01);
    ctx.add(node, Op::LeakyRelu(LeakyRelu { alpha }), vec![x])?;
    Ok(())
}

fn prelu(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let slope = ctx.const_input(node, 1)?.to_f32();
    let first = *slope.iter().next().ok_or("empty slope")?;
    if slope.iter().any(|&s| s != first) {
        return Err("a per-channel slope is not supported (only one slope for all neurons)".into());
    }
    ctx.add(node, Op::LeakyRelu(LeakyRelu { alpha: first }), vec![x])?;
    Ok(())
}

fn sigmoid(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    ctx.add(node, Op::Sigmoid(Sigmoid), vec![x])?;
    Ok(())
}

fn tanh(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    ctx.add(node, Op::Tanh(Tanh), vec![x])?;
    Ok(())
}

fn softmax(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    softmax_like(ctx, node, |axis| Op::Softmax(Softmax { axis }))
}

fn log_softmax(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    softmax_like(ctx, node, |axis| Op::LogSoftmax(LogSoftmax { axis }))
}

/// Before opset 13 softmax works on the input coerced to 2-d at `axis`:
/// reshape around a last-axis softmax when that differs.
fn softmax_like(ctx: &mut ImportCtx, node: &NodeProto, make: fn(usize) -> Op) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let shape = ctx.shape(x);
    let rank = shape.len();
    let default = if ctx.opset < 13 { 1 } else { -1 };
    let axis = ctx.axis(attrs::int(node, "axis", default), rank)?;
    if ctx.batched && axis == 0 {
        return Err("softmax over the batch axis is not supported".into());
    }
    if ctx.opset >= 13 || axis == rank - 1 {
        ctx.add(node, make(ctx.ir_axis(axis)), vec![x])?;
        return Ok(());
    }
    let name = node_name(node);
    let op = node.op_type.clone();
    let lead = usize::from(ctx.batched);
    let mut flat = shape[lead..axis].to_vec();
    flat.push(shape[axis..].iter().product());
    let last = flat.len();
    let sample = ctx.graph.value(x).shape.clone();
    let v = ctx.add_named(&name, &op, Op::Reshape(Reshape { shape: flat }), vec![x], &format!("{name}:2d"))?;
    let v = ctx.add_named(&name, &op, make(last), vec![v], &format!("{name}:softmax"))?;
    let out = node.output.first().cloned().unwrap_or_default();
    ctx.add_named(&name, &op, Op::Reshape(Reshape { shape: sample }), vec![v], &out)?;
    Ok(())
}

fn scalar_const(ctx: &ImportCtx, node: &NodeProto, i: usize) -> Result<Option<f32>, String> {
    match ctx.optional_const_input(node, i)? {
        None => Ok(None),
        Some(c) => {
            let v = c.to_f32();
            if v.len() != 1 {
                return Err(format!("input {i} must be a scalar"));
            }
            Ok(v.iter().next().copied())
        }
    }
}

fn clip(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    let x = ctx.value_input(node, 0)?;
    let (lo, hi) = if ctx.opset < 11 {
        let lo = attrs::has(node, "min").then(|| attrs::float(node, "min", f32::MIN));
        let hi = attrs::has(node, "max").then(|| attrs::float(node, "max", f32::MAX));
        (lo, hi)
    } else {
        (scalar_const(ctx, node, 1)?, scalar_const(ctx, node, 2)?)
    };
    let finite = |v: Option<f32>| v.filter(|v| v.is_finite() && v.abs() < 1e30);
    clamp_as_relus(ctx, node, x, finite(lo), finite(hi))
}

fn max(ctx: &mut ImportCtx, node: &NodeProto) -> Result<(), String> {
    if node.input.len() != 2 {
        return Err("only Max of a computed tensor and a constant scalar is supported".into());
    }
    let (x, c) = match (ctx.input(node, 0)?.cloned(), ctx.input(node, 1)?.cloned()) {
        (Some(Binding::Value(x)), Some(Binding::Const(c))) | (Some(Binding::Const(c)), Some(Binding::Value(x))) => {
            (x, c)
        }
        _ => return Err("only Max of a computed tensor and a constant scalar is supported".into()),
    };
    let c = c.to_f32();
    ctx.const_fits(x, c.shape())?;
    let lo = *c.iter().next().ok_or("empty constant")?;
    if c.iter().any(|&v| v != lo) {
        return Err("only Max with one constant value is supported".into());
    }
    clamp_as_relus(ctx, node, x, Some(lo), None)
}

/// Emits the IR ops of one node that lowers to several, naming the
/// intermediate tensors `<node>:<tag>` and the last one as the node's output.
struct Emitter<'a> {
    name: String,
    op: String,
    out: String,
    node: &'a NodeProto,
}

impl Emitter<'_> {
    fn add(&self, ctx: &mut ImportCtx, o: Op, ins: Vec<ValueId>, tag: Option<&str>) -> Result<ValueId, String> {
        let target = tag.map_or_else(|| self.out.clone(), |t| format!("{}:{t}", self.name));
        ctx.add_named(&self.name, &self.op, o, ins, &target)
    }

    /// `relu(at - x)`.
    fn reflected_relu(&self, ctx: &mut ImportCtx, x: ValueId, at: f32, tag: &str) -> Result<ValueId, String> {
        let pre = self.add(
            ctx,
            Op::Affine(Affine { scale: scalar(-1.0), shift: scalar(at) }),
            vec![x],
            Some(&format!("{tag}.pre")),
        )?;
        self.add(ctx, Op::Relu(Relu), vec![pre], Some(tag))
    }

    /// `relu(x - at)`.
    fn shifted_relu(&self, ctx: &mut ImportCtx, x: ValueId, at: f32, tag: &str) -> Result<ValueId, String> {
        let pre = self.add(
            ctx,
            Op::Affine(Affine { scale: None, shift: scalar(-at) }),
            vec![x],
            Some(&format!("{tag}.pre")),
        )?;
        self.add(ctx, Op::Relu(Relu), vec![pre], Some(tag))
    }
}

fn scalar(v: f32) -> Option<ArrayD<f32>> {
    Some(ArrayD::from_elem(IxDyn(&[]), v))
}

/// `clamp(x, lo, hi) = lo + relu(x - lo) - relu(x - hi)`: exact, and each
/// kink becomes a ReLU site. With `lo = 0` and no `hi` it is one Relu.
fn clamp_as_relus(
    ctx: &mut ImportCtx,
    node: &NodeProto,
    x: ValueId,
    lo: Option<f32>,
    hi: Option<f32>,
) -> Result<(), String> {
    if let (Some(l), Some(h)) = (lo, hi) {
        if l > h {
            return Err(format!("min {l} is above max {h}"));
        }
    }
    let e = Emitter {
        name: node_name(node),
        op: node.op_type.clone(),
        out: node.output.first().cloned().unwrap_or_default(),
        node,
    };
    match (lo, hi) {
        (None, None) => ctx.alias_output(e.node, x),
        (Some(0.0), None) => {
            e.add(ctx, Op::Relu(Relu), vec![x], None)?;
        }
        // Each form below gives x itself, to the bit, wherever x lies within
        // the bounds: shifting x by a bound and back (relu(x - l) + l) would
        // round it to the spacing of floats near the bound, which for a
        // bound of 1e6 is 1/16.
        (Some(l), None) => {
            // max(x, l) = x + relu(l - x)
            let r = e.reflected_relu(ctx, x, l, "relu_lo")?;
            e.add(ctx, Op::Add(Add { negate_rhs: false }), vec![x, r], None)?;
        }
        (None, Some(h)) => {
            // min(x, h) = x - relu(x - h)
            let r = e.shifted_relu(ctx, x, h, "relu_hi")?;
            e.add(ctx, Op::Add(Add { negate_rhs: true }), vec![x, r], None)?;
        }
        (Some(l), Some(h)) => {
            // clip(x, l, h) = x + relu(l - x) - relu(x - h)
            let below = e.reflected_relu(ctx, x, l, "relu_lo")?;
            let above = e.shifted_relu(ctx, x, h, "relu_hi")?;
            let raised = e.add(ctx, Op::Add(Add { negate_rhs: false }), vec![x, below], Some("raised"))?;
            e.add(ctx, Op::Add(Add { negate_rhs: true }), vec![raised, above], None)?;
        }
    }
    Ok(())
}
