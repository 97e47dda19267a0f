//! The pools. A max pool's winners are a one-hot mask over each
//! window, taken from the true network: the surrogate and every backward
//! pass read values through it (ALGORITHM.md section 3). Windows are
//! extracted by a depthwise convolution with one-hot kernels, whose
//! transpose routes gradients back, overlaps summed. Average pooling is a
//! depthwise convolution with a ones kernel, divided by the window count,
//! and so linear; a max pool's Jacobian moves with its winners.

use ndarray::{ArrayD, IxDyn};

use super::linear::{output_padding_back, window_attrs};
use super::{EmitCx, OpRule};
use crate::ir::shape::{window_output, ShapeError};
use crate::ir::{AvgPool, MaxPool, OpSpec, Window};
use crate::writer::builder::{attr_int, attr_ints, GraphBuilder, Sym};

/// Number of elements of a window.
fn window_len(w: &Window) -> usize {
    w.kernel.iter().product()
}

/// Output extents of the window over the spatial extents `spatial`.
fn out_spatial(w: &Window, spatial: &[usize]) -> Vec<usize> {
    (0..w.rank()).map(|a| window_output(spatial[a], w, a).expect("shape checked at import")).collect()
}

/// Row-major positions of the kernel, one per window element.
fn kernel_positions(w: &Window) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &k in &w.kernel {
        out = out.into_iter().flat_map(|p| (0..k).map(move |i| [p.clone(), vec![i]].concat())).collect();
    }
    out
}

/// Depthwise kernel `[C * window, 1, k...]`: output channel `c * window + j`
/// copies window element `j` of channel `c`.
fn one_hot_kernel(w: &Window, channels: usize) -> ArrayD<f32> {
    let n = window_len(w);
    let mut shape = vec![channels * n, 1];
    shape.extend_from_slice(&w.kernel);
    let mut k = ArrayD::zeros(IxDyn(&shape));
    for (j, pos) in kernel_positions(w).into_iter().enumerate() {
        for c in 0..channels {
            let mut idx = vec![c * n + j, 0];
            idx.extend(pos.iter().copied());
            k[IxDyn(&idx)] = 1.0;
        }
    }
    k
}

fn depthwise_attrs(w: &Window, channels: usize) -> Vec<tract_onnx::pb::AttributeProto> {
    let mut a = window_attrs(w);
    a.push(attr_int("group", channels as i64));
    a
}

/// Whether the one window covers the whole unpadded input (a global pool):
/// its elements are the input itself, no one-hot kernel needed (that kernel
/// grows with the square of the input's spatial size).
fn covers_whole(w: &Window, spatial: &[usize]) -> bool {
    w.kernel == spatial && w.pads.iter().all(|&p| p == 0) && w.dilations.iter().all(|&d| d == 1)
}

/// `[B, C, window, out...]`: every window's elements of `x` (zero padded).
fn patches(b: &mut GraphBuilder, key: &str, w: &Window, x: &Sym) -> Sym {
    let c = x.shape[1];
    let n = window_len(w);
    if covers_whole(w, &x.shape[2..]) {
        let ones = vec![1; w.rank()];
        return b.reshape(x, &[vec![x.shape[0], c, n], ones].concat());
    }
    let kernel = b.cached_constant(key, || one_hot_kernel(w, c));
    let out = out_spatial(w, &x.shape[2..]);
    let conv_shape = [vec![x.shape[0], c * n], out.clone()].concat();
    let p = b.node("Conv", &[x, &kernel], depthwise_attrs(w, c), conv_shape);
    b.reshape(&p, &[vec![x.shape[0], c, n], out].concat())
}

