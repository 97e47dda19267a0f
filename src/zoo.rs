//! Small ONNX models built in code, written the way exporters write them
//! (PyTorch, tf2onnx, skl2onnx): one per supported op family, a residual CNN
//! with BatchNorm and MaxPool, an NHWC model with Transposes, a generator.
//! Tests and examples use them; weights are seeded.

use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tract_onnx::pb::NodeProto;

use crate::writer::builder::{attr_float, attr_int, attr_ints, attr_string, GraphBuilder, OnnxGraph, Precision, Sym};

/// A model of the zoo.
pub struct ZooModel {
    pub name: &'static str,
    pub graph: OnnxGraph,
    /// ONNX ops it exercises.
    pub ops: &'static [&'static str],
}

struct Maker {
    b: GraphBuilder,
    rng: ChaCha8Rng,
}

impl Maker {
    fn new(name: &str, seed: u64) -> Self {
        Maker {
            b: GraphBuilder::new(name, Precision::F32).with_symbolic_batch("N"),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn opset(mut self, opset: i64) -> Self {
        self.b = self.b.with_opset(opset);
        self
    }

    fn array(&mut self, shape: &[usize], scale: f32) -> ArrayD<f32> {
        let n: usize = shape.iter().product();
        let v = (0..n).map(|_| (self.rng.random::<f32>() * 2.0 - 1.0) * scale).collect();
        ArrayD::from_shape_vec(IxDyn(shape), v).expect("random values fill the shape")
    }

    /// A random weight of the given shape, scaled by `1/sqrt(fan_in)`.
    fn weight(&mut self, shape: &[usize], fan_in: usize) -> Sym {
        let a = self.array(shape, 1.7 / (fan_in as f32).sqrt());
        self.b.constant("w", &a)
    }

    fn positive(&mut self, shape: &[usize]) -> Sym {
        let a = self.array(shape, 0.5).mapv(|v| v + 1.0);
        self.b.constant("p", &a)
    }

    fn op(&mut self, op: &str, ins: &[&Sym], attrs: Vec<tract_onnx::pb::AttributeProto>, shape: Vec<usize>) -> Sym {
        self.b.node(op, ins, attrs, shape)
    }

    fn relu(&mut self, x: &Sym) -> Sym {
        self.op("Relu", &[x], vec![], x.shape.clone())
    }

    fn gemm(&mut self, x: &Sym, out: usize) -> Sym {
        let n = x.shape[1];
        let w = self.weight(&[out, n], n);
        let c = self.weight(&[out], 4);
        self.op("Gemm", &[x, &w, &c], vec![attr_int("transB", 1)], vec![x.shape[0], out])
    }

    fn conv(
        &mut self,
        x: &Sym,
        c_out: usize,
        k: usize,
        attrs: Vec<tract_onnx::pb::AttributeProto>,
        out_hw: usize,
    ) -> Sym {
        let c_in = x.shape[1];
        let w = self.weight(&[c_out, c_in, k, k], c_in * k * k);
        let bias = self.weight(&[c_out], 4);
        self.op("Conv", &[x, &w, &bias], attrs, vec![x.shape[0], c_out, out_hw, out_hw])
    }

    fn batch_norm(&mut self, x: &Sym) -> Sym {
        let c = x.shape[1];
        let (g, beta, m, v) = (self.positive(&[c]), self.weight(&[c], 4), self.weight(&[c], 1), self.positive(&[c]));
        self.op("BatchNormalization", &[x, &g, &beta, &m, &v], vec![attr_float("epsilon", 1e-3)], x.shape.clone())
    }

    fn ints(&mut self, v: &[i64]) -> Sym {
        self.b.constant_i64("i", v)
    }

    fn finish(mut self, out: &Sym, name: &str) -> OnnxGraph {
        self.b.output(out, name);
        self.b.finish()
    }
}

const B: usize = 1;

/// Gemm with transB, alpha and beta; ReLU; a second Gemm.
fn mlp_gemm() -> OnnxGraph {
    let mut m = Maker::new("mlp_gemm", 1);
    let x = m.b.input("x", vec![B, 6]);
    let w = m.weight(&[5, 6], 6);
    let c = m.weight(&[1, 5], 2);
    let attrs = vec![attr_int("transB", 1), attr_float("alpha", 0.5), attr_float("beta", 2.0)];
    let h = m.op("Gemm", &[&x, &w, &c], attrs, vec![B, 5]);
    let h = m.relu(&h);
    let y = m.gemm(&h, 3);
    m.finish(&y, "y")
}

/// MatMul + Add, as skl2onnx and tf2onnx write dense layers; LeakyRelu.
fn matmul_add() -> OnnxGraph {
    let mut m = Maker::new("matmul_add", 2);
    let x = m.b.input("x", vec![B, 7]);
    let w = m.weight(&[7, 9], 7);
    let c = m.weight(&[9], 2);
    let h = m.op("MatMul", &[&x, &w], vec![], vec![B, 9]);
    let h = m.op("Add", &[&h, &c], vec![], vec![B, 9]);
    let h = m.relu(&h);
    let w2 = m.weight(&[9, 4], 9);
    let h = m.op("MatMul", &[&h, &w2], vec![], vec![B, 4]);
    let h = m.op("LeakyRelu", &[&h], vec![attr_float("alpha", 0.1)], vec![B, 4]);
    let w3 = m.weight(&[4, 2], 4);
    let y = m.op("MatMul", &[&h, &w3], vec![], vec![B, 2]);
    m.finish(&y, "y")
}

/// Conv with pads and strides, then a grouped dilated conv, global average
/// pooling, Flatten, Gemm.
fn conv_net() -> OnnxGraph {
    let mut m = Maker::new("conv_net", 3);
    let x = m.b.input("image", vec![B, 2, 9, 9]);
    let a = vec![attr_ints("pads", &[1, 1, 1, 1]), attr_ints("strides", &[2, 2]), attr_ints("kernel_shape", &[3, 3])];
    let h = m.conv(&x, 4, 3, a, 5);
    let h = m.relu(&h);
    let w = m.weight(&[6, 2, 2, 2], 8);
    let a = vec![attr_int("group", 2), attr_ints("dilations", &[2, 2]), attr_ints("pads", &[1, 0, 1, 0])];
    let h = m.op("Conv", &[&h, &w], a, vec![B, 6, 5, 3]);
    let h = m.relu(&h);
    let h = m.op("GlobalAveragePool", &[&h], vec![], vec![B, 6, 1, 1]);
    let h = m.op("Flatten", &[&h], vec![attr_int("axis", 1)], vec![B, 6]);
    let y = m.gemm(&h, 3);
    m.finish(&y, "logits")
}

/// A residual CNN: Conv, BatchNorm, ReLU, MaxPool (padded, ceil mode), a
/// residual block with Add, AveragePool without counting pads, Softmax.
fn residual_cnn() -> OnnxGraph {
    let mut m = Maker::new("residual_cnn", 4);
    let x = m.b.input("input", vec![B, 1, 10, 10]);
    let h = m.conv(&x, 4, 3, vec![attr_ints("pads", &[1, 1, 1, 1])], 10);
    let h = m.batch_norm(&h);
    let h = m.relu(&h);
    let pool = vec![
        attr_ints("kernel_shape", &[3, 3]),
        attr_ints("strides", &[2, 2]),
        attr_ints("pads", &[1, 1, 0, 0]),
        attr_int("ceil_mode", 1),
    ];
    let p = m.op("MaxPool", &[&h], pool, vec![B, 4, 5, 5]);
    let r = m.conv(&p, 4, 3, vec![attr_ints("pads", &[1, 1, 1, 1])], 5);
    let r = m.batch_norm(&r);
    let r = m.relu(&r);
    let r = m.conv(&r, 4, 3, vec![attr_ints("pads", &[1, 1, 1, 1])], 5);
    let s = m.op("Add", &[&p, &r], vec![], vec![B, 4, 5, 5]);
    let s = m.relu(&s);
    let avg = vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2]), attr_ints("pads", &[1, 1, 1, 1])];
    let a = m.op("AveragePool", &[&s], avg, vec![B, 4, 3, 3]);
    let f = m.op("Flatten", &[&a], vec![], vec![B, 36]);
    let l = m.gemm(&f, 5);
    let y = m.op("Softmax", &[&l], vec![attr_int("axis", 1)], vec![B, 5]);
    m.finish(&y, "probabilities")
}

