#!/bin/bash
# Time to a finished one-iteration `run` (GD and ADR) of width-8 ReLU chains
# against depth, on tract and ONNX Runtime: docs/benchmarks.md, "Load time
# against depth". Usage: scripts/load-depth.sh PYTHON_WITH_ONNX [DEPTH...]
# (run from the repository root after `cargo build --release --locked`;
# each run is cut at ${CAP:-150} s, exit 124).
set -u
PY=$1; shift
DEPTHS=${*:-50 100 200 1000 5000}
ROOT=$PWD
TMP=$(mktemp -d)
export PATH=$ROOT/.venv/bin:$PATH
for d in $DEPTHS; do
  "$PY" scripts/chain.py "$d" "$TMP/chain$d.onnx"
  for be in tract ort; do for m in gd adr; do
    s=$(date +%s.%N)
    timeout "${CAP:-150}" "$ROOT/target/release/adr-onnx" run "$TMP/chain$d.onnx" \
      --goal testdata/goals/output_bound.json --method "$m" --iterations 1 \
      --out "$TMP/r.json" --quiet --backend "$be" >/dev/null 2>"$TMP/err.txt"
    rc=$?
    e=$(date +%s.%N)
    echo "$d $be $m rc=$rc $(echo "$e - $s" | bc) s"
  done; done
done
rm -rf "$TMP"
