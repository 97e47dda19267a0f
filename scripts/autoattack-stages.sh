#!/usr/bin/env bash
# Each AutoAttack stage ALONE on every sample: adr-onnx's `audit --method
# apgd|apgd-t|square` beside torchattacks' APGD-CE, APGD-T and Square
# (scripts/autoattack-reference.sh --stages S), one stage at a time, ours
# then torch's back to back (never at the same time), 1 thread each, ONNX
# Runtime backend, seed 0. Then scripts/autoattack-compare.py re-checks every
# adversarial of each audit in ONNX Runtime and prints one row per stage.
#   scripts/autoattack-stages.sh --model M.onnx --goal TEMPLATE.json \
#     --images X.npy --labels Y.npy --first N --out DIR \
#     [--stages apgd-ce,apgd-t,square] [--adr-onnx BIN]
# Writes DIR/ours-STAGE.json, DIR/ref-STAGE.json (+ .adv.npy) and their logs;
# keep DIR outside the repository. The budgets are AutoAttack's (APGD 100
# steps, 9 targets, Square 5000 queries), set explicitly so that a template's
# `iterations` does not change them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stages="apgd-ce,apgd-t,square"
bin="adr-onnx"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2" ;;
    --goal) goal="$2" ;;
    --images) images="$2" ;;
    --labels) labels="$2" ;;
    --first) first="$2" ;;
    --out) out="$2" ;;
    --stages) stages="$2" ;;
    --adr-onnx) bin="$2" ;;
    *) echo "autoattack-stages.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
eps="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epsilon"])' "$goal")"
mkdir -p "$out"
# adr-onnx finds ONNX Runtime through the onnxruntime package first on the PATH.
export PATH="$root/.venv/bin:$PATH"
IFS=, read -r -a list <<<"$stages"
for stage in "${list[@]}"; do
  case "$stage" in
    apgd-ce) method=apgd ;;
    apgd-t | square) method="$stage" ;;
    *) echo "autoattack-stages.sh: unknown stage $stage" >&2; exit 2 ;;
  esac
  "$bin" audit "$model" --images "$images" --labels "$labels" --goal "$goal" \
    --limit "$first" --threads 1 --batch 64 --backend ort --seed 0 --method "$method" \
    --set apgd_steps=100 --set apgd_targets=9 --set square_queries=5000 \
    --set square_p_init=0.8 --out "$out/ours-$stage.json" >"$out/ours-$stage.log" 2>&1
  "$root/scripts/autoattack-reference.sh" --model "$model" --eps "$eps" \
    --images "$images" --labels "$labels" --first "$first" --stages "$stage" \
    --seed 0 --threads 1 --out "$out/ref-$stage.json" >"$out/ref-$stage.log" 2>&1
done
for stage in "${list[@]}"; do
  "$root/.venv-bench/bin/python" "$root/scripts/autoattack-compare.py" --model "$model" \
    --images "$images" --reference "$out/ref-$stage.json" "$out/ours-$stage.json"
done
# The union over the stages run, each side: what running them one after the
# other (AutoAttack's sequence, adr-onnx's `auto` without ADR) could at most
# flip, and the images only one stage flips.
"$root/.venv-bench/bin/python" - "$out" "${list[@]}" <<'PY'
import json, sys
out, stages = sys.argv[1], sys.argv[2:]
for side in ("ours", "ref"):
    flips = {}
    for st in stages:
        d = json.load(open(f"{out}/{side}-{st}.json"))
        if side == "ours":
            flips[st] = {s["index"] for s in d["samples"] if s["success"]}
        else:
            flips[st] = {s["index"] for s in d["samples"] if s["flipped_by"]}
    union = set().union(*flips.values())
    alone = {st: sorted(f - set().union(*(flips[o] for o in stages if o != st))) for st, f in flips.items()}
    line = f"{side}: union of {'+'.join(stages)} flips {len(union)}"
    if len(stages) > 1:
        line += "; flipped by one stage only: " + "; ".join(f"{st} {len(a)} {a}" for st, a in alone.items())
    print(line)
PY
