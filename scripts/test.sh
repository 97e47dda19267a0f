#!/usr/bin/env bash
# The project's test command (README.md, .ci/run): installs ONNX Runtime
# 1.31.1 from PyPI into .venv for the ONNX Runtime backend tests, then runs
# the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import onnxruntime" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check onnxruntime==1.31.1
fi
cargo test --locked "$@"
