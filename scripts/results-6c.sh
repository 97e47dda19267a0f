#!/usr/bin/env bash
# The measurements of docs/results.md section 6c, one model per call, ours
# then torchattacks' back to back (never at the same time), 1 thread each,
# ONNX Runtime backend; every adversarial of both sides re-checked in ONNX
# Runtime on the original file.
#
#   scripts/results-6c.sh min-eps --model M.onnx --goal T.json --out DIR \
#     [--first 100] [--epsilons 0.05,0.1,...,0.4] [--tolerance 0.05] [--method apgd-t]
#       adr-onnx `audit --epsilons` beside FAB without an eps cap
#       (scripts/fab-min-epsilon.py), then scripts/min-epsilon-compare.py
#   scripts/results-6c.sh square-l2 --model M.onnx --eps 2.0 --out DIR \
#     [--first 200]
#       `audit --method square` (5000 queries, p_init 0.8) on an L2 template
#       beside torchattacks' Square(norm='L2') (scripts/autoattack-reference.py --norm l2), then
#       scripts/l2-compare.py
#   scripts/results-6c.sh seed --model M.onnx --goal T.json --seed S --out DIR \
#     [--first 500]
#       APGD-T alone with seed S on both sides, then scripts/autoattack-compare.py
#
# Common: [--adr-onnx BIN] (default adr-onnx on the PATH). Python: $PYTHON,
# default .venv-bench/bin/python (torch, torchattacks, onnx2torch,
# onnxruntime; scripts/autoattack-reference.sh installs it). Images: the first
# N of $F/mnist/mnist_test_1000_*.npy, F=${F:-../shared/fixtures}. Keep DIR
# outside the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/.venv-bench/bin/python}"
fix="${F:-$root/../shared/fixtures}"
images="$fix/mnist/mnist_test_1000_images.npy"
labels="$fix/mnist/mnist_test_1000_labels.npy"
what="${1:?usage: results-6c.sh min-eps|square-l2|seed --model M.onnx ...}"
shift
bin=adr-onnx
first=""
epsilons=0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4
tolerance=0.05
method=apgd-t
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2" ;;
    --goal) goal="$2" ;;
    --out) out="$2" ;;
    --first) first="$2" ;;
    --epsilons) epsilons="$2" ;;
    --tolerance) tolerance="$2" ;;
    --method) method="$2" ;;
    --eps) eps="$2" ;;
    --seed) seed="$2" ;;
    --adr-onnx) bin="$2" ;;
    *) echo "results-6c.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
mkdir -p "$out"
# adr-onnx finds ONNX Runtime through the onnxruntime package first on the PATH.
export PATH="$root/.venv/bin:$PATH"
audit() {
  "$bin" audit "$model" --images "$images" --labels "$labels" --threads 1 --batch 64 \
    --backend ort "$@"
}

case "$what" in
  min-eps)
    first="${first:-100}"
    audit --goal "$goal" --limit "$first" --seed 0 --method "$method" \
      --set apgd_steps=100 --set apgd_targets=9 --set square_queries=5000 --set square_p_init=0.8 \
      --epsilons "$epsilons" --epsilon-tolerance "$tolerance" --curve "$out/ours-curve.png" \
      --out "$out/ours-min-eps.json" >"$out/ours-min-eps.log" 2>&1
    "$py" "$root/scripts/fab-min-epsilon.py" --model "$model" --images "$images" --labels "$labels" \
      --first "$first" --out "$out/fab.json" >"$out/fab.log" 2>&1
    "$py" "$root/scripts/min-epsilon-compare.py" --model "$model" --images "$images" \
      --audit "$out/ours-min-eps.json" --reference "$out/fab.json" --table "$out/per-image.csv"
    ;;
  square-l2)
    first="${first:-200}"
    printf '{"kind": "target_class", "epsilon": %s, "norm": "l2", "bounds": [0.0, 1.0]}\n' "$eps" \
      >"$out/goal-l2.json"
    audit --goal "$out/goal-l2.json" --limit "$first" --seed 0 --method square \
      --set square_queries=5000 --set square_p_init=0.8 \
      --out "$out/ours-square-l2.json" >"$out/ours-square-l2.log" 2>&1
    "$py" "$root/scripts/autoattack-reference.py" --model "$model" --eps "$eps" --norm l2 \
      --images "$images" --labels "$labels" --first "$first" --stages square --seed 0 \
      --threads 1 --out "$out/ref-square-l2.json" >"$out/ref-square-l2.log" 2>&1
    "$py" "$root/scripts/l2-compare.py" --model "$model" --images "$images" \
      --reference "$out/ref-square-l2.json" "$out/ours-square-l2.json"
    ;;
  seed)
    first="${first:-500}"
    eps="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["epsilon"])' "$goal")"
    audit --goal "$goal" --limit "$first" --seed "$seed" --method apgd-t \
      --set apgd_steps=100 --set apgd_targets=9 \
      --out "$out/ours-apgd-t-s$seed.json" >"$out/ours-apgd-t-s$seed.log" 2>&1
    "$py" "$root/scripts/autoattack-reference.py" --model "$model" --eps "$eps" \
      --images "$images" --labels "$labels" --first "$first" --stages apgd-t --seed "$seed" \
      --threads 1 --out "$out/ref-apgd-t-s$seed.json" >"$out/ref-apgd-t-s$seed.log" 2>&1
    "$py" "$root/scripts/autoattack-compare.py" --model "$model" --images "$images" \
      --reference "$out/ref-apgd-t-s$seed.json" "$out/ours-apgd-t-s$seed.json"
    ;;
  *) echo "results-6c.sh: unknown measurement $what (min-eps, square-l2, seed)" >&2; exit 2 ;;
esac