/// NHWC input as tf2onnx writes it: Transposes around a Conv, MaxPool
/// without padding, a Reshape with -1, MatMul + Add.
fn nhwc_tf() -> OnnxGraph {
    let mut m = Maker::new("nhwc_tf", 5);
    let x = m.b.input("input_1", vec![B, 8, 8, 3]);
    let t = m.op("Transpose", &[&x], vec![attr_ints("perm", &[0, 3, 1, 2])], vec![B, 3, 8, 8]);
    let h = m.conv(&t, 4, 3, vec![attr_string("auto_pad", "SAME_UPPER")], 8);
    let h = m.relu(&h);
    let p = m.op(
        "MaxPool",
        &[&h],
        vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2])],
        vec![B, 4, 4, 4],
    );
    let back = m.op("Transpose", &[&p], vec![attr_ints("perm", &[0, 2, 3, 1])], vec![B, 4, 4, 4]);
    let shape = m.ints(&[-1, 64]);
    let f = m.op("Reshape", &[&back, &shape], vec![], vec![B, 64]);
    let w = m.weight(&[64, 10], 64);
    let c = m.weight(&[10], 2);
    let h = m.op("MatMul", &[&f, &w], vec![], vec![B, 10]);
    let h = m.op("Add", &[&h, &c], vec![], vec![B, 10]);
    let h = m.relu(&h);
    let w = m.weight(&[10, 4], 10);
    let y = m.op("MatMul", &[&h, &w], vec![], vec![B, 4]);
    m.finish(&y, "dense_2")
}

