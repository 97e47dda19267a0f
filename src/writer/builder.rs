//! Building ONNX graphs in memory (tract's protobuf types): named tensors
//! with static shapes, constants, nodes, and the model's interface.

use std::collections::HashMap;

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    attribute_proto::AttributeType, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::onnx::proto::{encode_f32, encode_f64, encode_i64};

/// The ONNX opset every emitted graph declares (ScatterElements reduction,
/// ReduceSum axes as an input, ReduceMax axes as an attribute).
pub const OPSET: i64 = 17;

/// Floating-point precision of an emitted graph: f32 for running, f64 for
/// the finite-difference checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    fn data_type(self) -> DataType {
        match self {
            Precision::F32 => DataType::Float,
            Precision::F64 => DataType::Double,
        }
    }
}

/// A tensor of the graph being built: its ONNX name and static shape
/// (batch axis included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub name: String,
    pub shape: Vec<usize>,
}

impl Sym {
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The element type of a graph input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    Float,
    Int64,
}

/// One input or output of an emitted graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub elem: ElemType,
}

/// A finished ONNX graph with its interface.
#[derive(Debug, Clone)]
pub struct OnnxGraph {
    pub name: String,
    pub precision: Precision,
    pub model: ModelProto,
    pub inputs: Vec<IoSpec>,
    pub outputs: Vec<IoSpec>,
}

impl OnnxGraph {
    pub fn to_bytes(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(&self.model)
    }

    /// Whether some node of the graph is of ONNX op type `op`.
    pub fn uses_op(&self, op: &str) -> bool {
        self.model.graph.as_ref().is_some_and(|g| g.node.iter().any(|n| n.op_type == op))
    }
}

/// Attribute constructors.
pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i, r#type: AttributeType::Int as i32, ..Default::default() }
}

pub fn attr_ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.iter().map(|&i| i as i64).collect(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

pub fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    }
}

pub fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f, r#type: AttributeType::Float as i32, ..Default::default() }
}

pub struct GraphBuilder {
    name: String,
    precision: Precision,
    /// Name of the leading axis in the declared interface; `None` declares
    /// static batch sizes.
    symbolic_batch: Option<String>,
    opset: i64,
    metadata: Vec<(String, String)>,
    nodes: Vec<NodeProto>,
    initializers: Vec<tract_onnx::pb::TensorProto>,
    inputs: Vec<(ValueInfoProto, IoSpec)>,
    outputs: Vec<(ValueInfoProto, IoSpec)>,
    scalars: HashMap<u64, Sym>,
    cached: HashMap<String, Sym>,
    counter: usize,
}

impl GraphBuilder {
    pub fn new(name: &str, precision: Precision) -> Self {
        GraphBuilder {
            name: name.to_string(),
            precision,
            symbolic_batch: None,
            opset: OPSET,
            metadata: Vec::new(),
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            scalars: HashMap::new(),
            cached: HashMap::new(),
            counter: 0,
        }
    }

    /// Declares the interface's leading axis as the symbol `name`, so that
    /// the written file accepts any batch size.
    pub fn with_symbolic_batch(mut self, name: &str) -> Self {
        self.symbolic_batch = Some(name.to_string());
        self
    }

    /// Declares another opset (for building test models as older exporters
    /// wrote them; the lowering always uses [`OPSET`]).
    pub fn with_opset(mut self, opset: i64) -> Self {
        self.opset = opset;
        self
    }

