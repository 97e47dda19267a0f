#!/usr/bin/env python3
"""AutoAttack "standard" (L-inf) reference figures, per sample, built from
torchattacks' APGD, APGDT, FAB and Square with AutoAttack's official settings,
on an ONNX classifier converted to PyTorch with onnx2torch.

Every adversarial a stage reports is re-checked with ONNX Runtime on the
original .onnx file (float32): inside [0, 1], within eps in L-inf (tolerance
1e-6; with --norm l2 in L2, tolerance 1e-5) and misclassified. Candidates that fail the check are not counted as
flips; the sample stays in the pool for the next stage.

    autoattack-reference.py --model M.onnx --eps 0.25 --images X.npy \
        --labels Y.npy --first 500 --out OUT.json \
        [--stages apgd-ce,apgd-t,fab-t,square] [--seed 0] [--threads 1] [--norm linf]

Stages: apgd-ce, apgd-t, fab-t, square (AutoAttack standard, in that order by
default) and pgd (PGD-100, step 2.5 * eps / 100, random start; a reference,
not part of AutoAttack). `--norm l2` runs APGD-CE, APGD-T, FAB-T and Square
on the L2 ball of radius eps (AutoAttack's L2 settings; pgd stays L-inf
only) and adds each sample's `adv_l2` and the run's `norm` to the JSON. The
adversarials (the clean image where no flip was
found) are saved next to the JSON as OUT.adv.npy.

PyTorch is a dependency of this script only, never of adr-onnx.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torchattacks
from onnx2torch import convert

TOL = 1e-6
TOL_L2 = 1e-5  # an L2 norm sums 784 float32 squares: more rounding than a max
N_CLASSES = 10


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_attack(name, model, eps, seed, n_classes, norm="Linf"):
    """AutoAttack's official settings (fra31/auto-attack, version='standard');
    norm "Linf" or "L2"."""
    if name == "apgd-ce":
        # AA: APGDAttack(n_restarts=1 in standard, n_iter=100, eot_iter=1, rho=.75), loss ce
        return torchattacks.APGD(model, norm=norm, eps=eps, steps=100, n_restarts=1,
                                 seed=seed, loss="ce", eot_iter=1, rho=0.75)
    if name == "apgd-t":
        # AA: APGDAttack_targeted(n_restarts=1, n_iter=100, eot_iter=1, rho=.75,
        # n_target_classes=9), loss dlr-targeted
        return torchattacks.APGDT(model, norm=norm, eps=eps, steps=100, n_restarts=1,
                                  seed=seed, eot_iter=1, rho=0.75, n_classes=n_classes)
    if name == "fab-t":
        # AA: FABAttack_PT targeted, n_restarts=1, n_iter=100, n_target_classes=9,
        # alpha_max=0.1, eta=1.05, beta=0.9 (FAB defaults)
        return torchattacks.FAB(model, norm=norm, eps=eps, steps=100, n_restarts=1,
                                alpha_max=0.1, eta=1.05, beta=0.9, seed=seed,
                                multi_targeted=True, n_classes=n_classes)
    if name == "square":
        # AA: SquareAttack(p_init=.8, n_queries=5000, n_restarts=1,
        # resc_schedule=False); torchattacks defaults to resc_schedule=True
        return torchattacks.Square(model, norm=norm, eps=eps, n_queries=5000, n_restarts=1,
                                   p_init=0.8, loss="margin", resc_schedule=False, seed=seed)
    if name == "pgd":
        if norm != "Linf":
            raise ValueError("stage pgd is L-inf only")
        return torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / 100, steps=100,
                                random_start=True)
    raise ValueError(f"unknown stage {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--eps", type=float, required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--stages", default="apgd-ce,apgd-t,fab-t,square")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--norm", choices=["linf", "l2"], default="linf",
                    help="the ball: L-inf (default) or L2 of radius eps")
    ap.add_argument("--batch", type=int, default=100,
                    help="samples per attack call (each call re-seeds the attack)")
    ap.add_argument("--max-stage-seconds", type=float, default=0,
                    help="stop a stage after the batch that passes this many seconds "
                         "(0: no limit); the stage is then marked incomplete")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    l2 = args.norm == "l2"
    tol = TOL_L2 if l2 else TOL
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]

    x_all = np.load(args.images)[: args.first].astype(np.float32)
    y_all = np.load(args.labels)[: args.first].astype(np.int64)
    n = len(y_all)
    assert x_all.ndim == 4 and x_all.shape[0] == n, x_all.shape
    log(f"model {args.model}, eps {args.eps}, N {n}, stages {stages}, "
        f"torch {torch.__version__}, torchattacks {torchattacks.__version__}, threads {args.threads}")

    model = convert(args.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name

    def ort_logits(x):
        out = []
        for i in range(0, len(x), 256):
            out.append(sess.run(None, {in_name: np.ascontiguousarray(x[i:i + 256], dtype=np.float32)})[0])
        return np.concatenate(out)

    def torch_pred(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).argmax(1).numpy()

    clean_pred = torch_pred(x_all)
    clean_pred_ort = ort_logits(x_all).argmax(1)
    clean_ok = clean_pred == y_all
    log(f"clean correct {int(clean_ok.sum())}/{n} (torch); ORT disagrees with torch on "
        f"{int((clean_pred != clean_pred_ort).sum())}")

    robust = clean_ok.copy()              # correct and not yet (verified) flipped
    flipped_by = [None] * n
    adv_all = x_all.copy()                # clean image until a verified flip
    recheck_fail = [[] for _ in range(n)]  # stages whose candidate failed the ORT check
    stage_rows = []
    overall_max_box_viol = 0.0
    overall_max_eps_viol = 0.0

    for stage in stages:
        idx = np.nonzero(robust)[0]
        row = {"stage": stage, "attacked": int(len(idx)), "flipped": 0, "candidates": 0,
               "recheck_failures": 0, "seconds": 0.0, "complete": True, "error": None,
               "max_box_violation": 0.0, "max_eps_violation": 0.0}
        log(f"stage {stage}: attacking {len(idx)} samples")
        t0 = time.perf_counter()
        try:
            atk = make_attack(stage, model, args.eps, args.seed, N_CLASSES, "L2" if l2 else "Linf")
            row["attack"] = repr(atk)
            done = 0
            for b in range(0, len(idx), args.batch):
                bi = idx[b:b + args.batch]
                torch.manual_seed(args.seed)
                xb = torch.from_numpy(x_all[bi])
                yb = torch.from_numpy(y_all[bi])
                adv = atk(xb, yb).detach().numpy().astype(np.float32)
                # candidates: what torch says is misclassified
                cand = torch_pred(adv) != y_all[bi]
                # ORT re-check of every returned adversarial that differs from the clean input
                pred_o = ort_logits(adv).argmax(1)
                flat_adv = adv.reshape(len(bi), -1)
                flat_x = x_all[bi].reshape(len(bi), -1)
                box_v = np.maximum(np.maximum(-flat_adv.min(1), flat_adv.max(1) - 1.0), 0.0)
                delta = flat_adv.astype(np.float64) - flat_x
                dist = np.sqrt((delta ** 2).sum(1)) if l2 else np.abs(delta).max(1)
                eps_v = np.maximum(dist - args.eps, 0.0)
                changed = np.abs(flat_adv - flat_x).max(1) > 0
                if changed.any():
                    row["max_box_violation"] = max(row["max_box_violation"], float(box_v[changed].max()))
                    row["max_eps_violation"] = max(row["max_eps_violation"], float(eps_v[changed].max()))
                ok = (box_v <= tol) & (eps_v <= tol) & (pred_o != y_all[bi])
                for j, i in enumerate(bi):
                    if cand[j] or pred_o[j] != y_all[i]:
                        row["candidates"] += 1
                        if ok[j]:
                            robust[i] = False
                            flipped_by[i] = stage
                            adv_all[i] = adv[j]
                            row["flipped"] += 1
                        else:
                            row["recheck_failures"] += 1
                            recheck_fail[i].append({
                                "stage": stage, "torch_pred": int(torch_pred(adv[j:j + 1])[0]),
                                "ort_pred": int(pred_o[j]), "box_violation": float(box_v[j]),
                                "eps_violation": float(eps_v[j])})
                done += len(bi)
                el = time.perf_counter() - t0
                eta = el / done * (len(idx) - done)
                log(f"  {stage}: {done}/{len(idx)} done, {row['flipped']} flipped, "
                    f"{row['recheck_failures']} re-check failures, {el:.0f} s, ETA {eta:.0f} s")
                if args.max_stage_seconds and el > args.max_stage_seconds and done < len(idx):
                    row["complete"] = False
                    row["error"] = f"stopped after {done} of {len(idx)} samples: over {args.max_stage_seconds} s"
                    row["attacked"] = done
                    log(f"  {stage}: {row['error']}")
                    break
        except Exception as e:  # record and skip the stage
            import traceback
            traceback.print_exc()
            row["complete"] = False
            row["error"] = f"{type(e).__name__}: {e}"
        row["seconds"] = round(time.perf_counter() - t0, 2)
        overall_max_box_viol = max(overall_max_box_viol, row["max_box_violation"])
        overall_max_eps_viol = max(overall_max_eps_viol, row["max_eps_violation"])
        stage_rows.append(row)
        log(f"stage {stage}: {row['flipped']} flipped of {row['attacked']}, "
            f"{row['recheck_failures']} re-check failures, {row['seconds']} s; "
            f"robust now {int(robust.sum())}/{n}")

    final_pred = ort_logits(adv_all).argmax(1)
    samples = []
    for i in range(n):
        samples.append({
            "index": i, "label": int(y_all[i]), "clean_pred": int(clean_pred[i]),
            "clean_pred_ort": int(clean_pred_ort[i]), "flipped_by": flipped_by[i],
            "adv_pred": int(final_pred[i]),
            "adv_linf": float(np.abs(adv_all[i] - x_all[i]).max()),
            "robust": bool(robust[i]),
            "recheck_failures": recheck_fail[i]})
        if l2:
            samples[-1]["adv_l2"] = float(np.sqrt(((adv_all[i].astype(np.float64) - x_all[i]) ** 2).sum()))
    result = {
        "model": os.path.abspath(args.model), "eps": args.eps, "n": n,
        "images": os.path.abspath(args.images), "labels": os.path.abspath(args.labels),
        "stages_requested": stages, "seed": args.seed, "threads": args.threads, "batch": args.batch,
        "torch": torch.__version__, "torchattacks": torchattacks.__version__,
        "onnxruntime": ort.__version__, "python": platform.python_version(),
        "recheck": {"backend": "onnxruntime CPUExecutionProvider, float32", "tolerance": tol,
                    "max_box_violation": overall_max_box_viol,
                    "max_eps_violation": overall_max_eps_viol,
                    "failures": sum(r["recheck_failures"] for r in stage_rows)},
        "clean_correct": int(clean_ok.sum()),
        "clean_accuracy": float(clean_ok.mean()),
        "robust_correct": int(robust.sum()),
        "robust_accuracy": float(robust.mean()),
        "stages": stage_rows,
        "total_seconds": round(sum(r["seconds"] for r in stage_rows), 2),
        "adversarials_npy": os.path.abspath(os.path.splitext(args.out)[0] + ".adv.npy"),
        "samples": samples,
    }
    if l2:
        result["norm"] = "l2"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.save(result["adversarials_npy"], adv_all)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    log(f"robust accuracy {result['robust_correct']}/{n} = {result['robust_accuracy']:.4f}; "
        f"wrote {args.out} and {result['adversarials_npy']}")


if __name__ == "__main__":
    main()
