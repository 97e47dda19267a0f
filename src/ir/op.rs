//! The closed set of layer ops the IR knows, with their constant parameters.
//!
//! Axes are numbered in the batched tensor (axis 0 is the batch axis), as in
//! ONNX. Weights are owned by the op, in f32.

use ndarray::{Array1, Array2, ArrayD};

/// `y = x @ weight (+ bias)` over the last axis. `weight` is `[in, out]`.
#[derive(Debug, Clone)]
pub struct Dense {
    pub weight: Array2<f32>,
    pub bias: Option<Array1<f32>>,
}

/// Geometry shared by convolutions and pools over `k` spatial axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Explicit padding: `k` begin values then `k` end values, as ONNX.
    pub pads: Vec<usize>,
}

impl Window {
    pub fn rank(&self) -> usize {
        self.kernel.len()
    }
    pub fn pad_begin(&self, axis: usize) -> usize {
        self.pads[axis]
    }
    pub fn pad_end(&self, axis: usize) -> usize {
        self.pads[axis + self.rank()]
    }
    /// Extent of the dilated kernel along `axis`.
    pub fn dilated_kernel(&self, axis: usize) -> usize {
        self.dilations[axis] * (self.kernel[axis] - 1) + 1
    }
}

/// N-d convolution, weight `[c_out, c_in / groups, k...]`.
#[derive(Debug, Clone)]
pub struct Conv {
    pub weight: ArrayD<f32>,
    pub bias: Option<Array1<f32>>,
    pub window: Window,
    pub groups: usize,
}

/// N-d transposed convolution, weight `[c_in, c_out / groups, k...]`.
#[derive(Debug, Clone)]
pub struct ConvTranspose {
    pub weight: ArrayD<f32>,
    pub bias: Option<Array1<f32>>,
    pub window: Window,
    pub groups: usize,
    pub output_padding: Vec<usize>,
}

/// `y = x * scale + shift`, elementwise with constants broadcast (numpy
/// rules, aligned right) against the batched input; their leading axis, when
/// they have the input's full rank, is 1. Folded BatchNormalization, input
/// normalisation (Sub/Div/Mul by constants), bias adds and negation.
#[derive(Debug, Clone)]
pub struct Affine {
    pub scale: Option<ArrayD<f32>>,
    pub shift: Option<ArrayD<f32>>,
}

/// Sum (or difference, `negate_rhs`) of two computed tensors, numpy
/// broadcasting: residual connections.
#[derive(Debug, Clone)]
pub struct Add {
    pub negate_rhs: bool,
}

#[derive(Debug, Clone)]
pub struct Concat {
    pub axis: usize,
}

/// Reshape to `shape`, the per-sample shape (without the batch axis).
#[derive(Debug, Clone)]
pub struct Reshape {
    pub shape: Vec<usize>,
}

/// Permutation of the batched axes; `perm[0] == 0`.
#[derive(Debug, Clone)]
pub struct Transpose {
    pub perm: Vec<usize>,
}

/// Max pooling over the spatial axes of an `[N, C, spatial...]` tensor.
/// `ceil_mode` is already folded into extra end padding, which never wins.
#[derive(Debug, Clone)]
pub struct MaxPool {
    pub window: Window,
}

/// Average pooling; `count_include_pad` says whether padded zeros count in
/// the divisor (ONNX attribute of the same name).
#[derive(Debug, Clone)]
pub struct AvgPool {
    pub window: Window,
    pub count_include_pad: bool,
}

/// `max(x, 0)`: a ReLU site.
#[derive(Debug, Clone)]
pub struct Relu;

/// `x` for `x > 0`, `alpha * x` otherwise: also an activation site.
#[derive(Debug, Clone)]
pub struct LeakyRelu {
    pub alpha: f32,
}

#[derive(Debug, Clone)]
pub struct Sigmoid;

#[derive(Debug, Clone)]
pub struct Tanh;

/// Softmax over one axis (ONNX opset 13 semantics).
#[derive(Debug, Clone)]
pub struct Softmax {
    pub axis: usize,
}

/// Log-softmax over one axis (ONNX opset 13 semantics).
#[derive(Debug, Clone)]
pub struct LogSoftmax {
    pub axis: usize,
}

/// Constant zero padding of any non-batch axes (`pads` as ONNX: all begins,
/// then all ends, over every batched axis).
#[derive(Debug, Clone)]
pub struct Pad {
    pub pads: Vec<usize>,
}

