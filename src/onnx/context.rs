//! The importer's working state: what every ONNX tensor name is bound to
//! (a constant, a graph value, a non-differentiable head value) and the IR
//! graph being built.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::NodeProto;

use super::proto::ConstTensor;
use crate::ir::shape::ShapeError;
use crate::ir::{Graph, Op, ValueId};

/// What an ONNX tensor name stands for during import.
#[derive(Debug, Clone)]
pub enum Binding {
    /// Known at import time: weights, shapes, folded subgraphs.
    Const(ConstTensor),
    /// A tensor the IR graph computes.
    Value(ValueId),
    /// Computed by a head without a gradient (ArgMax, ZipMap...): the reason.
    NonDifferentiable(String),
    /// Produced by a node that failed to import (already reported).
    Failed,
}

pub struct ImportCtx {
    pub graph: Graph,
    pub bindings: HashMap<String, Binding>,
    /// The batch size shapes are resolved for (the inputs' fixed leading
    /// dimension, or 1 where it is symbolic).
    pub batch: usize,
    /// Whether the model's tensors carry a batch axis. Models whose inputs
    /// are all plain vectors (VNN-COMP's `[n]`) have none: the IR adds one.
    pub batched: bool,
    pub opset: i64,
    /// Why the last node's output was too large to import (an extent or an
    /// element count that overflows): not a node problem to list with the
    /// others but the import's end.
    pub too_large: Option<String>,
    /// Every tensor name of the model: its inputs, initializers and node
    /// outputs.
    pub model_tensors: HashSet<String>,
    /// The outputs of the node being imported.
    pub node_outputs: Vec<String>,
    /// The ONNX element type of each constant read as another than float32
    /// or int64 (booleans and narrower integers are kept as int64), for
    /// folding.
    pub const_types: HashMap<String, DataType>,
}

/// A node's display name: its name, else its first output, else its op.
pub fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else if let Some(o) = node.output.first().filter(|o| !o.is_empty()) {
        o.clone()
    } else {
        node.op_type.clone()
    }
}

impl ImportCtx {
    /// The binding of input `i`, or `None` for an absent optional input.
    pub fn input(&self, node: &NodeProto, i: usize) -> Result<Option<&Binding>, String> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(name) => self.bindings.get(name).map(Some).ok_or_else(|| {
                format!("input '{}' is not produced by any node, initializer or graph input", crate::error::clip(name))
            }),
        }
    }

    /// Input `i`, which must be computed by the graph.
    pub fn value_input(&self, node: &NodeProto, i: usize) -> Result<ValueId, String> {
        match self.input(node, i)? {
            Some(Binding::Value(v)) => Ok(*v),
            Some(Binding::Const(_)) => Err(format!("input {i} is a constant where a computed tensor is expected")),
            Some(_) => Err(format!("input {i} is not differentiable")),
            None => Err(format!("input {i} is missing")),
        }
    }

    /// Input `i`, which must be a constant.
    pub fn const_input(&self, node: &NodeProto, i: usize) -> Result<&ConstTensor, String> {
        self.optional_const_input(node, i)?.ok_or_else(|| format!("input {i} is missing"))
    }

    /// Optional input `i`, which must be a constant when present.
    pub fn optional_const_input(&self, node: &NodeProto, i: usize) -> Result<Option<&ConstTensor>, String> {
        match self.input(node, i)? {
            Some(Binding::Const(c)) => Ok(Some(c)),
            Some(_) => Err(format!(
                "input {i} ('{}') is computed by the graph; only a constant is supported here",
                crate::error::clip(&node.input[i])
            )),
            None => Ok(None),
        }
    }

    /// The ONNX element type constant `name`, holding `c`, was read as.
    pub fn const_type(&self, name: &str, c: &ConstTensor) -> DataType {
        match c {
            ConstTensor::Float(_) => DataType::Float,
            ConstTensor::Int(_) => self.const_types.get(name).copied().unwrap_or(DataType::Int64),
        }
    }

    pub fn is_const(&self, node: &NodeProto, i: usize) -> bool {
        matches!(self.input(node, i), Ok(Some(Binding::Const(_))))
    }

    /// Shape of a value as the ONNX model sees it: with the import batch
    /// size in front for batched models, the sample shape otherwise.
    pub fn shape(&self, v: ValueId) -> Vec<usize> {
        if self.batched {
            self.graph.value(v).batched(self.batch)
        } else {
            self.graph.value(v).shape.clone()
        }
    }

    /// Converts an axis of the model's view of a tensor into the IR's
    /// batched numbering.
    pub fn ir_axis(&self, axis: usize) -> usize {
        if self.batched {
            axis
        } else {
            axis + 1
        }
    }

    /// Adds the IR op computing the node's first output.
    pub fn add(&mut self, node: &NodeProto, op: Op, inputs: Vec<ValueId>) -> Result<ValueId, String> {
        let out = node.output.first().cloned().unwrap_or_default();
        self.add_named(&node_name(node), &node.op_type, op, inputs, &out)
    }

    /// Adds one IR op of a node that lowers to several, with its own output name.
    pub fn add_named(
        &mut self,
        name: &str,
        onnx_op: &str,
        op: Op,
        inputs: Vec<ValueId>,
        output: &str,
    ) -> Result<ValueId, String> {
        let output = self.unclaimed(output);
        let v = self.graph.add_node(name, onnx_op, op, inputs, &output).map_err(|e| {
            if let ShapeError::TooLarge(m) = &e {
                self.too_large = Some(m.clone());
            }
            String::from(e)
        })?;
        self.bindings.insert(output, Binding::Value(v));
        Ok(v)
    }

    /// `output`, unless it names a tensor of the model that the node being
    /// imported does not produce: a node that lowers to several ops names
    /// its intermediate tensors `<node>:<tag>`, which a model may use for a
    /// tensor of its own, and binding that name would rewire the model's
    /// readers of it. Then the first of `output#1`, `output#2`, ... that
    /// names nothing.
    fn unclaimed(&self, output: &str) -> String {
        let taken = |n: &str| self.model_tensors.contains(n) || self.bindings.contains_key(n);
        if !self.model_tensors.contains(output) || self.node_outputs.iter().any(|o| o == output) {
            return output.to_string();
        }
        let mut k = 1;
        while taken(&format!("{output}#{k}")) {
            k += 1;
        }
        format!("{output}#{k}")
    }

    /// Binds the node's first output to an existing value (Identity, Dropout).
    pub fn alias_output(&mut self, node: &NodeProto, v: ValueId) {
        if let Some(out) = node.output.first() {
            self.bindings.insert(out.clone(), Binding::Value(v));
            self.graph.add_alias(out, v);
        }
    }

    /// Checks that a constant of shape `c` broadcasts onto the model's view
    /// of `x` without growing it (ONNX would grow the result's rank or
    /// extent; the IR keeps `x`'s shape).
    pub fn const_fits(&self, x: ValueId, c: &[usize]) -> Result<(), String> {
        let shape = self.shape(x);
        let fits = c.len() <= shape.len() && c.iter().rev().zip(shape.iter().rev()).all(|(&a, &b)| a == 1 || a == b);
        if fits {
            Ok(())
        } else {
            Err(format!("constant of shape {c:?} would broadcast {shape:?} to a larger shape"))
        }
    }

    /// Normalises a possibly negative axis of a rank-`rank` tensor.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize, String> {
        let a = if axis < 0 { axis + rank as i64 } else { axis };
        usize::try_from(a).ok().filter(|&a| a < rank).ok_or_else(|| format!("axis {axis} out of range for rank {rank}"))
    }
}
