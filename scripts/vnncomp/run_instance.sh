#!/usr/bin/env bash
# VNN-COMP run script for adr-onnx:
#   run_instance.sh v1 <category> <onnx> <vnnlib> <result file> <timeout>
# Writes the result file: `sat` and the assignment, `timeout`, `unknown`,
# or `error` and its reason (a falsifier never writes `unsat`). The
# timeout covers the whole run, loading included. Exit 0 whenever the
# result file was written.
set -uo pipefail

VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
if [ $# -lt 6 ]; then
    echo "usage: $0 v1 <category> <onnx> <vnnlib> <result file> <timeout>" >&2
    exit 1
fi
CATEGORY=$2
ONNX_FILE=$3
VNNLIB_FILE=$4
RESULTS_FILE=$5
TIMEOUT=$6

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${ADR_ONNX_BIN:-$ROOT/target/release/adr-onnx}"
echo "Running adr-onnx on category '$CATEGORY' with onnx file '$ONNX_FILE', vnnlib file '$VNNLIB_FILE', results file '$RESULTS_FILE' and timeout $TIMEOUT"

rm -f "$RESULTS_FILE"
if [ ! -x "$BIN" ]; then
    printf 'error\nadr-onnx binary not found at %s (run install_tool.sh v1)\n' "$BIN" > "$RESULTS_FILE"
    exit 0
fi
# Exit codes 0 (sat), 1 (timeout/unknown) and 2 (error) all leave a result file.
"$BIN" falsify "$ONNX_FILE" "$VNNLIB_FILE" --timeout "$TIMEOUT" --out "$RESULTS_FILE" --quiet
code=$?
if [ ! -s "$RESULTS_FILE" ]; then
    printf 'error\nadr-onnx ended with exit code %s and no result\n' "$code" > "$RESULTS_FILE"
fi
echo "Result: $(head -1 "$RESULTS_FILE")"
exit 0
