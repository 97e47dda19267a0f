#!/usr/bin/env bash
# VNN-COMP prepare script for adr-onnx:
#   prepare_instance.sh v1 <category> <onnx> <vnnlib>
# adr-onnx needs no per-instance preparation (it reads .onnx(.gz) and
# .vnnlib(.gz) directly); this only checks the arguments, the files and
# the binary, so that a broken setup shows before the timed run.
set -uo pipefail

VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
if [ $# -lt 4 ]; then
    echo "usage: $0 v1 <category> <onnx> <vnnlib>" >&2
    exit 1
fi
CATEGORY=$2
ONNX_FILE=$3
VNNLIB_FILE=$4

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${ADR_ONNX_BIN:-$ROOT/target/release/adr-onnx}"
echo "Preparing adr-onnx for category '$CATEGORY' with onnx file '$ONNX_FILE' and vnnlib file '$VNNLIB_FILE'"
if [ ! -x "$BIN" ]; then
    echo "adr-onnx binary not found at $BIN (run install_tool.sh v1)" >&2
    exit 1
fi
for f in "$ONNX_FILE" "$VNNLIB_FILE"; do
    if [ ! -r "$f" ]; then
        echo "cannot read $f" >&2
        exit 1
    fi
done
exit 0
