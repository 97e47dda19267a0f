#!/usr/bin/env bash
# falsify's default search (auto: an Adam pass of many restarts, PGD, then
# ADR, in rounds) on every ACAS Xu pair of the fixtures and the competition's
# test instances, one thread, on one backend; then the same hard pairs with
# several seeds. Writes results/acasxu_<backend>/ and prints a table of
# every pair the competition knows violated plus a summary line.
# Usage: scripts/acasxu-portfolio.sh [tract|ort] [timeout seconds, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-tract}
t=${2:-5}
F=../shared/fixtures/vnncomp
OUT=results/acasxu_$backend
mkdir -p "$OUT"
cargo build --release --quiet
cp target/release/adr-onnx "$OUT/.adr-onnx"
BIN=$OUT/.adr-onnx
run() { "$BIN" falsify "$@" --backend "$backend" --threads 1 --timeout "$t" --quiet || true; }
for net in 1 2 3 4 5 6 7 8 9; do
  for p in 1 2 3 4 5 6 7 8 9 10; do
    run "$F/acasxu/ACASXU_run2a_1_${net}_batch_2000.onnx" "$F/acasxu/prop_$p.vnnlib" \
      --out "$OUT/acas_${net}_${p}.txt" --report "$OUT/acas_${net}_${p}.json"
  done
done
while IFS=, read -r onnx prop _ || [[ -n ${onnx:-} ]]; do
  run "$F/test/$onnx" "$F/test/$prop" --out "$OUT/test_${onnx%.onnx}.txt" --report "$OUT/test_${onnx%.onnx}.json"
done < "$F/test/test_instances.csv"
for pair in "3 2" "5 2" "9 7"; do
  set -- $pair
  for seed in 1 2 3 4; do
    run "$F/acasxu/ACASXU_run2a_1_$1_batch_2000.onnx" "$F/acasxu/prop_$2.vnnlib" --seed "$seed" \
      --out "$OUT/seed_$1_$2_$seed.txt" --report "$OUT/seed_$1_$2_$seed.json"
  done
done
python3 - "$OUT" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
sat = {(2,2),(3,2),(4,2),(5,2),(6,2),(7,3),(7,4),(8,3),(8,4),(9,3),(9,4),(9,7)}
def listed(n, p): return p <= 4 or (n == 1 and p <= 6) or (n == 9 and p == 7)
def rep(path): return json.load(open(path))["outcome"]
rows, wrong, found, times = [], 0, 0, []
for n in range(1, 10):
    for p in range(1, 11):
        o = rep(f"{out}/acas_{n}_{p}.json")
        known = "sat" if (n, p) in sat else ("unsat" if listed(n, p) else "-")
        if known == "unsat" and o["verdict"] == "sat": wrong += 1
        if known == "sat":
            ok = o["verdict"] == "sat"
            found += ok
            if ok: times.append(o["seconds"])
            rows.append(f"| ACAS Xu 1_{n}, prop_{p} | {o['verdict']} | {o['seconds']:.3f} | {o['rounds']} |")
o = rep(f"{out}/test_test_sat.json")
rows.append(f"| test_sat | {o['verdict']} | {o['seconds']:.3f} | {o['rounds']} |")
print("| pair (known sat) | verdict | seconds | rounds |\n| --- | --- | ---: | ---: |")
print("\n".join(rows))
allsat = sum(rep(f)["verdict"] == "sat" for f in glob.glob(f"{out}/acas_*.json"))
print(f"\nknown-sat ACAS Xu pairs found: {found} of {len(sat)}; sat on all 90 pairs: {allsat}; "
      f"known-unsat reported sat: {wrong}; max seconds to a known-sat counterexample: {max(times) if times else None}")
for pair in ["3_2", "5_2", "9_7"]:
    vs = [rep(f) for f in sorted(glob.glob(f"{out}/seed_{pair}_*.json"))]
    print(f"1_{pair.replace('_', ' prop_')}, seeds 1-4: " + ", ".join(f"{v['verdict']} {v['seconds']:.2f} s" for v in vs))
PY
