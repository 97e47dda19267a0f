#!/usr/bin/env bash
# The project's test command (README.md, .ci/run): installs ONNX Runtime
# 1.31.1 from PyPI into .venv for the ONNX Runtime backend tests, then runs
# the whole test suite; with no arguments, then also builds the Python
# package into .venv and runs its tests (python/tests, docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."
python_tools=(onnxruntime==1.31.1 maturin==1.16.0 pytest==9.2.0 numpy==2.4.6)
if ! .venv/bin/python -c "import onnxruntime, numpy, pytest" 2>/dev/null || [[ ! -x .venv/bin/maturin ]]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${python_tools[@]}"
fi
# The tests find ONNX Runtime as the tool does (here: the onnxruntime
# package of the python3 first on the PATH) and must not skip it.
export PATH="$PWD/.venv/bin:$PATH"
export ADR_ONNX_REQUIRE_ORT=1
cargo test --locked "$@"
# Arguments select Rust tests only.
if [[ $# -eq 0 ]]; then
  # The dev profile, as the tests: the dependencies built above are reused.
  VIRTUAL_ENV="$PWD/.venv" maturin develop --locked --quiet --strip --manifest-path python/Cargo.toml
  # A test still running after 10 minutes prints every thread's stack and
  # ends the run with a failure (the whole suite takes under a minute).
  python -m pytest -q -o faulthandler_timeout=600 -o faulthandler_exit_on_timeout=true python/tests
fi
