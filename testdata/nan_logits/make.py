# Writes nan.onnx (logits [relu(x0), relu(3e38 x1) - relu(3e38 x1)]: NaN where the
# second term overflows) and a 3-sample dataset X.npy / y.npy; t.json audits it.
import numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
W0 = nh.from_array(np.array([[1.0],[0.0]], np.float32), "W0")
W1 = nh.from_array(np.array([[0.0],[3e38]], np.float32), "W1")
nodes = [
  h.make_node("MatMul", ["x","W0"], ["a"]), h.make_node("Relu", ["a"], ["l0"]),
  h.make_node("MatMul", ["x","W1"], ["b"]), h.make_node("Relu", ["b"], ["t"]),
  h.make_node("Sub", ["t","t"], ["n"]),
  h.make_node("Concat", ["l0","n"], ["logits"], axis=1),
]
g = h.make_graph(nodes, "nan", [h.make_tensor_value_info("x", T.FLOAT, ["N", 2])],
                 [h.make_tensor_value_info("logits", T.FLOAT, ["N", 2])], [W0, W1])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)]); m.ir_version = 8
onnx.save(m, "nan.onnx")
X = np.array([[0.5, 2.0], [0.7, 2.0], [0.5, 0.0]], np.float32)
np.save("X.npy", X); np.save("y.npy", np.array([0, 0, 0], np.int64))
import onnxruntime as ort
print(ort.InferenceSession("nan.onnx").run(None, {"x": X})[0])