/// A generator: Gemm, Reshape, ConvTranspose (stride, pads, output
/// padding, groups), Sigmoid and Tanh outputs.
fn generator() -> OnnxGraph {
    let mut m = Maker::new("generator", 6);
    let z = m.b.input("z", vec![B, 5]);
    let h = m.gemm(&z, 36);
    let h = m.relu(&h);
    let shape = m.ints(&[-1, 4, 3, 3]);
    let h = m.op("Reshape", &[&h, &shape], vec![], vec![B, 4, 3, 3]);
    let w = m.weight(&[4, 3, 3, 3], 12);
    let bias = m.weight(&[6], 4);
    let a = vec![
        attr_ints("strides", &[2, 2]),
        attr_ints("pads", &[1, 1, 1, 1]),
        attr_ints("output_padding", &[1, 1]),
        attr_int("group", 2),
    ];
    let h = m.op("ConvTranspose", &[&h, &w, &bias], a, vec![B, 6, 6, 6]);
    let h = m.relu(&h);
    let w = m.weight(&[6, 1, 2, 2], 6);
    let h = m.op("ConvTranspose", &[&h, &w], vec![attr_ints("strides", &[2, 2])], vec![B, 1, 12, 12]);
    let y = m.op("Sigmoid", &[&h], vec![], vec![B, 1, 12, 12]);
    let t = m.op("Tanh", &[&h], vec![], vec![B, 1, 12, 12]);
    m.b.output(&t, "tanh_image");
    m.finish(&y, "image")
}

