#!/usr/bin/env bash
# The Python wheel of a release (scripts/release.sh runs it; docs/release.md):
#   dist/adr_onnx-<version>-cp310-abi3-manylinux_<glibc>_x86_64.whl
# built by maturin in the release profile, then checked: a manylinux x86_64
# tag, under 40 MB; installed into a fresh venv without ONNX Runtime, the
# CLI, `python -m adr_onnx` and a search run.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
mkdir -p dist

echo "== the Python wheel"
tools=target/release-tools
[[ -x $tools/bin/maturin ]] || { python3 -m venv "$tools" && "$tools/bin/pip" install --quiet maturin==1.16.0; }
rm -f dist/adr_onnx-*.whl
# maturin tags the wheel with the oldest manylinux policy its symbols allow:
# the build machine's glibc (manylinux_2_35 on Ubuntu 22.04).
"$tools/bin/maturin" build --release --strip --locked --manifest-path python/Cargo.toml --out dist
wheel=$(ls dist/adr_onnx-"$version"-*.whl)
size=$(stat -c %s "$wheel")
ls -l "$wheel"
[[ $wheel == *manylinux*_x86_64.whl ]] || { echo "FAIL: $wheel is not a manylinux x86_64 wheel"; exit 1; }
(( size < 40 * 1000 * 1000 )) || { echo "FAIL: the wheel is $size bytes, over 40 MB"; exit 1; }

echo "== the wheel in a fresh venv"
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "$wheel"
"$venv/bin/adr-onnx" --version | grep "^adr-onnx $version .*features: onnxruntime"
"$venv/bin/python" -m adr_onnx --version | grep "^adr-onnx $version"
"$venv/bin/adr-onnx" inspect models/mnist_cnn_pgd.onnx > /dev/null
# From the venv's folder, so that the checkout's python/ cannot be imported.
(cd "$venv" && ./bin/python - "$OLDPWD") <<'PY'
import sys
import time
from pathlib import Path

started = time.perf_counter()
import adr_onnx

imported = time.perf_counter() - started
root = Path(sys.argv[1])
goal = {"kind": "target_class", "input": str(root / "testdata/mnist/digit_0_label_7.png"), "label": 7, "epsilon": 0.25}
report, best = adr_onnx.run(root / "models/mnist_cnn_pgd.onnx", goal, method="pgd")
assert report["achieved"], report
print(f"import adr_onnx: {imported:.3f} s; run achieved on {report['backend']['name']}")
PY
echo "OK: wheel $wheel, $size bytes"
