#!/usr/bin/env python3
"""Minimal L-infinity perturbation per sample from torchattacks' FAB, the
reference for `adr-onnx audit --epsilons` (docs/results.md section 6c).

FAB is a minimal-norm attack: without an eps cap it returns, per sample, the
closest misclassified point it found. This script runs, on the first N
samples, FAB untargeted and FAB targeted at each of the `--targets` most
likely wrong classes (torchattacks' multi-targeted FAB ranks the classes the
same way, but stops at the first target that flips a sample; here every
target runs on every sample and the closest point wins), each with `--steps`
steps, no random start, alpha_max 0.1, eta 1.05, beta 0.9 (FAB's defaults).

Every point is re-checked with ONNX Runtime on the original .onnx file
(float32): inside [0, 1] and misclassified. Only re-checked points count;
a sample's `min_epsilon` is the smallest L-infinity distance among them
(null when none flips it). The chosen adversarials are saved as OUT.adv.npy.

    fab-min-epsilon.py --model M.onnx --images X.npy --labels Y.npy \
        --first 100 --out FAB.json [--steps 100] [--targets 9] [--threads 1]

PyTorch is a dependency of this script only, never of adr-onnx.
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import onnxruntime as ort
import torch
import torchattacks
from onnx2torch import convert

N_CLASSES = 10


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class OrtClassifier:
    """The original .onnx file in ONNX Runtime, float32, for the re-check."""

    def __init__(self, path, threads):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.name = self.sess.get_inputs()[0].name

    def predict(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.sess.run(None, {self.name: x})[0].argmax(1)


def fab_variants(targets):
    """(name, target rank) per run: rank None is FAB untargeted, rank k the
    k-th most likely class at the clean input (2: the most likely wrong)."""
    return [("fab", None)] + [(f"fab-t{k}", k) for k in range(2, targets + 2)]


def run_variant(atk, rank, x, y):
    """One FAB run on a batch, no random start; the clean image where FAB
    found nothing."""
    if rank is None:
        return atk.attack_single_run(x, y, use_rand_start=False)
    atk.target_class = rank
    return atk.attack_single_run_targeted(x, y, use_rand_start=False)


def checked_linf(ort_model, adv, x, y):
    """L-infinity distance of each point that ONNX Runtime misclassifies and
    that lies in [0, 1]; inf elsewhere. Also: how many points torch's
    prediction would have counted that the re-check refused."""
    flat_adv = adv.reshape(len(adv), -1)
    flat_x = x.reshape(len(x), -1)
    changed = np.abs(flat_adv - flat_x).max(1) > 0
    in_box = (flat_adv.min(1) >= 0.0) & (flat_adv.max(1) <= 1.0)
    wrong = ort_model.predict(adv) != y
    ok = changed & in_box & wrong
    linf = np.abs(flat_adv.astype(np.float64) - flat_x.astype(np.float64)).max(1)
    return np.where(ok, linf, np.inf), int((changed & ~ok).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--targets", type=int, default=9, help="FAB-T target classes (0: untargeted only)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    x_all = np.load(args.images)[: args.first].astype(np.float32)
    y_all = np.load(args.labels)[: args.first].astype(np.int64)
    n = len(y_all)
    model = convert(args.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    ort_model = OrtClassifier(args.model, args.threads)
    clean_ok = ort_model.predict(x_all) == y_all
    log(f"model {args.model}, N {n}, clean correct {int(clean_ok.sum())} (ONNX Runtime), "
        f"torch {torch.__version__}, torchattacks {torchattacks.__version__}")

    # eps only bounds FAB's random starts, which are off; 1.0 is no cap on [0, 1].
    atk = torchattacks.FAB(model, norm="Linf", eps=1.0, steps=args.steps, n_restarts=1,
                           alpha_max=0.1, eta=1.05, beta=0.9, seed=0,
                           multi_targeted=True, n_classes=N_CLASSES)
    variants = fab_variants(args.targets)
    dist = {name: np.full(n, np.inf) for name, _ in variants}
    best = np.full(n, np.inf)
    best_by = [None] * n
    adv_best = x_all.copy()
    rows = []
    for name, rank in variants:
        t0 = time.perf_counter()
        failures = 0
        for b in range(0, n, args.batch):
            xb, yb = x_all[b:b + args.batch], y_all[b:b + args.batch]
            torch.manual_seed(0)
            adv = run_variant(atk, rank, torch.from_numpy(xb), torch.from_numpy(yb))
            adv = adv.detach().numpy().astype(np.float32)
            d, f = checked_linf(ort_model, adv, xb, yb)
            failures += f
            d[~clean_ok[b:b + args.batch]] = np.inf
            dist[name][b:b + args.batch] = d
            for j in np.nonzero(d < best[b:b + args.batch])[0]:
                best[b + j], best_by[b + j], adv_best[b + j] = d[j], name, adv[j]
        secs = round(time.perf_counter() - t0, 2)
        found = int(np.isfinite(dist[name]).sum())
        rows.append({"variant": name, "found": found, "recheck_failures": failures, "seconds": secs})
        log(f"{name}: {found} flipped, {failures} re-check failures, {secs} s; "
            f"median so far {np.median(best[clean_ok]):.4f}")

    samples = [{
        "index": i, "label": int(y_all[i]), "clean_correct": bool(clean_ok[i]),
        "min_epsilon": float(best[i]) if np.isfinite(best[i]) else None,
        "found_by": best_by[i],
        "per_variant": {k: (float(v[i]) if np.isfinite(v[i]) else None) for k, v in dist.items()},
    } for i in range(n)]
    adv_path = os.path.abspath(os.path.splitext(args.out)[0] + ".adv.npy")
    result = {
        "model": os.path.abspath(args.model), "images": os.path.abspath(args.images),
        "labels": os.path.abspath(args.labels), "n": n, "norm": "linf", "steps": args.steps,
        "targets": args.targets, "threads": args.threads, "torch": torch.__version__,
        "torchattacks": torchattacks.__version__, "onnxruntime": ort.__version__,
        "python": platform.python_version(), "clean_correct": int(clean_ok.sum()),
        "variants": rows, "total_seconds": round(sum(r["seconds"] for r in rows), 2),
        "adversarials_npy": adv_path, "samples": samples,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.save(adv_path, adv_best)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    log(f"wrote {args.out} and {adv_path}")


if __name__ == "__main__":
    main()