/// Input normalisation by Sub/Div/Mul constants, Identity,
/// Dropout, Unsqueeze/Squeeze/Concat, a Shape-computed flatten, Pad, Clip,
/// Neg, initializers listed as graph inputs, LogSoftmax.
fn layout_ops() -> OnnxGraph {
    let mut m = Maker::new("layout_ops", 7);
    let x = m.b.input("x", vec![B, 2, 4, 4]);
    let mean = m.weight(&[1, 2, 1, 1], 1);
    let std = m.positive(&[1, 2, 1, 1]);
    let h = m.op("Sub", &[&x, &mean], vec![], x.shape.clone());
    let h = m.op("Div", &[&h, &std], vec![], x.shape.clone());
    let two = m.b.constant("two", &ArrayD::from_elem(IxDyn(&[]), 2.0));
    let h = m.op("Mul", &[&two, &h], vec![], x.shape.clone());
    let h = m.op("Identity", &[&h], vec![], x.shape.clone());
    let pads = m.ints(&[0, 0, 1, 0, 0, 0, 0, 1]);
    let h = m.op("Pad", &[&h, &pads], vec![attr_string("mode", "constant")], vec![B, 2, 5, 5]);
    let h = m.conv(&h, 3, 2, vec![], 4);
    let lo = m.b.constant("lo", &ArrayD::from_elem(IxDyn(&[]), -0.5));
    let hi = m.b.constant("hi", &ArrayD::from_elem(IxDyn(&[]), 0.75));
    let h = m.op("Clip", &[&h, &lo, &hi], vec![], h.shape.clone());
    let h = m.op("Dropout", &[&h], vec![], h.shape.clone());
    // Flatten the way older PyTorch exports write x.view(x.size(0), -1).
    let shape = m.op("Shape", &[&h], vec![], vec![4]);
    let zero = m.ints(&[0]);
    let n = m.op("Gather", &[&shape, &zero], vec![attr_int("axis", 0)], vec![1]);
    let minus = m.ints(&[-1]);
    let spec = m.op("Concat", &[&n, &minus], vec![attr_int("axis", 0)], vec![2]);
    let f = m.op("Reshape", &[&h, &spec], vec![], vec![B, 48]);
    let axes = m.ints(&[2]);
    let u = m.op("Unsqueeze", &[&f, &axes], vec![], vec![B, 48, 1]);
    let neg = m.op("Neg", &[&u], vec![], vec![B, 48, 1]);
    let c = m.op("Concat", &[&u, &neg], vec![attr_int("axis", 2)], vec![B, 48, 2]);
    let c = m.relu(&c);
    let flat = m.ints(&[0, 96, 1]);
    let c = m.op("Reshape", &[&c, &flat], vec![], vec![B, 96, 1]);
    let s = m.op("Squeeze", &[&c, &axes], vec![], vec![B, 96]);
    let y = m.gemm(&s, 4);
    let y = m.op("LogSoftmax", &[&y], vec![attr_int("axis", -1)], vec![B, 4]);
    let mut g = m.finish(&y, "log_probs");
    // Older exporters list initializers among the graph inputs too.
    if let Some(graph) = g.model.graph.as_mut() {
        let extra: Vec<_> = graph
            .initializer
            .iter()
            .filter(|t| t.data_type == tract_onnx::pb::tensor_proto::DataType::Float as i32)
            .map(|t| tract_onnx::pb::ValueInfoProto { name: t.name.clone(), ..Default::default() })
            .collect();
        graph.input.extend(extra);
    }
    g
}

/// Opset-10 forms, as older exporters write them: Squeeze/Unsqueeze axes
/// and Clip bounds as attributes, Softmax with the coerced-2d axis.
fn opset10() -> OnnxGraph {
    let mut m = Maker::new("opset10", 8).opset(10);
    let x = m.b.input("x", vec![B, 3, 2]);
    let u = m.op("Unsqueeze", &[&x], vec![attr_ints("axes", &[1])], vec![B, 1, 3, 2]);
    let s = m.op("Squeeze", &[&u], vec![attr_ints("axes", &[1])], vec![B, 3, 2]);
    let bounds = vec![attr_float("min", -0.25), attr_float("max", 0.5)];
    let s = m.op("Clip", &[&s], bounds, vec![B, 3, 2]);
    let r = m.relu(&s);
    let w = m.weight(&[2, 4], 2);
    let h = m.op("MatMul", &[&r, &w], vec![], vec![B, 3, 4]);
    let h = m.relu(&h);
    let y = m.op("Softmax", &[&h], vec![attr_int("axis", 1)], vec![B, 3, 4]);
    m.finish(&y, "y")
}

