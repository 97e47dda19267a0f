#!/usr/bin/env bash
# Runs one adr-onnx binary over every example goal in testdata/goals/ (each
# method), a small audit and a few falsify instances, all with seed 0, and
# writes each report with its timings, commit and paths taken out, so that two
# builds can be compared: a refactor must give the same reports.
# Usage: scripts/same-reports.sh BINARY OUT_DIR     then   diff -r OUT_A OUT_B
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "$1")
OUT=$2
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
F=../shared/fixtures
export PATH=$PWD/.venv/bin:$PATH

normalise() { # report.json -> OUT/name.json, with the volatile fields removed
  [[ -f $1 ]] || { echo "missing $1" >"$OUT/$2.missing"; return 0; }
  python3 - "$1" "$OUT/$2.json" <<'EOF'
import hashlib, json, re, sys
volatile = re.compile(r"second|time|elapsed|wall|commit|started|finished|date|duration|per_s|rate|path|npy|png|dir|note|rss|memory|created")
def clean(o):
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items() if not volatile.search(k)}
    if isinstance(o, list):
        return [clean(v) for v in o]
    return o
with open(sys.argv[1]) as f:
    doc = json.load(f)
with open(sys.argv[2], "w") as f:
    json.dump(clean(doc), f, indent=1, sort_keys=True)
EOF
}

run_goal() { # model goal method backend
  local name
  name=run_$(basename "$2" .json)_$3_$4
  "$BIN" run "$1" --goal "$2" --method "$3" --backend "$4" --seed 0 --threads 1 \
    --out "$W/$name.json" --artifacts "$W/$name.art" --quiet || true
  normalise "$W/$name.json" "$name"
  python3 -c "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())" \
    "$W/$name.art/best_input.npy" >"$OUT/$name.best_input.sha256" 2>/dev/null || true
}

mnist=models/mnist_cnn_pgd.onnx
for backend in tract ort; do
  for method in adr pgd gd apgd apgd-t square adam auto; do
    run_goal $mnist testdata/goals/untargeted_png.json $method $backend
    run_goal $mnist testdata/goals/targeted_png.json $method $backend
  done
  for method in adr pgd auto; do
    run_goal $mnist testdata/goals/untargeted_npy.json $method $backend
    run_goal $mnist testdata/goals/untargeted_l2.json $method $backend
    run_goal models/rand_small_s1.onnx testdata/goals/output_bound.json $method $backend
    run_goal models/mnist_vae_decoder.onnx testdata/goals/reconstruction.json $method $backend
  done
done
run_goal $F/models/rand_large_s1.onnx testdata/goals/output_bound_large.json adr tract

for method in auto pgd adr; do
  "$BIN" audit $mnist --goal testdata/templates/mnist_pgd_eps025.json --images $F/mnist/mnist_test_1000_images.npy \
    --labels $F/mnist/mnist_test_1000_labels.npy --epsilon 0.2 --limit 12 --batch 4 \
    --method $method --seed 0 --threads 1 --out "$W/audit_$method.json" --quiet || true
  normalise "$W/audit_$method.json" audit_$method
done
"$BIN" audit $mnist --goal testdata/templates/mnist_pgd_eps025.json --images $F/mnist/mnist_test_1000_images.npy \
  --labels $F/mnist/mnist_test_1000_labels.npy --epsilons 0.05,0.1,0.2 --limit 6 \
  --method pgd --seed 0 --threads 1 --out "$W/audit_curve.json" --quiet || true
normalise "$W/audit_curve.json" audit_curve

for p in 1 2 3 4; do
  "$BIN" falsify $F/vnncomp/acasxu/ACASXU_run2a_1_2_batch_2000.onnx $F/vnncomp/acasxu/prop_$p.vnnlib \
    --rounds 1 --timeout 600 --seed 0 --threads 1 --out "$W/falsify_$p.txt" \
    --report "$W/falsify_$p.json" --quiet || true
  normalise "$W/falsify_$p.json" falsify_$p
  cp "$W/falsify_$p.txt" "$OUT/falsify_$p.txt"
done
echo "wrote $(ls "$OUT" | wc -l) files to $OUT"
