#!/usr/bin/env bash
# Release builds of adr-onnx for x86_64 Linux, into dist/:
#
#   adr-onnx-<version>-x86_64-linux-static  fully static (glibc linked in),
#       the CPU build with tract only (no ONNX Runtime backend: a static
#       glibc cannot load ONNX Runtime's shared libraries);
#   adr-onnx-<version>-x86_64-linux         links glibc (>= 2.35) dynamically
#       and loads ONNX Runtime (CPU or CUDA) at run time when installed.
#
#   adr_onnx-<version>-cp310-abi3-manylinux_<glibc>_x86_64.whl  the Python
#       package (docs/python.md): the extension with the CLI compiled in, for
#       Python 3.10 and later, ONNX Runtime from the environment it lands in.
#
# Then checks the static binary: `file` and `ldd` say static, and it runs an
# attack inside an empty chroot (nothing but the binary and its inputs); and
# the wheel: a manylinux tag, under 40 MB, installed into a fresh venv
# (without ONNX Runtime) where the CLI and an attack run.
# Usage: scripts/release.sh [--skip-dynamic] [--skip-wheel]
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
mkdir -p dist
target=x86_64-unknown-linux-gnu

echo "== static build (tract only)"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --no-default-features \
  --target "$target" --target-dir target/static
static=dist/adr-onnx-$version-x86_64-linux-static
cp "target/static/$target/release/adr-onnx" "$static"
strip "$static"

skip_dynamic=false skip_wheel=false
for arg in "$@"; do
  case $arg in
    --skip-dynamic) skip_dynamic=true ;;
    --skip-wheel) skip_wheel=true ;;
    *) echo "usage: scripts/release.sh [--skip-dynamic] [--skip-wheel]" >&2; exit 2 ;;
  esac
done

if ! $skip_dynamic; then
  echo "== dynamic build (tract and ONNX Runtime)"
  cargo build --release --locked
  dynamic=dist/adr-onnx-$version-x86_64-linux
  cp target/release/adr-onnx "$dynamic"
  strip "$dynamic"
  ls -l "$dynamic"
  ldd "$dynamic" || true
fi

echo "== checks of $static"
ls -l "$static"
file "$static"
file "$static" | grep -q 'statically linked\|static-pie linked'
if ldd "$static" 2>&1 | grep -q '=>'; then echo "FAIL: dynamic dependencies"; exit 1; fi
"$static" --version | grep -q 'features: none'

echo "== runs in an empty chroot"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp "$static" "$root/adr-onnx"
cp models/mnist_cnn_pgd.onnx testdata/mnist/digit_0_label_7.png "$root/"
echo '{"kind": "target_class", "input": "digit_0_label_7.png", "label": 7, "epsilon": 0.25}' > "$root/goal.json"
set +e
chroot "$root" /adr-onnx run /mnist_cnn_pgd.onnx --goal /goal.json --method pgd --out /report.json --artifacts /artifacts --quiet
rc=$?
set -e
[[ $rc -le 1 ]] || { echo "FAIL: exit $rc in the chroot"; exit 1; }
grep -q '"achieved": true' "$root/report.json"
ls "$root/artifacts"
echo "OK: static binary $(stat -c %s "$static") bytes, runs with nothing else installed"

if ! $skip_wheel; then
  scripts/release-wheel.sh
fi
