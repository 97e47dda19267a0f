"""Makes the exporter-produced test models under testdata/ (run once; the
files are committed). Needs scikit-learn, skl2onnx, onnx and onnxruntime:

    python3 -m venv .venv && .venv/bin/pip install scikit-learn skl2onnx onnx onnxruntime==1.31.1
    .venv/bin/python scripts/make_testdata.py
"""
import numpy as np
from onnx import checker
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier, MLPRegressor

X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)

clf = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=2000, random_state=0).fit(X, y)
with_zipmap = to_onnx(clf, X[:1], target_opset=15)
without_zipmap = to_onnx(clf, X[:1], target_opset=15, options={id(clf): {"zipmap": False}})
reg = MLPRegressor(hidden_layer_sizes=(12,), max_iter=3000, random_state=0).fit(X[:, :3], X[:, 3])
regressor = to_onnx(reg, X[:1, :3], target_opset=15)

for name, model in [
    ("skl_mlp_classifier_zipmap", with_zipmap),
    ("skl_mlp_classifier", without_zipmap),
    ("skl_mlp_regressor", regressor),
]:
    checker.check_model(model)
    with open(f"testdata/{name}.onnx", "wb") as f:
        f.write(model.SerializeToString())
    print(name, [o.name for o in model.graph.output], [n.op_type for n in model.graph.node])

np.save("testdata/iris_first10.npy", X[:10])
print("train accuracy", clf.score(X, y))
