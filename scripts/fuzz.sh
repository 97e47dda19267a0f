#!/usr/bin/env bash
# Bounded fuzzing (docs/limits.md, "Fuzzing"): runs each fuzz target of
# tests/fuzz.rs (ONNX import, goal parsing, VNN-LIB parsing, .npy reading)
# for SECONDS (default 60) in release mode, from a random seed, under a
# memory limit.
#
#     scripts/fuzz.sh [SECONDS-PER-TARGET]
#
# A failing input (a panic, an error of several lines or one that echoes
# too much) is shrunk and saved as tests/corpus/<target>/found-<digest>.<ext>;
# an input that killed the process (an abort, a stack overflow, the memory
# limit) as tests/corpus/<target>/crash-<digest>.<ext>. `cargo test` replays
# both from then on: rename them after what they reproduce and commit them
# with the fix.
#
# Environment: PROPTEST_RNG_SEED (the seed, random by default: it is
# printed), ADR_FUZZ_MEMORY_KB (the limit on virtual memory, default 8 GB),
# ADR_FUZZ_HUGE=1 (mutations also use sizes of 1e10 and beyond, which the
# importer and the .npy reader do not yet survive).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
seed="${PROPTEST_RNG_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
memory_kb="${ADR_FUZZ_MEMORY_KB:-8000000}"
echo "fuzz: ${seconds} s per target, seed ${seed}"
# The test binary, run directly: one build for the four targets.
fuzz_bin="$(cargo test --release --locked --test fuzz --no-run --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\/deps\/fuzz-[^"]*\)".*/\1/p' | tail -n 1)"
if [ -z "$fuzz_bin" ]; then
  echo "fuzz: the release build of tests/fuzz.rs failed" >&2
  exit 2
fi
status=0
for target in onnx:onnx_import:onnx goal:goal_parsing:json vnnlib:vnnlib_parsing:vnnlib npy:npy_reading:npy; do
  IFS=: read -r dir test ext <<<"$target"
  progress="tests/corpus/$dir/.in-progress"
  rm -f "$progress"
  if ! (
    ulimit -v "$memory_kb"
    ADR_FUZZ_SECONDS="$seconds" PROPTEST_RNG_SEED="$seed" ADR_FUZZ_IN_PROGRESS=1 \
      "$fuzz_bin" "fuzz_$test" --exact --nocapture
  ); then
    status=1
  fi
  if [ -f "$progress" ]; then
    kept="tests/corpus/$dir/crash-$(sha256sum "$progress" | cut -c1-12).$ext"
    mv "$progress" "$kept"
    echo "fuzz: $dir: the process died on an input, kept as $kept"
    status=1
  fi
done
exit "$status"
