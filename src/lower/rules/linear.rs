//! The affine layers: Dense, Conv, ConvTranspose, Affine. Each is linear
//! up to its bias; its backward pass to the input is the transposed linear
//! map (Conv <-> ConvTranspose with the same weights); its tangent map
//! drops the bias.

use tract_onnx::pb::AttributeProto;

use super::{EmitCx, OpRule};
use crate::ir::shape::{broadcast_into, dilated_kernel, sum3, window_output, ShapeError};
use crate::ir::{Affine, Conv, ConvTranspose, Dense, OpSpec, Window};
use crate::writer::builder::{attr_int, attr_ints, Sym};

pub fn window_attrs(w: &Window) -> Vec<AttributeProto> {
    vec![
        attr_ints("kernel_shape", &w.kernel),
        attr_ints("strides", &w.strides),
        attr_ints("pads", &w.pads),
        attr_ints("dilations", &w.dilations),
    ]
}

/// `output_padding` that makes a transposed convolution of `out` come back to
/// exactly `input` along each spatial axis.
pub fn output_padding_back(w: &Window, input: &[usize], out: &[usize]) -> Vec<usize> {
    (0..w.rank())
        .map(|a| input[a] + w.pad_begin(a) + w.pad_end(a) - w.dilated_kernel(a) - (out[a] - 1) * w.strides[a])
        .collect()
}

/// A convolution's bias, the op's optional third input.
fn bias_of(cx: &mut EmitCx, bias: &Option<ndarray::Array1<f32>>) -> Option<Sym> {
    let b = bias.as_ref()?;
    let key = cx.key("bias");
    Some(cx.b.cached_constant(&key, || b.clone().into_dyn()))
}

impl OpSpec for Dense {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        let (rows, cols) = self.weight.dim();
        let last = *x.last().ok_or("input has rank 0")?;
        if x.len() < 2 || last != rows {
            return Err(format!("input {x:?} does not fit weight [{rows}, {cols}]").into());
        }
        let mut out = x.to_vec();
        *out.last_mut().expect("rank checked above") = cols;
        Ok(out)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl Dense {
    fn weight(&self, cx: &mut EmitCx) -> Sym {
        let key = cx.key("weight");
        cx.b.cached_constant(&key, || self.weight.clone().into_dyn())
    }
}

impl OpRule for Dense {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        let w = self.weight(cx);
        let y = cx.b.matmul(&ins[0], &w);
        match &self.bias {
            None => y,
            Some(bias) => {
                let key = cx.key("bias");
                let b = cx.b.cached_constant(&key, || bias.clone().into_dyn());
                cx.b.add(&y, &b)
            }
        }
    }

    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let key = cx.key("weight_t");
        let wt = cx.b.cached_constant(&key, || self.weight.t().to_owned().into_dyn());
        vec![cx.b.matmul(grad, &wt)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        let w = self.weight(cx);
        cx.b.matmul(&t[0], &w)
    }
}

fn conv_node(
    cx: &mut EmitCx,
    op: &str,
    x: &Sym,
    w: &Sym,
    bias: Option<&Sym>,
    attrs: Vec<AttributeProto>,
    shape: Vec<usize>,
) -> Sym {
    match bias {
        None => cx.b.node(op, &[x, w], attrs, shape),
        Some(b) => cx.b.node(op, &[x, w, b], attrs, shape),
    }
}

fn divisible_by_groups(channels: usize, groups: usize) -> Result<(), String> {
    if !channels.is_multiple_of(groups) {
        return Err(format!("the weight's {channels} channels are not divisible by group {groups}"));
    }
    Ok(())
}

/// The channels of a grouped convolution's weight axis times its groups.
fn grouped_channels(per_group: usize, groups: usize) -> Result<usize, ShapeError> {
    per_group
        .checked_mul(groups)
        .ok_or_else(|| ShapeError::TooLarge(format!("{per_group} channels times group {groups} overflows")))
}

fn check_channels(x: &[usize], c_in: usize, w: &Window) -> Result<(), String> {
    if x.len() != 2 + w.rank() || x[1] != c_in {
        return Err(format!("input {x:?} does not fit a {}-d kernel over {c_in} input channels", w.rank()));
    }
    Ok(())
}

