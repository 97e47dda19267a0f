//! The layer graph: a topologically ordered DAG of IR ops over tensors with
//! static per-sample shapes.

use std::collections::HashMap;

use super::op::Op;
use super::shape::{check_sample_values, ShapeError};

/// A tensor of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// A layer of the graph; nodes are stored in topological order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

#[derive(Debug, Clone)]
pub struct Value {
    /// The ONNX tensor name it came from.
    pub name: String,
    /// Shape of one sample (the batch axis left out).
    pub shape: Vec<usize>,
    pub producer: Option<NodeId>,
}

impl Value {
    /// Number of elements of one sample: at most
    /// [`super::shape::MAX_SAMPLE_VALUES`], checked when the value was added.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
    /// The shape with a leading batch axis of `batch`.
    pub fn batched(&self, batch: usize) -> Vec<usize> {
        std::iter::once(batch).chain(self.shape.iter().copied()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// The ONNX node name (or its first output when unnamed).
    pub name: String,
    /// The ONNX op type it was imported from (`Gemm`, `BatchNormalization`...).
    pub onnx_op: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

/// A graph output the user may optimise, or one outside the differentiable
/// part (an ArgMax or ZipMap head) with the reason.
#[derive(Debug, Clone)]
pub struct GraphOutput {
    pub name: String,
    pub value: Result<ValueId, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    values: Vec<Value>,
    nodes: Vec<Node>,
    /// Model inputs in ONNX order, each a value with no producer.
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<GraphOutput>,
    by_name: HashMap<String, ValueId>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a model input of per-sample shape `shape`; refuses one whose
    /// element count overflows or passes [`super::shape::MAX_SAMPLE_VALUES`].
    pub fn add_input(&mut self, name: &str, shape: Vec<usize>) -> Result<ValueId, ShapeError> {
        check_sample_values(&shape)?;
        let id = self.push_value(name, shape, None);
        self.inputs.push(id);
        Ok(id)
    }

    /// Appends a node after every node already present; its output shape is
    /// derived from its inputs' shapes.
    pub fn add_node(
        &mut self,
        name: &str,
        onnx_op: &str,
        op: Op,
        inputs: Vec<ValueId>,
        output_name: &str,
    ) -> Result<ValueId, ShapeError> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|&i| self.value(i).batched(1)).collect();
        let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let out = op.output_shape(&refs)?;
        if out[1..].contains(&0) {
            return Err(format!("the output {:?} would have a zero extent", &out[1..]).into());
        }
        check_sample_values(&out[1..])?;
        let node_id = NodeId(self.nodes.len());
        let output = self.push_value(output_name, out[1..].to_vec(), Some(node_id));
        self.nodes.push(Node { name: name.to_string(), onnx_op: onnx_op.to_string(), op, inputs, output });
        Ok(output)
    }

    fn push_value(&mut self, name: &str, shape: Vec<usize>, producer: Option<NodeId>) -> ValueId {
        let id = ValueId(self.values.len());
        self.values.push(Value { name: name.to_string(), shape, producer });
        self.by_name.insert(name.to_string(), id);
        id
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0]
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value carrying an ONNX tensor name (or an alias of it, such as
    /// an Identity's output), if it is part of the graph.
    pub fn value_by_name(&self, name: &str) -> Option<ValueId> {
        self.by_name.get(name).copied()
    }

    /// Makes `name` another name of `v` (Identity, Dropout outputs).
    pub fn add_alias(&mut self, name: &str, v: ValueId) {
        self.by_name.insert(name.to_string(), v);
    }

    /// Number of elements of one sample of all inputs together.
    /// (Each value's count is at most 2^48, so that the sums below would
    /// need 65,536 such values to overflow; they saturate all the same.)
    pub fn input_size(&self) -> usize {
        self.inputs.iter().fold(0usize, |n, &i| n.saturating_add(self.value(i).size()))
    }

    /// Number of elements of one sample of every tensor of the graph: what a
    /// forward pass writes per row.
    pub fn activation_floats(&self) -> usize {
        self.values.iter().fold(0usize, |n, v| n.saturating_add(v.size()))
    }

    /// Keeps only the nodes that some of `roots` depend on, renumbering
    /// values and nodes; inputs are all kept so that the model's interface
    /// does not change. Returns the new id of every old value kept.
    pub fn retain_ancestors_of(&mut self, roots: &[ValueId]) -> Vec<Option<ValueId>> {
        let mut needed = vec![false; self.values.len()];
        let mut stack: Vec<ValueId> = roots.to_vec();
        while let Some(v) = stack.pop() {
            if std::mem::replace(&mut needed[v.0], true) {
                continue;
            }
            if let Some(n) = self.values[v.0].producer {
                stack.extend(self.nodes[n.0].inputs.iter().copied());
            }
        }
        for &i in &self.inputs {
            needed[i.0] = true;
        }
        let mut remap = vec![None; self.values.len()];
        let mut values = Vec::new();
        for (old, v) in self.values.iter().enumerate() {
            if needed[old] {
                remap[old] = Some(ValueId(values.len()));
                values.push(v.clone());
            }
        }
        let map = |v: ValueId| remap[v.0].expect("ancestors of a kept value are kept");
        let mut nodes = Vec::new();
        for n in &self.nodes {
            if needed[n.output.0] {
                let id = NodeId(nodes.len());
                values[map(n.output).0].producer = Some(id);
                nodes.push(Node {
                    inputs: n.inputs.iter().map(|&v| map(v)).collect(),
                    output: map(n.output),
                    ..n.clone()
                });
            }
        }
        self.inputs = self.inputs.iter().map(|&v| map(v)).collect();
        for o in &mut self.outputs {
            if let Ok(v) = o.value {
                o.value = remap[v.0].ok_or_else(|| "removed".to_string());
            }
        }
        self.by_name = self.by_name.iter().filter_map(|(name, v)| remap[v.0].map(|n| (name.clone(), n))).collect();
        self.values = values;
        self.nodes = nodes;
        remap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::{Dense, Relu};
    use ndarray::Array2;

    #[test]
    fn add_node_derives_shapes_and_retain_prunes() {
        let mut g = Graph::new();
        let x = g.add_input("x", vec![3]).unwrap();
        let d = Dense { weight: Array2::zeros((3, 4)), bias: None };
        let h = g.add_node("fc", "Gemm", Op::Dense(d), vec![x], "h").unwrap();
        let r = g.add_node("relu", "Relu", Op::Relu(Relu), vec![h], "r").unwrap();
        let _dead = g.add_node("relu2", "Relu", Op::Relu(Relu), vec![h], "dead").unwrap();
        assert_eq!(g.value(r).shape, vec![4]);
        g.outputs.push(GraphOutput { name: "r".into(), value: Ok(r) });
        g.retain_ancestors_of(&[r]);
        assert_eq!(g.nodes().len(), 2);
        assert!(g.value_by_name("dead").is_none());
        let r = g.value_by_name("r").unwrap();
        assert_eq!(g.value(r).producer, Some(NodeId(1)));
    }

    #[test]
    fn add_node_rejects_shape_mismatch() {
        let mut g = Graph::new();
        let x = g.add_input("x", vec![5]).unwrap();
        let d = Dense { weight: Array2::zeros((3, 4)), bias: None };
        assert!(g.add_node("fc", "Gemm", Op::Dense(d), vec![x], "h").is_err());
    }

    #[test]
    fn shapes_beyond_2_pow_48_values_are_refused_not_wrapped() {
        let mut g = Graph::new();
        // (2^62 + 1) * 4 wraps to 4 in 64 bits, 2^40 * 2^40 to 0.
        for shape in [vec![(1usize << 62) + 1, 4], vec![1 << 40, 1 << 40], vec![1 << 49]] {
            let err = g.add_input("x", shape).unwrap_err();
            assert!(matches!(err, ShapeError::TooLarge(_)), "{err}");
            assert!(err.to_string().contains("more than 2^48 values per sample"), "{err}");
        }
        let x = g.add_input("x", vec![1 << 30]).unwrap();
        let pad = crate::ir::op::Pad { pads: vec![0, 0, 0, usize::MAX] };
        let err = g.add_node("pad", "Pad", Op::Pad(pad), vec![x], "y").unwrap_err();
        assert!(err.to_string().contains("overflows"), "{err}");
        let pad = crate::ir::op::Pad { pads: vec![0, 0, 0, 1 << 48] };
        let err = g.add_node("pad", "Pad", Op::Pad(pad), vec![x], "y").unwrap_err();
        assert!(matches!(err, ShapeError::TooLarge(_)), "{err}");
    }
}
