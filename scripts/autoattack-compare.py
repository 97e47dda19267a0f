#!/usr/bin/env python3
"""Puts an adr-onnx audit beside an AutoAttack reference run
(scripts/autoattack-reference.py) on the same model, images and eps.

Every adversarial of the audit is re-checked with ONNX Runtime on the
original .onnx file (float32): inside [0, 1], within eps in L-inf (tolerance
1e-6; the largest excess is printed) and misclassified. Prints the
reference's flips per stage and time, one markdown row per audit (with its
wall time, the audit's `provenance.duration_s`), then the samples each side
flips that the other does not.

    autoattack-compare.py --model M.onnx --images X.npy --reference REF.json \
        AUDIT.json [AUDIT.json ...]

Needs numpy and onnxruntime only (the reference's .venv-bench has both).
"""
import argparse
import base64
import json

import numpy as np
import onnxruntime as ort

TOL = 1e-6


def decode(s):
    return np.frombuffer(base64.b64decode(s), dtype="<f4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("audits", nargs="+")
    args = ap.parse_args()
    ref = json.load(open(args.reference))
    eps = ref["eps"]
    images = np.load(args.images).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ref_flipped = {s["index"] for s in ref["samples"] if s["flipped_by"]}
    n = ref["n"]
    print(f"reference: robust {n - len(ref_flipped) - sum(1 for s in ref['samples'] if s['clean_pred'] != s['label'])}"
          f"/{n}, flipped {len(ref_flipped)} ("
          + ", ".join(f"{r['stage']} {r['flipped']} in {r['seconds']:.0f} s" for r in ref["stages"])
          + f"), its own re-check failures {ref['recheck']['failures']}")
    print("| audit | method | flipped | robust accuracy | per stage | re-check failures | max eps excess "
          "| wall s | only this audit | only the reference |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in args.audits:
        a = json.load(open(path))
        samples = [s for s in a["samples"] if s["index"] < n]
        flipped, failures, excess = set(), 0, 0.0
        for s in samples:
            if not s["success"]:
                continue
            adv = decode(s["adversarial_f32le"]).reshape(images.shape[1:])
            x0 = images[s["index"]]
            e = float(np.abs(adv.astype(np.float64) - x0.astype(np.float64)).max()) - eps
            excess = max(excess, e)
            pred = int(sess.run(None, {name: adv[None]})[0].argmax())
            in_box = adv.min() >= 0.0 and adv.max() <= 1.0
            if in_box and e <= TOL and pred != s["label"]:
                flipped.add(s["index"])
            else:
                failures += 1
        correct = sum(1 for s in samples if s["clean_correct"])
        method = a["settings"].get("algorithm")
        stages = ", ".join(f"{k} {v}" for k, v in sorted(a["summary"].get("found_by", {}).items()))
        only_ours = sorted(flipped - ref_flipped)
        only_ref = sorted(ref_flipped - flipped)
        wall = a.get("provenance", {}).get("duration_s", float("nan"))
        print(f"| {path.split('/')[-1]} | {method} | {len(flipped)} | {(correct - len(flipped)) / len(samples):.1%} "
              f"| {stages} | {failures} | {excess:.2e} | {wall:.0f} | {len(only_ours)} | {len(only_ref)} |")
        print(f"  flipped by {path.split('/')[-1]} only: {only_ours}")
        print(f"  flipped by the reference only: {only_ref}")


if __name__ == "__main__":
    main()
