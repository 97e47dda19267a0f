#!/usr/bin/env python3
"""Puts the per-sample minimal epsilon of an `adr-onnx audit --epsilons`
report beside FAB's (scripts/fab-min-epsilon.py) on the same model and
images (docs/results.md section 6c).

Every adversarial of the audit is re-checked with ONNX Runtime on the
original .onnx file (float32): inside [0, 1], within its `min_epsilon` in
L-infinity (tolerance 1e-6) and misclassified; a failure is printed and the
sample counts as not flipped.

Our `min_epsilon` is an upper bound known to the bisection's bracket
(`max_robust_epsilon`, `min_epsilon`]. Per sample, FAB's distance `d` is
"equal" when it falls in that bracket, FAB "smaller" when `d` is at most
`max_robust_epsilon` (our attack failed at a radius where FAB found a point),
ours "smaller" when `d` exceeds our `min_epsilon`. A sample neither side
flips within the audit's largest radius counts as equal.

    min-epsilon-compare.py --model M.onnx --images X.npy --audit AUDIT.json \
        --reference FAB.json [--at 0.05,0.1,0.15,0.2,0.25,0.3] [--table OUT.csv]

Prints the medians, the smaller/larger/equal counts and one markdown row of
robust accuracy per side at the `--at` radii. Needs numpy and onnxruntime.
"""
import argparse
import base64
import csv
import json
import math

import numpy as np
import onnxruntime as ort

TOL = 1e-6


def recheck(sess, name, images, sample):
    """Whether the audit's adversarial is in [0, 1], within min_epsilon and
    misclassified in ONNX Runtime."""
    adv = np.frombuffer(base64.b64decode(sample["adversarial_f32le"]), dtype="<f4")
    adv = adv.reshape(images.shape[1:])
    x0 = images[sample["index"]]
    dist = float(np.abs(adv.astype(np.float64) - x0.astype(np.float64)).max())
    pred = int(sess.run(None, {name: adv[None]})[0].argmax())
    return adv.min() >= 0.0 and adv.max() <= 1.0 and dist <= sample["min_epsilon"] + TOL \
        and pred != sample["label"]


def our_brackets(audit, sess, name, images):
    """index -> (max_robust_epsilon, min_epsilon or inf) for the samples the
    model classifies correctly; re-check failures become inf."""
    top = max(audit["epsilons"])
    out, failures = {}, []
    for s in audit["samples"]:
        if not s["clean_correct"]:
            continue
        lo = s.get("max_robust_epsilon") or 0.0
        hi = s.get("min_epsilon")
        if hi is not None and not recheck(sess, name, images, s):
            failures.append(s["index"])
            hi, lo = None, top
        out[s["index"]] = (lo, hi if hi is not None else math.inf)
    return out, failures


def verdict(lo, hi, d, top):
    if math.isinf(hi) and d > top:
        return "equal"
    if d <= lo:
        return "fab smaller"
    if d > hi:
        return "ours smaller"
    return "equal"


def robust_at(values, r):
    return sum(1 for v in values if v > r)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--audit", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--at", default="0.05,0.1,0.15,0.2,0.25,0.3")
    ap.add_argument("--table", help="per-sample CSV")
    args = ap.parse_args()
    audit = json.load(open(args.audit))
    ref = json.load(open(args.reference))
    images = np.load(args.images).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    top = max(audit["epsilons"])

    ours, failures = our_brackets(audit, sess, name, images)
    fab = {s["index"]: (s["min_epsilon"] if s["min_epsilon"] is not None else math.inf)
           for s in ref["samples"] if s["clean_correct"]}
    common = sorted(set(ours) & set(fab))
    if set(ours) != set(fab):
        print(f"clean-correct sets differ: only ours {sorted(set(ours) - set(fab))}, "
              f"only FAB {sorted(set(fab) - set(ours))}")
    rows, counts = [], {"ours smaller": 0, "fab smaller": 0, "equal": 0}
    for i in common:
        lo, hi = ours[i]
        v = verdict(lo, hi, fab[i], top)
        counts[v] += 1
        rows.append({"index": i, "ours_max_robust": lo, "ours_min_epsilon": hi, "fab_min_epsilon": fab[i],
                     "verdict": v})
    best = [min(ours[i][1], fab[i]) for i in common]
    print(f"samples compared {len(common)} (clean correct); our re-check failures {len(failures)} {failures}; "
          f"audit radii {audit['epsilons']}, tolerance {audit['epsilon_tolerance']}, "
          f"wall {audit['provenance'].get('duration_s', float('nan')):.0f} s; FAB {ref['total_seconds']:.0f} s")
    print(f"median min epsilon: ours {np.median([ours[i][1] for i in common]):.4f}, "
          f"FAB {np.median([fab[i] for i in common]):.4f}, best of both {np.median(best):.4f}")
    print(f"median bracket width (ours, flipped samples): "
          f"{np.median([ours[i][1] - ours[i][0] for i in common if math.isfinite(ours[i][1])]):.4f}")
    print(f"per sample: {counts}")
    print(f"samples where ours is smaller: {[r['index'] for r in rows if r['verdict'] == 'ours smaller']}")
    print(f"samples where FAB is smaller: {[r['index'] for r in rows if r['verdict'] == 'fab smaller']}")
    radii = [float(r) for r in args.at.split(",")]
    n = len(audit["samples"])
    print("| side | " + " | ".join(f"{r:g}" for r in radii) + " |")
    print("| --- |" + " ---: |" * len(radii))
    for side, values in (("adr-onnx", [ours[i][1] for i in common]), ("FAB", [fab[i] for i in common]),
                         ("best of both", best)):
        print(f"| {side} | " + " | ".join(f"{robust_at(values, r)} ({robust_at(values, r) / n:.0%})"
                                          for r in radii) + " |")
    curve = {round(c["epsilon"], 9): c["robust"] for c in audit["curve"]}
    mismatch = [r for r in radii if round(r, 9) in curve and curve[round(r, 9)] != robust_at(
        [ours[i][1] for i in common], r)]
    print(f"the audit's own curve agrees at the listed radii: {not mismatch} {mismatch}")
    if args.table:
        with open(args.table, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