/// An skl2onnx-style MLP classifier head: Softmax probabilities, and an
/// ArgMax label output with no gradient.
fn classifier_head() -> OnnxGraph {
    let mut m = Maker::new("classifier_head", 9);
    let x = m.b.input("float_input", vec![B, 4]);
    let w = m.weight(&[4, 8], 4);
    let c = m.weight(&[8], 2);
    let h = m.op("MatMul", &[&x, &w], vec![], vec![B, 8]);
    let h = m.op("Add", &[&h, &c], vec![], vec![B, 8]);
    let h = m.relu(&h);
    let w = m.weight(&[8, 3], 8);
    let logits = m.op("MatMul", &[&h, &w], vec![], vec![B, 3]);
    let p = m.op("Softmax", &[&logits], vec![attr_int("axis", 1)], vec![B, 3]);
    let label = Sym { name: "label".into(), shape: vec![B] };
    m.b.raw_node(NodeProto {
        op_type: "ArgMax".into(),
        name: "argmax_label".into(),
        input: vec![p.name.clone()],
        output: vec![label.name.clone()],
        attribute: vec![attr_int("axis", 1), attr_int("keepdims", 0)],
        ..Default::default()
    });
    m.b.output_typed(&label, "label", crate::writer::builder::ElemType::Int64);
    m.finish(&p, "probabilities")
}

/// A Q-network with two inputs, the state and the action, concatenated.
fn q_network() -> OnnxGraph {
    let mut m = Maker::new("q_network", 10);
    let state = m.b.input("state", vec![B, 4]);
    let action = m.b.input("action", vec![B, 2]);
    let sa = m.op("Concat", &[&state, &action], vec![attr_int("axis", 1)], vec![B, 6]);
    let h = m.gemm(&sa, 16);
    let h = m.relu(&h);
    let h = m.gemm(&h, 8);
    let h = m.relu(&h);
    let q = m.gemm(&h, 1);
    m.finish(&q, "q")
}

/// The rarer forms: PRelu with one shared slope, Max with a constant (a
/// ReLU written as max(x, c)), Sum of three tensors, GlobalMaxPool, Flatten
/// with a negative axis, MatMul by a rank-1 weight (one score per sample).
fn rare_ops() -> OnnxGraph {
    let mut m = Maker::new("rare_ops", 11);
    let x = m.b.input("x", vec![B, 2, 5, 5]);
    let c = m.conv(&x, 3, 3, vec![], 3);
    let slope = m.b.constant("slope", &ArrayD::from_elem(IxDyn(&[1]), 0.2));
    let p = m.op("PRelu", &[&c, &slope], vec![], c.shape.clone());
    let floor = m.b.constant("floor", &ArrayD::from_elem(IxDyn(&[]), 0.1));
    let r = m.op("Max", &[&c, &floor], vec![], c.shape.clone());
    let s = m.op("Sum", &[&p, &r, &c], vec![], c.shape.clone());
    let g = m.op("GlobalMaxPool", &[&s], vec![], vec![B, 3, 1, 1]);
    let f = m.op("Flatten", &[&g], vec![attr_int("axis", -3)], vec![B, 3]);
    let w = m.weight(&[3], 3);
    let y = m.op("MatMul", &[&f, &w], vec![], vec![B]);
    m.finish(&y, "score")
}

