//! The ONNX op vocabulary of the emitted graphs: one typed method per ONNX
//! op the lowering uses, with its output shape. Every op here is run by both
//! tract and ONNX Runtime.

use tract_onnx::pb::tensor_proto::DataType;

use super::builder::{attr_int, attr_ints, GraphBuilder, Precision, Sym};
use crate::ir::shape::broadcast;

fn bshape(a: &Sym, b: &Sym) -> Vec<usize> {
    broadcast(&a.shape, &b.shape).unwrap_or_else(|e| panic!("lowering bug: {e} ({} and {})", a.name, b.name))
}

fn reduced(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (true, true) => Some(1),
            (true, false) => None,
            (false, _) => Some(d),
        })
        .collect()
}

impl GraphBuilder {
    pub fn add(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Add", &[a, b], vec![], s)
    }
    pub fn sub(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Sub", &[a, b], vec![], s)
    }
    pub fn mul(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Mul", &[a, b], vec![], s)
    }
    pub fn div(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Div", &[a, b], vec![], s)
    }
    pub fn max(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Max", &[a, b], vec![], s)
    }
    pub fn scale(&mut self, a: &Sym, factor: f64) -> Sym {
        let f = self.scalar(factor);
        self.mul(a, &f)
    }
    pub fn add_scalar(&mut self, a: &Sym, v: f64) -> Sym {
        let c = self.scalar(v);
        self.add(a, &c)
    }
    pub fn neg(&mut self, a: &Sym) -> Sym {
        self.node("Neg", &[a], vec![], a.shape.clone())
    }
    pub fn unary(&mut self, op: &str, a: &Sym) -> Sym {
        self.node(op, &[a], vec![], a.shape.clone())
    }
    pub fn relu(&mut self, a: &Sym) -> Sym {
        self.unary("Relu", a)
    }
    /// The ONNX Sigmoid op (model heads); in f64 graphs, where tract has
    /// none, the exact formula.
    pub fn sigmoid(&mut self, a: &Sym) -> Sym {
        match self.precision() {
            Precision::F32 => self.unary("Sigmoid", a),
            Precision::F64 => self.exact_sigmoid(a),
        }
    }

    /// `1 / (1 + exp(-a))` written out: exact to rounding (tract's Sigmoid
    /// kernel is an approximation off by ~1e-6 near 1), and 0 or 1, never
    /// NaN, at any magnitude.
    pub fn exact_sigmoid(&mut self, a: &Sym) -> Sym {
        let minus = self.neg(a);
        let e = self.unary("Exp", &minus);
        let d = self.add_scalar(&e, 1.0);
        self.unary("Reciprocal", &d)
    }

    /// `a @ b` for a matrix `b` over the last axis of `a`.
    pub fn matmul(&mut self, a: &Sym, b: &Sym) -> Sym {
        let mut s = a.shape.clone();
        *s.last_mut().expect("matmul of a scalar") = b.shape[1];
        self.node("MatMul", &[a, b], vec![], s)
    }

    /// Reshape; a leading axis that keeps its size is written as 0, so that
    /// the graph accepts any batch size.
    pub fn reshape(&mut self, a: &Sym, shape: &[usize]) -> Sym {
        if a.shape == shape {
            return a.clone();
        }
        let mut spec: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        if shape.first() == a.shape.first() && !shape.is_empty() {
            spec[0] = 0;
        }
        let c = self.constant_i64("shape", &spec);
        self.node("Reshape", &[a, &c], vec![], shape.to_vec())
    }

    /// Flattens every axis after the first.
    pub fn flatten_sample(&mut self, a: &Sym) -> Sym {
        let n: usize = a.shape[1..].iter().product();
        self.reshape(a, &[a.shape[0], n])
    }

    pub fn transpose(&mut self, a: &Sym, perm: &[usize]) -> Sym {
        let s = perm.iter().map(|&p| a.shape[p]).collect();
        self.node("Transpose", &[a], vec![attr_ints("perm", perm)], s)
    }