/// Adds the window-gathered `grad` (`[B, C, window, out...]`) back onto the
/// input positions it came from.
fn scatter_back(b: &mut GraphBuilder, key: &str, w: &Window, per_element: &Sym, input: &[usize]) -> Sym {
    let c = input[1];
    let n = window_len(w);
    if covers_whole(w, &input[2..]) {
        return b.reshape(per_element, &[&[per_element.shape[0]], &input[1..]].concat());
    }
    let kernel = b.cached_constant(key, || one_hot_kernel(w, c));
    let out = per_element.shape[3..].to_vec();
    let flat = b.reshape(per_element, &[vec![per_element.shape[0], c * n], out.clone()].concat());
    let mut attrs = depthwise_attrs(w, c);
    attrs.push(attr_ints("output_padding", &output_padding_back(w, &input[2..], &out)));
    let mut shape = input.to_vec();
    shape[0] = per_element.shape[0];
    b.node("ConvTranspose", &[&flat, &kernel], attrs, shape)
}

/// Whether kernel position `pos` of the window at output position `out`
/// reads the input (not its padding).
fn reads_input(w: &Window, spatial: &[usize], out: &[usize], pos: &[usize]) -> bool {
    (0..w.rank()).all(|a| {
        let p = (out[a] * w.strides[a] + pos[a] * w.dilations[a]) as i64 - w.pad_begin(a) as i64;
        p >= 0 && (p as usize) < spatial[a]
    })
}

/// `-1e30` at window elements that fall into padding, else 0: `[1, 1, window, out...]`.
fn padding_penalty(w: &Window, spatial: &[usize]) -> Option<ArrayD<f32>> {
    if w.pads.iter().all(|&p| p == 0) {
        return None;
    }
    let out = out_spatial(w, spatial);
    let positions = kernel_positions(w);
    let shape = [vec![1, 1, positions.len()], out.clone()].concat();
    let mut pen = ArrayD::zeros(IxDyn(&shape));
    for (idx, v) in pen.indexed_iter_mut() {
        let out_pos: Vec<usize> = (0..w.rank()).map(|a| idx[3 + a]).collect();
        if !reads_input(w, spatial, &out_pos, &positions[idx[2]]) {
            *v = -1e30;
        }
    }
    Some(pen)
}

/// The batched output shape of a pool with window `w` over `x`.
fn pool_shape(x: &[usize], w: &Window) -> Result<Vec<usize>, ShapeError> {
    if x.len() != 2 + w.rank() {
        return Err(format!("input {x:?} does not fit a {}-d pooling window", w.rank()).into());
    }
    let mut out = x[..2].to_vec();
    for a in 0..w.rank() {
        out.push(window_output(x[2 + a], w, a)?);
    }
    Ok(out)
}

impl OpSpec for MaxPool {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        pool_shape(x, &self.window)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        false
    }
}

impl MaxPool {
    /// The one-hot winner mask `[B, C, window, out...]` of the max pool over
    /// `x`: the first maximum of each window, padding never winning.
    pub fn winners(&self, b: &mut GraphBuilder, node: usize, x: &Sym) -> Sym {
        let p = patches(b, &format!("n{node}.windows"), &self.window, x);
        let p = match padding_penalty(&self.window, &x.shape[2..]) {
            Some(pen) => {
                let pen = b.cached_constant(&format!("n{node}.penalty"), || pen);
                b.add(&p, &pen)
            }
            None => p,
        };
        let arg = b.argmax(&p, 2);
        let n = window_len(&self.window);
        let mut shape = vec![1; p.rank()];
        shape[2] = n;
        let range = ArrayD::from_shape_vec(IxDyn(&shape), (0..n as i64).collect()).expect("range of its length");
        let range = b.constant_i64_array("window_index", &range);
        let hit = b.equal(&arg, &range);
        b.to_float(&hit)
    }

    fn gather(&self, cx: &mut EmitCx, x: &Sym, winners: &Sym) -> Sym {
        let key = cx.key("windows");
        let p = patches(cx.b, &key, &self.window, x);
        let picked = cx.b.mul(&p, winners);
        cx.b.reduce_sum(&picked, &[2], false)
    }
}

