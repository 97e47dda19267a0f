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
# The tests find ONNX Runtime as the tool does (here: the onnxruntime
# package of the python3 first on the PATH) and must not skip it.
export PATH="$PWD/.venv/bin:$PATH"
export ADR_ONNX_REQUIRE_ORT=1
cargo test --locked "$@"
