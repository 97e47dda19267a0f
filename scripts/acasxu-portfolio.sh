#!/usr/bin/env bash
# falsify's default search (auto: a random sample, an Adam pass of many
# restarts, PGD, then ADR, in rounds) on every ACAS Xu pair of the fixtures
# and the competition's test instances, one thread, on one backend; then
# every pair the competition knows violated with seeds 1 to 4. Writes
# results/acasxu_<backend>/ and prints a table of those pairs (time to the
# counterexample over seeds 0-4: max and median) plus a summary line.
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
for pair in "2 2" "3 2" "4 2" "5 2" "6 2" "7 3" "7 4" "8 3" "8 4" "9 3" "9 4" "9 7"; do
  set -- $pair
  for seed in 1 2 3 4; do
    run "$F/acasxu/ACASXU_run2a_1_$1_batch_2000.onnx" "$F/acasxu/prop_$2.vnnlib" --seed "$seed" \
      --out "$OUT/seed_$1_$2_$seed.txt" --report "$OUT/seed_$1_$2_$seed.json"
  done
done
python3 - "$OUT" <<'PY'
import json, sys, glob, statistics
out = sys.argv[1]
sat = [(2,2),(3,2),(4,2),(5,2),(6,2),(7,3),(7,4),(8,3),(8,4),(9,3),(9,4),(9,7)]
def listed(n, p): return p <= 4 or (n == 1 and p <= 6) or (n == 9 and p == 7)
def rep(path): return json.load(open(path))["outcome"]
wrong, found, runs, slowest = 0, 0, 0, 0.0
print("| pair (known sat) | seed 0: verdict, s, found by | seeds 0-4: sat | max s | median s | most rounds |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for n, p in sat:
    os_ = [rep(f"{out}/acas_{n}_{p}.json")] + [rep(f"{out}/seed_{n}_{p}_{s}.json") for s in (1, 2, 3, 4)]
    ok = [o for o in os_ if o["verdict"] == "sat"]
    secs = [o["seconds"] for o in ok]
    runs += len(os_); found += len(ok)
    if secs: slowest = max(slowest, max(secs))
    o = os_[0]
    by = (o.get("counterexample") or {}).get("found_by", "-")
    print(f"| ACAS Xu 1_{n}, prop_{p} | {o['verdict']}, {o['seconds']:.3f}, {by} | {len(ok)} of 5 | "
          f"{max(secs) if secs else float('nan'):.3f} | {statistics.median(secs) if secs else float('nan'):.3f} | "
          f"{max(o['rounds'] for o in os_)} |")
for n in range(1, 10):
    for p in range(1, 11):
        o = rep(f"{out}/acas_{n}_{p}.json")
        if listed(n, p) and (n, p) not in sat and o["verdict"] == "sat": wrong += 1
o = rep(f"{out}/test_test_sat.json")
print(f"| test_sat | {o['verdict']}, {o['seconds']:.3f} | | | | |")
allsat = sum(rep(f)["verdict"] == "sat" for f in glob.glob(f"{out}/acas_*.json"))
print(f"\nknown-sat ACAS Xu runs found: {found} of {runs} (12 pairs, seeds 0-4); slowest: {slowest:.3f} s; "
      f"sat on all 90 pairs (seed 0): {allsat}; known-unsat reported sat: {wrong}")
PY