/// The remaining import paths: ConvTranspose sized by `output_shape` and
/// padded by SAME_UPPER, Sub with the constant on the left (c - x) and Sub
/// of two computed tensors, a flatten computed from Size and Shape
/// (x.view(x.size(0), x.numel() // x.size(0))), and an integer Cast head
/// on the logits next to their Softmax.
fn more_ops() -> OnnxGraph {
    let mut m = Maker::new("more_ops", 12);
    let x = m.b.input("x", vec![B, 2, 3, 3]);
    // (3 - 1) * 2 + 3 = 7 rows; output_shape asks for 6, so one row of
    // padding, at the beginning. The pads say so too, as some exporters
    // write them (tract reads the pads, not output_shape).
    let w = m.weight(&[2, 2, 3, 3], 18);
    let bias = m.weight(&[2], 4);
    let a = vec![attr_ints("strides", &[2, 2]), attr_ints("pads", &[1, 1, 0, 0]), attr_ints("output_shape", &[6, 6])];
    let h = m.op("ConvTranspose", &[&x, &w, &bias], a, vec![B, 2, 6, 6]);
    let h = m.relu(&h);
    let c = m.weight(&[1, 2, 1, 1], 1);
    let h = m.op("Sub", &[&c, &h], vec![], h.shape.clone());
    // SAME_UPPER targets 6 * 2 = 12 rows of (6 - 1) * 2 + 3 = 13: the odd
    // row of padding goes at the end.
    let w = m.weight(&[2, 1, 3, 3], 18);
    let a = vec![attr_ints("strides", &[2, 2]), attr_string("auto_pad", "SAME_UPPER")];
    let t = m.op("ConvTranspose", &[&h, &w], a, vec![B, 1, 12, 12]);
    let r = m.relu(&t);
    let d = m.op("Sub", &[&t, &r], vec![], t.shape.clone());
    let shape = m.op("Shape", &[&d], vec![], vec![4]);
    let zero = m.ints(&[0]);
    let n = m.op("Gather", &[&shape, &zero], vec![attr_int("axis", 0)], vec![1]);
    let size = m.op("Size", &[&d], vec![], vec![]);
    let per_sample = m.op("Div", &[&size, &n], vec![], vec![1]);
    let spec = m.op("Concat", &[&n, &per_sample], vec![attr_int("axis", 0)], vec![2]);
    let f = m.op("Reshape", &[&d, &spec], vec![], vec![B, 144]);
    let logits = m.gemm(&f, 3);
    let p = m.op("Softmax", &[&logits], vec![attr_int("axis", 1)], vec![B, 3]);
    let label = Sym { name: "rounded_logits".into(), shape: vec![B, 3] };
    m.b.raw_node(NodeProto {
        op_type: "Cast".into(),
        name: "cast_logits".into(),
        input: vec![logits.name.clone()],
        output: vec![label.name.clone()],
        attribute: vec![attr_int("to", tract_onnx::pb::tensor_proto::DataType::Int64 as i64)],
        ..Default::default()
    });
    m.b.output_typed(&label, "rounded_logits", crate::writer::builder::ElemType::Int64);
    m.finish(&p, "probabilities")
}

/// An ERAN-style network without ReLU: input normalisation by Sub and
/// Div, Sigmoid and Tanh hidden layers (activation descent has nothing to
/// relax; the gradient methods search it).
fn sigmoid_mlp() -> OnnxGraph {
    let mut m = Maker::new("sigmoid_mlp", 13);
    let x = m.b.input("x", vec![B, 6]);
    let mean = m.weight(&[6], 1);
    let std = m.positive(&[6]);
    let h = m.op("Sub", &[&x, &mean], vec![], vec![B, 6]);
    let h = m.op("Div", &[&h, &std], vec![], vec![B, 6]);
    let h = m.gemm(&h, 12);
    let h = m.op("Sigmoid", &[&h], vec![], vec![B, 12]);
    let h = m.gemm(&h, 10);
    let h = m.op("Tanh", &[&h], vec![], vec![B, 10]);
    let y = m.gemm(&h, 4);
    m.finish(&y, "y")
}