impl OpSpec for Conv {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        divisible_by_groups(self.weight.shape()[0], self.groups)?;
        let c_in = grouped_channels(self.weight.shape()[1], self.groups)?;
        check_channels(x, c_in, &self.window)?;
        let mut out = vec![x[0], self.weight.shape()[0]];
        for a in 0..self.window.rank() {
            out.push(window_output(x[2 + a], &self.window, a)?);
        }
        Ok(out)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl Conv {
    fn attrs(&self) -> Vec<AttributeProto> {
        let mut a = window_attrs(&self.window);
        a.push(attr_int("group", self.groups as i64));
        a
    }

    fn apply(&self, cx: &mut EmitCx, x: &Sym, with_bias: bool) -> Sym {
        let key = cx.key("weight");
        let w = cx.b.cached_constant(&key, || self.weight.clone());
        let bias = if with_bias { bias_of(cx, &self.bias) } else { None };
        let mut shape = vec![x.shape[0], self.weight.shape()[0]];
        for a in 0..self.window.rank() {
            shape.push(window_output(x.shape[2 + a], &self.window, a).expect("shape checked at import"));
        }
        conv_node(cx, "Conv", x, &w, bias.as_ref(), self.attrs(), shape)
    }
}

impl OpRule for Conv {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        self.apply(cx, &ins[0], true)
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], out: &Sym, grad: &Sym) -> Vec<Sym> {
        let key = cx.key("weight");
        let w = cx.b.cached_constant(&key, || self.weight.clone());
        let mut attrs = self.attrs();
        attrs
            .push(attr_ints("output_padding", &output_padding_back(&self.window, &ins[0].shape[2..], &out.shape[2..])));
        let mut shape = ins[0].shape.clone();
        shape[0] = grad.shape[0];
        vec![conv_node(cx, "ConvTranspose", grad, &w, None, attrs, shape)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        self.apply(cx, &t[0], false)
    }
}

impl OpSpec for ConvTranspose {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        divisible_by_groups(self.weight.shape()[0], self.groups)?;
        check_channels(x, self.weight.shape()[0], &self.window)?;
        let mut out = vec![x[0], grouped_channels(self.weight.shape()[1], self.groups)?];
        for a in 0..self.window.rank() {
            let w = &self.window;
            let too_large = || ShapeError::TooLarge(format!("the output extent along spatial axis {a} overflows"));
            let strided = (x[2 + a] - 1).checked_mul(w.strides[a]).ok_or_else(too_large)?;
            let full = sum3(strided, dilated_kernel(w, a)?, self.output_padding[a], "the output extent")?;
            let cut = w.pad_begin(a).checked_add(w.pad_end(a)).ok_or_else(too_large)?;
            if full <= cut {
                return Err(format!("padding {cut} leaves no output along spatial axis {a}").into());
            }
            out.push(full - cut);
        }
        Ok(out)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl ConvTranspose {
    fn apply(&self, cx: &mut EmitCx, x: &Sym, out_shape: &[usize], with_bias: bool) -> Sym {
        let key = cx.key("weight");
        let w = cx.b.cached_constant(&key, || self.weight.clone());
        let bias = if with_bias { bias_of(cx, &self.bias) } else { None };
        let mut attrs = window_attrs(&self.window);
        attrs.push(attr_int("group", self.groups as i64));
        attrs.push(attr_ints("output_padding", &self.output_padding));
        let mut shape = out_shape.to_vec();
        shape[0] = x.shape[0];
        conv_node(cx, "ConvTranspose", x, &w, bias.as_ref(), attrs, shape)
    }
}

impl OpRule for ConvTranspose {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], out: &[usize]) -> Sym {
        self.apply(cx, &ins[0], out, true)
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let key = cx.key("weight");
        let w = cx.b.cached_constant(&key, || self.weight.clone());
        let mut attrs = window_attrs(&self.window);
        attrs.push(attr_int("group", self.groups as i64));
        let mut shape = ins[0].shape.clone();
        shape[0] = grad.shape[0];
        vec![conv_node(cx, "Conv", grad, &w, None, attrs, shape)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], out: &Sym, t: &[Sym]) -> Sym {
        self.apply(cx, &t[0], &out.shape, false)
    }
}

impl OpSpec for Affine {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        for t in [&self.scale, &self.shift].into_iter().flatten() {
            broadcast_into(t.shape(), x)?;
        }
        Ok(x.to_vec())
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl Affine {
    fn scale(&self, cx: &mut EmitCx) -> Option<Sym> {
        let key = cx.key("scale");
        self.scale.as_ref().map(|s| cx.b.cached_constant(&key, || s.clone()))
    }
}

impl OpRule for Affine {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        let scaled = match self.scale(cx) {
            Some(s) => cx.b.mul(&ins[0], &s),
            None => ins[0].clone(),
        };
        match &self.shift {
            Some(shift) => {
                let key = cx.key("shift");
                let c = cx.b.cached_constant(&key, || shift.clone());
                cx.b.add(&scaled, &c)
            }
            None => scaled,
        }
    }

    fn vjp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        vec![match self.scale(cx) {
            Some(s) => cx.b.mul(grad, &s),
            None => grad.clone(),
        }]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        match self.scale(cx) {
            Some(s) => cx.b.mul(&t[0], &s),
            None => t[0].clone(),
        }
    }
}
