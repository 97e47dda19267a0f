#!/usr/bin/env bash
# PGD steps per second of a PyTorch PGD (torchattacks) on the MNIST CNN
# (converted from ONNX with onnx2torch) beside adr-onnx's PGD, on this CPU,
# at batch 1 and 64, in one run. PyTorch is installed into .venv-bench for
# this benchmark only; it is never a dependency of adr-onnx.
#   scripts/torch-pgd-bench.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-50}
if ! .venv-bench/bin/python -c "import torch, torchattacks, onnx2torch" 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check torch torchattacks onnx2torch onnx numpy
fi
cargo build --release --quiet
threads=${THREADS:-1}
.venv-bench/bin/python - "$steps" "$threads" <<'PY'
import json, os, subprocess, sys, time
import numpy as np, torch, torchattacks
from onnx2torch import convert
steps, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
model = convert("models/mnist_cnn_pgd.onnx").eval()
images = torch.from_numpy(np.load("../shared/fixtures/mnist/mnist_test_1000_images.npy"))
labels = torch.from_numpy(np.load("../shared/fixtures/mnist/mnist_test_1000_labels.npy"))
print(f"torch {torch.__version__}, {threads} thread(s), {steps} PGD steps per batch")
for batch in (1, 64):
    x, y = images[:batch], labels[:batch]
    atk = torchattacks.PGD(model, eps=0.25, alpha=2.5 * 0.25 / steps, steps=steps, random_start=True)
    atk(x, y)  # warm-up
    t = time.perf_counter(); atk(x, y); torch_s = (time.perf_counter() - t) / steps
    goal = {"kind": "target_class", "input": {"npy": os.path.abspath("../shared/fixtures/mnist/mnist_test_1000_images.npy"), "index": 0},
            "label": int(y[0]), "epsilon": 0.25}
    with open("/tmp/torch-bench-goal.json", "w") as f: json.dump(goal, f)
    out = {}
    for backend in ("tract", "ort"):
        r = subprocess.run(["target/release/adr-onnx", "run", "models/mnist_cnn_pgd.onnx", "--goal", "/tmp/torch-bench-goal.json",
                            "--method", "pgd", "--restarts", str(batch), "--set", f"pgd_steps={steps}", "--set", "stop_when_achieved=false",
                            "--backend", backend, "--threads", str(threads), "--quiet", "--out", "/tmp/torch-bench-report.json",
                            "--artifacts", "/tmp/torch-bench-artifacts"], capture_output=True, text=True)
        if r.returncode > 1:
            out[backend] = None; continue
        rep = json.load(open("/tmp/torch-bench-report.json"))
        out[backend] = rep["timing"]["seconds_per_iteration"]
    cells = " | ".join(f"{b} {1/s:8.1f}" if s else f"{b} n/a" for b, s in out.items())
    print(f"batch {batch:3d}: PGD steps/s  torchattacks {1/torch_s:8.1f} | {cells}")
PY
