#!/usr/bin/env bash
# Reproduces the measurements of docs/results.md: ADR against GD and PGD on
# the paper's fixtures. Writes every report under results/ (ignored by git).
# Usage: scripts/results.sh [random|mnist|targeted|reconstruction|vnncomp|all]   (default all)
# BACKEND (default tract) pins the runtime, so that the numbers do not
# depend on whether ONNX Runtime happens to be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
F=../shared/fixtures
OUT=results
mkdir -p "$OUT"
cargo build --release --quiet
# Run a private copy: a rebuild of target/ during the run (the sources
# being edited meanwhile) must not change the binary half-way through.
cp target/release/adr-onnx "$OUT/.adr-onnx"
BIN=$OUT/.adr-onnx
export ADR_BACKEND=${BACKEND:-tract}
run_bin() { "$BIN" "$@" --backend "$ADR_BACKEND"; }

random_networks() {
  local goal="$OUT/maximise_box1.json"
  echo '{"kind": "output_bound", "output": 0, "direction": "maximize", "input": {"lower": -1.0, "upper": 1.0, "start": 0.0}}' > "$goal"
  for net in rand_small_s1 rand_small_s2 rand_small_s3 rand_large_s1 rand_large_s2 rand_large_s3; do
    for m in adr gd; do
      run_bin run "$F/models/$net.onnx" --goal "$goal" --method "$m" --iterations 3000 --quiet \
        --out "$OUT/random_${net}_$m.json" --artifacts "$OUT/random_${net}_$m" || true
    done
  done
}

# The first 100 correctly classified images: both CNNs classify the first
# 100 test images correctly, so the audit runs on the first 100.
mnist() {
  local model=$1 template=$2 tag=$3 limit=$4; shift 4
  for variant in "$@"; do
    local name=${variant%%:*} args=${variant#*:}
    # shellcheck disable=SC2086
    run_bin audit "$F/models/$model.onnx" --images "$F/mnist/mnist_test_1000_images.npy" \
      --labels "$F/mnist/mnist_test_1000_labels.npy" --goal "$template" --limit "$limit" --batch 25 --quiet \
      --out "$OUT/mnist_${tag}_$name.json" $args
  done
}

# VNN-COMP: every ACAS Xu network with every property, and the test
# instances, with ADR and with PGD, TIMEOUT seconds each (default 5).
vnncomp() {
  local t=${TIMEOUT:-5}
  for m in adr pgd; do
    for net in 1 2 3 4 5 6 7 8 9; do
      for p in 1 2 3 4 5 6 7 8 9 10; do
        run_bin falsify "$F/vnncomp/acasxu/ACASXU_run2a_1_${net}_batch_2000.onnx" "$F/vnncomp/acasxu/prop_$p.vnnlib" \
          --method "$m" --timeout "$t" --quiet --out "$OUT/vnn_acas_${net}_${p}_$m.txt" \
          --report "$OUT/vnn_acas_${net}_${p}_$m.json" || true
      done
    done
    while IFS=, read -r onnx prop _ || [[ -n ${onnx:-} ]]; do
      run_bin falsify "$F/vnncomp/test/$onnx" "$F/vnncomp/test/$prop" --method "$m" --timeout "$t" --quiet \
        --out "$OUT/vnn_test_${onnx%.onnx}_$m.txt" --report "$OUT/vnn_test_${onnx%.onnx}_$m.json" || true
    done < "$F/vnncomp/test/test_instances.csv"
  done
}

# Targeted: the first 20 test images, target (label + 1) mod 10.
targeted() {
  local labels=(7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5 9 7 3 4)
  for i in $(seq 0 19); do
    local goal="$OUT/targeted_$i.json" t=$(( (labels[i] + 1) % 10 ))
    echo "{\"kind\": \"target_class\", \"input\": {\"npy\": \"../$F/mnist/mnist_test_1000_images.npy\", \"index\": $i}, \"label\": ${labels[i]}, \"target\": $t, \"epsilon\": 0.25}" > "$goal"
    for m in adr pgd auto; do
      run_bin run "$F/models/mnist_cnn_pgd.onnx" --goal "$goal" --method "$m" --quiet \
        --out "$OUT/targeted_${i}_$m.json" --artifacts "$OUT/targeted_${i}_$m" || true
    done
  done
}

reconstruction() {
  for i in $(seq 0 15); do
    local goal="$OUT/vae_target_$i.json"
    echo "{\"kind\": \"reconstruction\", \"target\": {\"npy\": \"../$F/generator/vae_targets_8000_8015_images.npy\", \"index\": $i}, \"latent\": {\"lower\": -3.0, \"upper\": 3.0, \"start\": 0.0}}" > "$goal"
    for variant in "adr:--method adr --set lr=1.0" "gd:--method gd --set lr=0.05"; do
      local name=${variant%%:*} args=${variant#*:}
      # shellcheck disable=SC2086
      run_bin run "$F/models/mnist_vae_decoder.onnx" --goal "$goal" --iterations 1000 --quiet $args \
        --out "$OUT/vae_${i}_$name.json" --artifacts "$OUT/vae_${i}_$name" || true
    done
  done
}

what=${1:-all}
if [[ $what == random || $what == all ]]; then random_networks; fi
if [[ $what == mnist || $what == all ]]; then
  mnist mnist_cnn_pgd testdata/templates/mnist_pgd_eps025.json pgd025 "${PGD_LIMIT:-100}" \
    "adr:--method adr" "pgd:--method pgd" "gd:--method gd" "auto:--method auto" \
    "adr_sign:--method adr --set x_step=sign --set lr=0.0025" "adr_unit:--method adr --set x_step=unit" \
    "pgd_restarts4:--method pgd --restarts 4" "adr_sign_restarts4:--method adr --set x_step=sign --set lr=0.0025 --restarts 4"
  mnist mnist_cnn_clean testdata/templates/mnist_clean_eps01.json clean01 "${CLEAN_LIMIT:-100}" \
    "adr:--method adr" "pgd:--method pgd" "gd:--method gd" "auto:--method auto" \
    "adr_sign:--method adr --set x_step=sign --set lr=0.001"
fi
if [[ $what == targeted || $what == all ]]; then targeted; fi
if [[ $what == vnncomp || $what == all ]]; then vnncomp; fi
if [[ $what == reconstruction || $what == all ]]; then reconstruction; fi
