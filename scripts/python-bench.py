#!/usr/bin/env python3
"""The Python package's targets (docs/benchmarks.md, "The Python package"):
`import adr_onnx` time (`python -X importtime`, fresh interpreters), and a
call of `adr_onnx.attack` on 64 MNIST images in this interpreter against
`adr-onnx audit` with the same settings as a process (both load the model
and attack; the process also starts), alternated, after one warm-up run
each: wall and CPU seconds (user + system) per run, their medians and
least. Then the same with a fresh interpreter per Python run (start and
import included). Checks that both give the same samples.

Run it with an interpreter that has adr_onnx installed:
  PYTHON scripts/python-bench.py CLI [--method apgd] [--backend tract] [--runs 15]
  CLI  the adr-onnx binary of the same build profile as the package
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / ".." / "shared" / "fixtures"
MODEL = ROOT / "models" / "mnist_cnn_pgd.onnx"
ATTACK = """
import sys, json, numpy as np, adr_onnx
work, method, backend = sys.argv[1:]
x, y = np.load(f"{work}/x.npy"), np.load(f"{work}/y.npy")
r = adr_onnx.attack(%r, x, y, epsilon=0.25, method=method, seed=0, backend=backend)
json.dump(r.report, open(f"{work}/python.json", "w"))
""" % str(MODEL)


def timed(argv):
    """Wall and CPU seconds of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {argv}")
    return wall, usage.ru_utime + usage.ru_stime


def in_process_call(work, method, backend):
    """A function that calls adr_onnx.attack once: its wall and CPU seconds."""
    import adr_onnx

    x, y = np.load(f"{work}/x.npy"), np.load(f"{work}/y.npy")

    def call():
        wall, cpu = time.perf_counter(), time.process_time()
        adr_onnx.attack(str(MODEL), x, y, epsilon=0.25, method=method, seed=0, backend=backend)
        return time.perf_counter() - wall, time.process_time() - cpu

    return call


def import_seconds(python):
    out = subprocess.run([python, "-X", "importtime", "-c", "import adr_onnx"], capture_output=True, text=True)
    line = [l for l in out.stderr.splitlines() if l.rstrip().endswith("| adr_onnx")][0]
    return int(line.split("|")[1]) / 1e6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cli")
    p.add_argument("--method", default="apgd")
    p.add_argument("--backend", default="tract")
    p.add_argument("--runs", type=int, default=7)
    a = p.parse_args()
    a.python = sys.executable
    imports = [import_seconds(a.python) for _ in range(5)]
    print(f"import adr_onnx, cumulative (s): {' '.join(f'{t:.3f}' for t in imports)}; median {statistics.median(imports):.3f}")
    with tempfile.TemporaryDirectory() as work:
        np.save(f"{work}/x.npy", np.load(FIXTURES / "mnist" / "mnist_test_1000_images.npy")[:64].astype(np.float32))
        np.save(f"{work}/y.npy", np.load(FIXTURES / "mnist" / "mnist_test_1000_labels.npy")[:64])
        Path(work, "template.json").write_text(
            json.dumps({"kind": "target_class", "epsilon": 0.25, "norm": "linf", "bounds": [0.0, 1.0]})
        )
        cli = [a.cli, "audit", MODEL, "--images", f"{work}/x.npy", "--labels", f"{work}/y.npy", "--goal",
               f"{work}/template.json", "--method", a.method, "--seed", "0", "--backend", a.backend,
               "--out", f"{work}/cli.json", "--quiet"]
        python = [a.python, "-c", ATTACK, work, a.method, a.backend]
        call = in_process_call(work, a.method, a.backend)
        timed(cli), timed(python), call()
        runs = {"cli": [], "call": [], "python": []}
        for _ in range(a.runs):
            runs["cli"].append(timed(cli))
            runs["call"].append(call())
            runs["python"].append(timed(python))
        cli_report, py_report = (json.loads(Path(work, f"{n}.json").read_text()) for n in ("cli", "python"))
    labels = (("cli", "adr-onnx audit (a process)"), ("call", "adr_onnx.attack (a call, in process)"),
              ("python", "adr_onnx.attack (a fresh interpreter: start, import, call)"))
    for name, label in labels:
        walls, cpus = zip(*runs[name])
        print(f"{label}, 64 images, {a.method}, {a.backend}: wall (s) {' '.join(f'{w:.2f}' for w in walls)}, "
              f"median {statistics.median(walls):.3f}, least {min(walls):.3f}; CPU (s) median {statistics.median(cpus):.3f}, "
              f"least {min(cpus):.3f}")
    for name in ("call", "python"):
        wall = statistics.median(w for w, _ in runs[name]) / statistics.median(w for w, _ in runs["cli"])
        cpu = statistics.median(c for _, c in runs[name]) / statistics.median(c for _, c in runs["cli"])
        least = min(c for _, c in runs[name]) / min(c for _, c in runs["cli"])
        print(f"{name} / cli: median wall {wall:.3f}, median CPU {cpu:.3f}, least CPU {least:.3f}")
    same = cli_report["samples"] == py_report["samples"]
    print(f"same samples: {same}; robust accuracy {py_report['summary']['robust_accuracy']:.4f}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
