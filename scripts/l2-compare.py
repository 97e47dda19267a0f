#!/usr/bin/env python3
"""Puts adr-onnx audits on an L2 ball beside a torchattacks reference run
with `--norm l2` (scripts/autoattack-reference.py) on the same model, images
and eps (docs/results.md section 6c).

Every adversarial of an audit is re-checked with ONNX Runtime on the
original .onnx file (float32): inside [0, 1], L2 distance at most eps + 1e-5,
misclassified. The reference re-checked its own the same way. Prints per
audit: flips, re-check failures, the largest L2 distance and the median L2
distance of the flips on each side, the images only one side flips, and the
wall times (the audit's `provenance.duration_s`, the reference stage's
`seconds`).

    l2-compare.py --model M.onnx --images X.npy --reference REF.json AUDIT.json [...]

Needs numpy and onnxruntime only.
"""
import argparse
import base64
import json

import numpy as np
import onnxruntime as ort

TOL = 1e-5


def l2_flips(audit, sess, name, images, eps, n):
    """index -> L2 distance of each audit adversarial that passes the
    re-check; and the number that fail it."""
    flips, failures = {}, 0
    for s in audit["samples"]:
        if s["index"] >= n or not s["success"]:
            continue
        adv = np.frombuffer(base64.b64decode(s["adversarial_f32le"]), dtype="<f4")
        adv = adv.reshape(images.shape[1:])
        dist = float(np.sqrt(((adv.astype(np.float64) - images[s["index"]]) ** 2).sum()))
        pred = int(sess.run(None, {name: adv[None]})[0].argmax())
        if adv.min() >= 0.0 and adv.max() <= 1.0 and dist <= eps + TOL and pred != s["label"]:
            flips[s["index"]] = dist
        else:
            failures += 1
    return flips, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("audits", nargs="+")
    args = ap.parse_args()
    ref = json.load(open(args.reference))
    if ref.get("norm") != "l2":
        raise SystemExit(f"{args.reference}: not an L2 reference (run autoattack-reference.py --norm l2)")
    eps, n = ref["eps"], ref["n"]
    images = np.load(args.images).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    theirs = {s["index"]: s["adv_l2"] for s in ref["samples"] if s["flipped_by"]}
    print(f"reference: {len(theirs)} flips of {ref['clean_correct']} correct, re-check failures "
          f"{ref['recheck']['failures']}, largest L2 excess {ref['recheck']['max_eps_violation']:.1e}, "
          f"median L2 {np.median(list(theirs.values())):.3f}, {ref['total_seconds']:.0f} s")
    for path in args.audits:
        audit = json.load(open(path))
        ours, failures = l2_flips(audit, sess, name, images, eps, n)
        wall = audit.get("provenance", {}).get("duration_s", float("nan"))
        print(f"{path.split('/')[-1]}: {len(ours)} flips, re-check failures {failures}, "
              f"largest L2 {max(ours.values(), default=0):.6f} (eps {eps}), "
              f"median L2 {np.median(list(ours.values())):.3f}, {wall:.0f} s")
        print(f"  only ours {len(set(ours) - set(theirs))}: {sorted(set(ours) - set(theirs))}")
        print(f"  only the reference {len(set(theirs) - set(ours))}: {sorted(set(theirs) - set(ours))}")


if __name__ == "__main__":
    main()