/// One layer of the IR.
#[derive(Debug, Clone)]
pub enum Op {
    Dense(Dense),
    Conv(Conv),
    ConvTranspose(ConvTranspose),
    Affine(Affine),
    Add(Add),
    Concat(Concat),
    Reshape(Reshape),
    Transpose(Transpose),
    Pad(Pad),
    MaxPool(MaxPool),
    AvgPool(AvgPool),
    Relu(Relu),
    LeakyRelu(LeakyRelu),
    Sigmoid(Sigmoid),
    Tanh(Tanh),
    Softmax(Softmax),
    LogSoftmax(LogSoftmax),
}

/// `dispatch!(op, o => expr)`: `expr` with `o` bound to the data of `op`,
/// whatever its kind. The one list of the IR's ops, beside the enum: every
/// per-op trait (the shape rule and linearity of [`super::spec::OpSpec`],
/// the lowering's `OpRule`) dispatches through it, so a new op is one line
/// here and, wherever the trait is implemented, an op that lacks it does
/// not compile.
macro_rules! dispatch {
    ($op:expr, $o:ident => $body:expr) => {
        match $op {
            $crate::ir::op::Op::Dense($o) => $body,
            $crate::ir::op::Op::Conv($o) => $body,
            $crate::ir::op::Op::ConvTranspose($o) => $body,
            $crate::ir::op::Op::Affine($o) => $body,
            $crate::ir::op::Op::Add($o) => $body,
            $crate::ir::op::Op::Concat($o) => $body,
            $crate::ir::op::Op::Reshape($o) => $body,
            $crate::ir::op::Op::Transpose($o) => $body,
            $crate::ir::op::Op::Pad($o) => $body,
            $crate::ir::op::Op::MaxPool($o) => $body,
            $crate::ir::op::Op::AvgPool($o) => $body,
            $crate::ir::op::Op::Relu($o) => $body,
            $crate::ir::op::Op::LeakyRelu($o) => $body,
            $crate::ir::op::Op::Sigmoid($o) => $body,
            $crate::ir::op::Op::Tanh($o) => $body,
            $crate::ir::op::Op::Softmax($o) => $body,
            $crate::ir::op::Op::LogSoftmax($o) => $body,
        }
    };
}
pub(crate) use dispatch;

impl Op {
    /// The op's name as `inspect` shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense(_) => "Dense",
            Op::Conv(_) => "Conv",
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::Affine(_) => "Affine",
            Op::Add(a) if a.negate_rhs => "Sub",
            Op::Add(_) => "Add",
            Op::Concat(_) => "Concat",
            Op::Reshape(_) => "Reshape",
            Op::Transpose(_) => "Transpose",
            Op::Pad(_) => "Pad",
            Op::MaxPool(_) => "MaxPool",
            Op::AvgPool(_) => "AvgPool",
            Op::Relu(_) => "Relu",
            Op::LeakyRelu(_) => "LeakyRelu",
            Op::Sigmoid(_) => "Sigmoid",
            Op::Tanh(_) => "Tanh",
            Op::Softmax(_) => "Softmax",
            Op::LogSoftmax(_) => "LogSoftmax",
        }
    }

    /// Number of constant parameters (weights, biases, affine constants).
    pub fn parameter_count(&self) -> usize {
        let opt1 = |b: &Option<Array1<f32>>| b.as_ref().map_or(0, |b| b.len());
        let optd = |b: &Option<ArrayD<f32>>| b.as_ref().map_or(0, |b| b.len());
        match self {
            Op::Dense(d) => d.weight.len() + opt1(&d.bias),
            Op::Conv(c) => c.weight.len() + opt1(&c.bias),
            Op::ConvTranspose(c) => c.weight.len() + opt1(&c.bias),
            Op::Affine(a) => optd(&a.scale) + optd(&a.shift),
            Op::Add(_)
            | Op::Concat(_)
            | Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Pad(_)
            | Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::Relu(_)
            | Op::LeakyRelu(_)
            | Op::Sigmoid(_)
            | Op::Tanh(_)
            | Op::Softmax(_)
            | Op::LogSoftmax(_) => 0,
        }
    }

    /// The negative-side slope when this op is an activation site (ReLU: 0).
    pub fn activation_slope(&self) -> Option<f32> {
        match self {
            Op::Relu(_) => Some(0.0),
            Op::LeakyRelu(l) => Some(l.alpha),
            _ => None,
        }
    }
}