/// A convolutional network without ReLU: Conv, Tanh, MaxPool, Flatten,
/// Gemm, a Softmax head.
fn tanh_cnn() -> OnnxGraph {
    let mut m = Maker::new("tanh_cnn", 14);
    let x = m.b.input("input", vec![B, 1, 6, 6]);
    let h = m.conv(&x, 3, 3, vec![attr_ints("pads", &[1, 1, 1, 1])], 6);
    let h = m.op("Tanh", &[&h], vec![], vec![B, 3, 6, 6]);
    let pool = vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2])];
    let p = m.op("MaxPool", &[&h], pool, vec![B, 3, 3, 3]);
    let f = m.op("Flatten", &[&p], vec![], vec![B, 27]);
    let l = m.gemm(&f, 4);
    let y = m.op("Softmax", &[&l], vec![attr_int("axis", 1)], vec![B, 4]);
    m.finish(&y, "probabilities")
}

/// Every model of the zoo.
pub fn all() -> Vec<ZooModel> {
    vec![
        ZooModel { name: "mlp_gemm", graph: mlp_gemm(), ops: &["Gemm", "Relu"] },
        ZooModel { name: "matmul_add", graph: matmul_add(), ops: &["MatMul", "Add", "Relu", "LeakyRelu"] },
        ZooModel {
            name: "conv_net",
            graph: conv_net(),
            ops: &["Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"],
        },
        ZooModel {
            name: "residual_cnn",
            graph: residual_cnn(),
            ops: &["Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "AveragePool", "Flatten", "Gemm", "Softmax"],
        },
        ZooModel {
            name: "nhwc_tf",
            graph: nhwc_tf(),
            ops: &["Transpose", "Conv", "Relu", "MaxPool", "Reshape", "MatMul", "Add"],
        },
        ZooModel {
            name: "generator",
            graph: generator(),
            ops: &["Gemm", "Relu", "Reshape", "ConvTranspose", "Sigmoid", "Tanh"],
        },
        ZooModel {
            name: "layout_ops",
            graph: layout_ops(),
            ops: &[
                "Sub",
                "Div",
                "Mul",
                "Identity",
                "Pad",
                "Conv",
                "Clip",
                "Dropout",
                "Shape",
                "Gather",
                "Concat",
                "Reshape",
                "Unsqueeze",
                "Neg",
                "Relu",
                "Squeeze",
                "Gemm",
                "LogSoftmax",
            ],
        },
        ZooModel {
            name: "opset10",
            graph: opset10(),
            ops: &["Unsqueeze", "Squeeze", "Clip", "Relu", "MatMul", "Softmax"],
        },
        ZooModel { name: "q_network", graph: q_network(), ops: &["Concat", "Gemm", "Relu"] },
        ZooModel { name: "sigmoid_mlp", graph: sigmoid_mlp(), ops: &["Sub", "Div", "Gemm", "Sigmoid", "Tanh"] },
        ZooModel {
            name: "tanh_cnn",
            graph: tanh_cnn(),
            ops: &["Conv", "Tanh", "MaxPool", "Flatten", "Gemm", "Softmax"],
        },
        ZooModel {
            name: "rare_ops",
            graph: rare_ops(),
            ops: &["Conv", "PRelu", "Max", "Sum", "GlobalMaxPool", "Flatten", "MatMul"],
        },
        ZooModel {
            name: "classifier_head",
            graph: classifier_head(),
            ops: &["MatMul", "Add", "Relu", "Softmax", "ArgMax"],
        },
        ZooModel {
            name: "more_ops",
            graph: more_ops(),
            ops: &[
                "ConvTranspose",
                "Relu",
                "Sub",
                "Shape",
                "Gather",
                "Size",
                "Concat",
                "Reshape",
                "Gemm",
                "Softmax",
                "Cast",
            ],
        },
    ]
}