impl OpRule for MaxPool {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], out: &[usize]) -> Sym {
        match cx.mode {
            super::Mode::True => {
                let mut shape = out.to_vec();
                shape[0] = ins[0].shape[0];
                cx.b.node("MaxPool", &[&ins[0]], window_attrs(&self.window), shape)
            }
            super::Mode::Gated => {
                let w = cx.winners().clone();
                self.gather(cx, &ins[0], &w)
            }
        }
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let mut wide = grad.shape.clone();
        wide.insert(2, 1);
        let g = cx.b.reshape(grad, &wide);
        let w = cx.winners().clone();
        let per_element = cx.b.mul(&g, &w);
        let key = cx.key("windows");
        vec![scatter_back(cx.b, &key, &self.window, &per_element, &ins[0].shape)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        let w = cx.winners().clone();
        let w = cx.per_tangent(&w);
        self.gather(cx, &t[0], &w)
    }
}

impl OpSpec for AvgPool {
    fn output_shape(&self, x: &[usize], _others: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
        pool_shape(x, &self.window)
    }

    fn piecewise_linear_in_gates(&self) -> bool {
        true
    }
}

impl AvgPool {
    /// `1 / count` per output position `[1, 1, out...]`.
    fn inverse_count(&self, spatial: &[usize]) -> ArrayD<f32> {
        let w = &self.window;
        let out = out_spatial(w, spatial);
        let shape = [vec![1, 1], out.clone()].concat();
        let positions = kernel_positions(w);
        let mut inv = ArrayD::zeros(IxDyn(&shape));
        for (idx, v) in inv.indexed_iter_mut() {
            let count = if self.count_include_pad {
                positions.len()
            } else {
                let out_pos: Vec<usize> = (0..w.rank()).map(|a| idx[2 + a]).collect();
                positions.iter().filter(|pos| reads_input(w, spatial, &out_pos, pos)).count()
            };
            *v = 1.0 / count.max(1) as f32;
        }
        inv
    }

    fn ones_kernel(&self, cx: &mut EmitCx, channels: usize) -> Sym {
        let key = cx.key("ones");
        let shape = [vec![channels, 1], self.window.kernel.clone()].concat();
        cx.b.cached_constant(&key, || ArrayD::from_elem(IxDyn(&shape), 1.0))
    }

    fn apply(&self, cx: &mut EmitCx, x: &Sym) -> Sym {
        let c = x.shape[1];
        let kernel = self.ones_kernel(cx, c);
        let out = out_spatial(&self.window, &x.shape[2..]);
        let summed =
            cx.b.node("Conv", &[x, &kernel], depthwise_attrs(&self.window, c), [vec![x.shape[0], c], out].concat());
        let key = cx.key("inverse_count");
        let inv = cx.b.cached_constant(&key, || self.inverse_count(&x.shape[2..]));
        cx.b.mul(&summed, &inv)
    }
}

impl OpRule for AvgPool {
    fn forward(&self, cx: &mut EmitCx, ins: &[Sym], _out: &[usize]) -> Sym {
        self.apply(cx, &ins[0])
    }

    fn vjp(&self, cx: &mut EmitCx, ins: &[Sym], _out: &Sym, grad: &Sym) -> Vec<Sym> {
        let x = &ins[0];
        let key = cx.key("inverse_count");
        let inv = cx.b.cached_constant(&key, || self.inverse_count(&x.shape[2..]));
        let g = cx.b.mul(grad, &inv);
        let c = x.shape[1];
        let kernel = self.ones_kernel(cx, c);
        let mut attrs = depthwise_attrs(&self.window, c);
        attrs.push(attr_ints("output_padding", &output_padding_back(&self.window, &x.shape[2..], &grad.shape[2..])));
        let mut shape = x.shape.clone();
        shape[0] = grad.shape[0];
        vec![cx.b.node("ConvTranspose", &[&g, &kernel], attrs, shape)]
    }

    fn jvp(&self, cx: &mut EmitCx, _ins: &[Sym], _out: &Sym, t: &[Sym]) -> Sym {
        self.apply(cx, &t[0])
    }
}
