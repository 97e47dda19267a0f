#!/usr/bin/env bash
# AutoAttack "standard" reference figures (torchattacks APGD-CE, APGD-T, FAB-T,
# Square with AutoAttack's settings) on an ONNX classifier, per sample, every
# adversarial re-checked with ONNX Runtime. PyTorch is installed into
# .venv-bench for this comparison only; it is never a dependency of adr-onnx.
#   scripts/autoattack-reference.sh --model M.onnx --eps E --images X.npy \
#     --labels Y.npy --first N --out OUT.json [--stages ...] [--seed S] [--threads T]
# See scripts/autoattack-reference.py --help. Keep OUT outside the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! "$root/.venv-bench/bin/python" -c "import torch, torchattacks, onnx2torch, onnx, onnxruntime" 2>/dev/null; then
  python3 -m venv "$root/.venv-bench"
  "$root/.venv-bench/bin/pip" install --quiet --disable-pip-version-check \
    torch torchattacks onnx2torch onnx numpy onnxruntime==1.31.1
fi
exec "$root/.venv-bench/bin/python" "$root/scripts/autoattack-reference.py" "$@"