    /// Records a key/value pair in the model's metadata.
    pub fn with_metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.push((key.to_string(), value.to_string()));
        self
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}#{}", self.counter)
    }

    fn value_info(&self, name: &str, shape: &[usize], elem: ElemType) -> ValueInfoProto {
        let dim = |i: usize, d: usize| Dimension {
            value: Some(match (&self.symbolic_batch, i) {
                (Some(n), 0) => dimension::Value::DimParam(n.clone()),
                _ => dimension::Value::DimValue(d as i64),
            }),
            ..Default::default()
        };
        let elem_type = match elem {
            ElemType::Float => self.precision.data_type(),
            ElemType::Int64 => DataType::Int64,
        };
        ValueInfoProto {
            name: name.to_string(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: elem_type as i32,
                    shape: Some(TensorShapeProto { dim: shape.iter().enumerate().map(|(i, &d)| dim(i, d)).collect() }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Declares a float input of the graph.
    pub fn input(&mut self, name: &str, shape: Vec<usize>) -> Sym {
        let info = self.value_info(name, &shape, ElemType::Float);
        self.inputs.push((info, IoSpec { name: name.to_string(), shape: shape.clone(), elem: ElemType::Float }));
        Sym { name: name.to_string(), shape }
    }

    /// Declares `sym` as an output named `name` (an Identity renames it when
    /// needed).
    pub fn output(&mut self, sym: &Sym, name: &str) {
        self.output_typed(sym, name, ElemType::Float);
    }

    pub fn output_typed(&mut self, sym: &Sym, name: &str, elem: ElemType) {
        if sym.name != name {
            self.nodes.push(NodeProto {
                op_type: "Identity".into(),
                name: format!("{name}:out"),
                input: vec![sym.name.clone()],
                output: vec![name.to_string()],
                ..Default::default()
            });
        }
        let info = self.value_info(name, &sym.shape, elem);
        self.outputs.push((info, IoSpec { name: name.to_string(), shape: sym.shape.clone(), elem }));
    }

    /// A float constant, stored in the graph's precision.
    pub fn constant(&mut self, hint: &str, a: &ArrayD<f32>) -> Sym {
        let name = self.fresh(hint);
        let t = match self.precision {
            Precision::F32 => encode_f32(&name, a),
            Precision::F64 => encode_f64(&name, &a.mapv(f64::from)),
        };
        self.initializers.push(t);
        Sym { name, shape: a.shape().to_vec() }
    }

    /// A float constant given in f64 (kept exact in f64 graphs).
    pub fn constant_f64(&mut self, hint: &str, a: &ArrayD<f64>) -> Sym {
        let name = self.fresh(hint);
        let t = match self.precision {
            Precision::F32 => encode_f32(&name, &a.mapv(|v| v as f32)),
            Precision::F64 => encode_f64(&name, a),
        };
        self.initializers.push(t);
        Sym { name, shape: a.shape().to_vec() }
    }

    /// A float scalar (rank 0), shared between uses.
    pub fn scalar(&mut self, v: f64) -> Sym {
        if let Some(s) = self.scalars.get(&v.to_bits()) {
            return s.clone();
        }
        let s = self.constant_f64("scalar", &ArrayD::from_elem(IxDyn(&[]), v));
        self.scalars.insert(v.to_bits(), s.clone());
        s
    }

    /// A float constant made once per `key` (a layer's weight is shared by
    /// every pass that uses it).
    pub fn cached_constant(&mut self, key: &str, make: impl FnOnce() -> ArrayD<f32>) -> Sym {
        if let Some(s) = self.cached.get(key) {
            return s.clone();
        }
        let s = self.constant(key, &make());
        self.cached.insert(key.to_string(), s.clone());
        s
    }

    pub fn constant_i64(&mut self, hint: &str, values: &[i64]) -> Sym {
        let a = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).expect("1-d shape of its length");
        self.constant_i64_array(hint, &a)
    }

    pub fn constant_i64_array(&mut self, hint: &str, a: &ArrayD<i64>) -> Sym {
        let name = self.fresh(hint);
        self.initializers.push(encode_i64(&name, a));
        Sym { name, shape: a.shape().to_vec() }
    }

    /// Emits a node with explicit output names (building source models).
    pub fn raw_node(&mut self, node: NodeProto) {
        self.nodes.push(node);
    }

    /// Emits one node with one output of the given shape.
    pub fn node(&mut self, op_type: &str, inputs: &[&Sym], attrs: Vec<AttributeProto>, shape: Vec<usize>) -> Sym {
        let out = self.fresh(op_type);
        self.nodes.push(NodeProto {
            op_type: op_type.into(),
            name: out.clone(),
            input: inputs.iter().map(|s| s.name.clone()).collect(),
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        Sym { name: out, shape }
    }

    pub fn finish(self) -> OnnxGraph {
        let (input_info, inputs): (Vec<_>, Vec<_>) = self.inputs.into_iter().unzip();
        let (output_info, outputs): (Vec<_>, Vec<_>) = self.outputs.into_iter().unzip();
        let model = ModelProto {
            ir_version: 8,
            producer_name: "adr-onnx".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: self.opset }],
            graph: Some(GraphProto {
                name: self.name.clone(),
                node: self.nodes,
                initializer: self.initializers,
                input: input_info,
                output: output_info,
                ..Default::default()
            }),
            metadata_props: self
                .metadata
                .into_iter()
                .map(|(key, value)| tract_onnx::pb::StringStringEntryProto { key, value })
                .collect(),
            ..Default::default()
        };
        OnnxGraph { name: self.name, precision: self.precision, model, inputs, outputs }
    }
}
