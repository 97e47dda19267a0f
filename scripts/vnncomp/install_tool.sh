#!/usr/bin/env bash
# VNN-COMP install script for adr-onnx: `install_tool.sh v1`. Builds the
# release binary (target/release/adr-onnx) of this checkout; installs Rust
# with rustup first when cargo is missing. ONNX Runtime is optional: when
# its library is found (ORT_DYLIB_PATH, or `pip install onnxruntime`) it
# re-checks every counterexample besides tract.
set -euo pipefail

VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "Installing Rust with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
cd "$ROOT"
cargo build --release --locked
echo "Installed $ROOT/target/release/adr-onnx"
