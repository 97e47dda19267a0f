#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU and ONNX Runtime's GPU build,
# runs the release binary (builds nothing) on the fixture goals with
# --device cuda, checks that the outcomes match ONNX Runtime on the CPU, and
# prints per-iteration times for batches of 1, 64 and 1024 rows (restarts).
#
#   ORT_DYLIB_PATH=.../libonnxruntime.so.1.31.1 scripts/gpu-check.sh [BIN] [FIXTURES]
#
# BIN defaults to target/release/adr-onnx, FIXTURES to ../shared/fixtures.
# DEVICE=cpu runs the same script on the CPU provider (to test the script).
# Exit code: 0 when every parity check passes.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/adr-onnx}
F=${2:-../shared/fixtures}
DEVICE=${DEVICE:-cuda}
OUT=$(mktemp -d)
PY=${PYTHON:-python3}
fail=0

"$BIN" --version
"$BIN" doctor || true

run() { # name model goal extra...
  local name=$1 model=$2 goal=$3; shift 3
  "$BIN" run "$model" --goal "$goal" --backend ort --quiet --seed 0 "$@" --out "$OUT/$name.json" --artifacts "$OUT/$name" >/dev/null 2>"$OUT/$name.err"
  local rc=$?
  if [[ $rc -eq 2 ]]; then echo "ERROR $name: $(cat "$OUT/$name.err")"; fail=1; fi
}

compare() { # name: gpu vs cpu report
  "$PY" - "$OUT/$1.$DEVICE.json" "$OUT/$1.cpu.json" "$1" <<'PYEOF' || fail=1
import json, sys
g, c, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bo, co = g["best"]["objective"], c["best"]["objective"]
ok = g["achieved"] == c["achieved"] and abs(bo - co) <= 1e-3 * max(abs(co), 1e-6)
print(f"{'ok  ' if ok else 'FAIL'} {name}: {g['backend']['provider']} on {g['backend']['device']}: achieved {g['achieved']} best {bo:.6g}; "
      f"cpu: achieved {c['achieved']} best {co:.6g}; {g['timing']['seconds_per_iteration']*1e3:.3f} vs {c['timing']['seconds_per_iteration']*1e3:.3f} ms/iteration")
sys.exit(0 if ok else 1)
PYEOF
}

echo "== parity on the fixture goals ($DEVICE against cpu)"
goals=(
  "attack_png:models/mnist_cnn_pgd.onnx:testdata/goals/untargeted_png.json:--iterations 100 --set normalisers=random"
  "attack_pgd:models/mnist_cnn_pgd.onnx:testdata/goals/untargeted_png.json:--method pgd"
  "targeted:models/mnist_cnn_pgd.onnx:testdata/goals/targeted_png.json:--method auto --iterations 100"
  "npy:models/mnist_cnn_pgd.onnx:testdata/goals/untargeted_npy.json:--iterations 100"
  "vae:$F/models/mnist_vae_decoder.onnx:testdata/goals/reconstruction.json:--iterations 200"
  "small:$F/models/rand_small_s1.onnx:testdata/goals/output_bound.json:--iterations 500"
  "large:$F/models/rand_large_s1.onnx:testdata/goals/output_bound_large.json:--iterations 500"
)
for g in "${goals[@]}"; do
  IFS=: read -r name model goal extra <<<"$g"
  # shellcheck disable=SC2086
  run "$name.$DEVICE" "$model" "$goal" --device "$DEVICE" $extra
  # shellcheck disable=SC2086
  run "$name.cpu" "$model" "$goal" --device cpu $extra
  [[ -f $OUT/$name.$DEVICE.json && -f $OUT/$name.cpu.json ]] && compare "$name"
done

echo "== time per iteration (ms), MNIST CNN attack, rows = restarts"
printf "%-6s %-5s %12s %12s\n" rows method "$DEVICE" cpu
for rows in 1 64 1024; do
  for method in adr pgd; do
    line=""
    for dev in "$DEVICE" cpu; do
      run "t$rows.$method.$dev" models/mnist_cnn_pgd.onnx testdata/goals/untargeted_png.json \
        --device "$dev" --method "$method" --restarts "$rows" --iterations 20 --set pgd_steps=20 \
        --set stop_when_achieved=false --set normalisers=random
      t=$("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['timing']['seconds_per_iteration']*1e3:.3f}\")" "$OUT/t$rows.$method.$dev.json" 2>/dev/null || echo "-")
      line="$line $(printf %12s "$t")"
    done
    printf "%-6s %-5s%s\n" "$rows" "$method" "$line"
  done
done
echo "reports in $OUT"
exit $fail
