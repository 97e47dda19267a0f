#!/usr/bin/env python3
"""Checks the reports of scripts/results.sh independently with ONNX Runtime.

Every successful adversarial example of the MNIST audits (results/mnist_*.json):
inside [0, 1], within epsilon of its clean image in L-infinity, misclassified
by ONNX Runtime. Every VNN-COMP `sat` counterexample (results/vnn_*.json): its
input inside the property's top-level input box, and ONNX Runtime's outputs
within 1e-4 of the reported ones.

Usage (from the repository root, with the test environment's ONNX Runtime):
    .venv/bin/python scripts/results-check.py [results]
Exit status 1 when any check fails.
"""
import base64, glob, json, os, re, sys
import numpy as np, onnxruntime as ort

R = sys.argv[1] if len(sys.argv) > 1 else "results"
F = "../shared/fixtures"
sessions = {}
def run(model, x):
    if model not in sessions:
        sessions[model] = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    s = sessions[model]
    i = s.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    return s.run(None, {i.name: x.reshape(shape).astype(np.float32)})[0].reshape(-1)

imgs = np.load(f"{F}/mnist/mnist_test_1000_images.npy")
labels = np.load(f"{F}/mnist/mnist_test_1000_labels.npy")
bad = 0; checked = 0; worst = {}
for path in sorted(glob.glob(f"{R}/mnist_*.json")):
    a = json.load(open(path))
    model = f"{F}/models/" + ("mnist_cnn_pgd.onnx" if "pgd025" in path else "mnist_cnn_clean.onnx")
    eps = a["goal"]["epsilon"]
    for s in a["samples"]:
        if not s["success"]:
            continue
        x = np.frombuffer(base64.b64decode(s["adversarial_f32le"]), dtype="<f4")
        x0 = imgs[s["index"]].reshape(-1)
        d = float(np.abs(x - x0).max())
        y = run(model, x)
        ok = x.min() >= 0 and x.max() <= 1 and d <= eps * (1 + 1e-6) and int(y.argmax()) != int(labels[s["index"]])
        worst[path] = max(worst.get(path, 0), d)
        checked += 1
        if not ok:
            bad += 1; print("FAIL", path, s["index"], d, x.min(), x.max(), y.argmax())
print(f"mnist: {checked} adversarial examples checked with ONNX Runtime {ort.__version__}, {bad} failures; largest linf distance per report:")
for p, d in worst.items():
    print(f"  {os.path.basename(p)}: {d:.7f}")

def box(prop):
    lo, hi = {}, {}
    for op, i, c in re.findall(r"\(assert \((<=|>=) X_(\d+) ([-+0-9.eE]+)\)\)", open(prop).read()):
        (hi if op == "<=" else lo)[int(i)] = float(c)
    return lo, hi
vbad = 0; vsat = 0; maxdiff = 0.0
for path in sorted(glob.glob(f"{R}/vnn_*.json")):
    r = json.load(open(path))
    o = r["outcome"]
    if o["verdict"] != "sat":
        continue
    vsat += 1
    ce = o["counterexample"]
    x = np.array(ce["input"], dtype=np.float32)
    y = run(r["model"], x)
    diff = float(np.abs(y - np.array(ce["output"])).max())
    maxdiff = max(maxdiff, diff)
    lo, hi = box(r["property"])
    inbox = all(x[i] >= v for i, v in lo.items()) and all(x[i] <= v for i, v in hi.items())
    if diff > 1e-4 or not inbox:
        vbad += 1; print("FAIL", path, diff, inbox)
print(f"vnncomp: {vsat} sat counterexamples rerun in ONNX Runtime: largest |output difference| {maxdiff:.2e}, {vbad} failures (difference > 1e-4 or input outside the property's box)")
sys.exit(1 if bad or vbad else 0)