    pub fn reduce_sum(&mut self, a: &Sym, axes: &[usize], keepdims: bool) -> Sym {
        let ax = self.constant_i64("axes", &axes.iter().map(|&x| x as i64).collect::<Vec<_>>());
        let s = reduced(&a.shape, axes, keepdims);
        self.node("ReduceSum", &[a, &ax], vec![attr_int("keepdims", keepdims as i64)], s)
    }

    pub fn reduce_max(&mut self, a: &Sym, axes: &[usize], keepdims: bool) -> Sym {
        let s = reduced(&a.shape, axes, keepdims);
        self.node("ReduceMax", &[a], vec![attr_ints("axes", axes), attr_int("keepdims", keepdims as i64)], s)
    }

    /// Sum of every axis but the first: `[B, ...] -> [B]`.
    pub fn sum_per_sample(&mut self, a: &Sym) -> Sym {
        let axes: Vec<usize> = (1..a.rank()).collect();
        if axes.is_empty() {
            return a.clone();
        }
        self.reduce_sum(a, &axes, false)
    }

    /// Index of the first maximum along `axis`, kept as an axis of size 1.
    pub fn argmax(&mut self, a: &Sym, axis: usize) -> Sym {
        let mut s = a.shape.clone();
        s[axis] = 1;
        self.node("ArgMax", &[a], vec![attr_int("axis", axis as i64), attr_int("keepdims", 1)], s)
    }

    pub fn equal(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Equal", &[a, b], vec![], s)
    }

    pub fn greater(&mut self, a: &Sym, b: &Sym) -> Sym {
        let s = bshape(a, b);
        self.node("Greater", &[a, b], vec![], s)
    }

    /// Casts a boolean or integer tensor to the graph's float type.
    pub fn to_float(&mut self, a: &Sym) -> Sym {
        let to = match self.precision() {
            Precision::F32 => DataType::Float,
            Precision::F64 => DataType::Double,
        };
        self.node("Cast", &[a], vec![attr_int("to", to as i64)], a.shape.clone())
    }

    /// 1.0 where `a > 0`, else 0.0.
    pub fn positive_mask(&mut self, a: &Sym) -> Sym {
        let zero = self.scalar(0.0);
        let g = self.greater(a, &zero);
        self.to_float(&g)
    }

    pub fn expand(&mut self, a: &Sym, shape: &[usize]) -> Sym {
        if a.shape == shape {
            return a.clone();
        }
        let c = self.constant_i64("shape", &shape.iter().map(|&d| d as i64).collect::<Vec<_>>());
        self.node("Expand", &[a, &c], vec![], shape.to_vec())
    }

    /// Elements `start..end` of `axis`.
    pub fn slice(&mut self, a: &Sym, axis: usize, start: usize, end: usize) -> Sym {
        if start == 0 && end == a.shape[axis] {
            return a.clone();
        }
        let s = self.constant_i64("start", &[start as i64]);
        let e = self.constant_i64("end", &[end as i64]);
        let ax = self.constant_i64("axis", &[axis as i64]);
        let mut shape = a.shape.clone();
        shape[axis] = end - start;
        self.node("Slice", &[a, &s, &e, &ax], vec![], shape)
    }

    pub fn concat(&mut self, parts: &[&Sym], axis: usize) -> Sym {
        if let [only] = parts {
            return (*only).clone();
        }
        let mut shape = parts[0].shape.clone();
        shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
        self.node("Concat", parts, vec![attr_int("axis", axis as i64)], shape)
    }

    /// Euclidean norm of each sample: `[B, ...] -> [B, 1]`.
    pub fn l2_norm_per_sample(&mut self, a: &Sym) -> Sym {
        let flat = self.flatten_sample(a);
        let sq = self.mul(&flat, &flat);
        let s = self.reduce_sum(&sq, &[1], true);
        self.unary("Sqrt", &s)
    }
}
