#!/usr/bin/env bash
# Bad input to `chromatica search`: whole-run errors stop with a clear message, a non-zero exit
# and no report (an existing report is left untouched); bad queries fail alone.
# usage: search_errors.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../../data/fixtures/small.h5"
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
passed=0; failures=0
good='{"queries": [{"colors": "f00"}]}'
echo "$good" > "$work/good.json"

fails_whole() { # NAME EXPECTED_STDERR RANKS BATCH_TEXT [search args...]
  local name="$1" expect="$2" ranks="$3" text="$4"; shift 4
  printf '%s' "$text" > "$work/$name.json"
  echo "keep me" > "$work/$name.report"
  mpirun -np "$ranks" --oversubscribe "$bin" search --queries "$work/$name.json" \
    --out "$work/$name.report" "$@" > "$work/out.txt" 2> "$work/err.txt"
  local code=$?
  if [ "$code" -eq 0 ]; then echo "FAIL $name: exit 0"; failures=$((failures + 1))
  elif ! grep -qF -- "$expect" "$work/err.txt"; then
    echo "FAIL $name: stderr lacks '$expect':"; cat "$work/err.txt"; failures=$((failures + 1))
  elif [ "$(cat "$work/$name.report")" != "keep me" ] || ls "$work" | grep -q '\.tmp\.'; then
    echo "FAIL $name: the existing report was touched or a temporary file was left"
    failures=$((failures + 1))
  else echo "ok   $name (exit $code)"; passed=$((passed + 1)); fi
}

fails_whole malformed "not valid JSON" 2 '{"queries": [' --dataset "$data"
fails_whole not-object "not a JSON object" 1 '[1,2]' --dataset "$data"
fails_whole no-queries "queries: missing" 1 '{"query": []}' --dataset "$data"
fails_whole empty-queries "queries: empty" 2 '{"queries": []}' --dataset "$data"
fails_whole max-concurrent "max_concurrent 51" 1 '{"queries": [{"colors": "f00"}], "max_concurrent": 51}' --dataset "$data"
fails_whole bad-option "options.k 0" 1 '{"queries": [{"colors": "f00"}], "options": {"k": 0}}' --dataset "$data"
fails_whole missing-dataset "missing.h5" 2 "$good" --dataset "$work/missing.h5"
fails_whole bad-shards "--shards 3" 2 "$good" --dataset "$data" --shards 3
fails_whole unknown-io "--io 'fast'" 1 "$good" --dataset "$data" --io fast
fails_whole unknown-flag "unknown option '--bogus'" 1 "$good" --dataset "$data" --bogus 1
# A shard that cannot fit the memory a rank may use is refused before any row is read.
fails_whole shard-too-big "needs up to 22 MB, but rank 0" 1 "$good" --dataset "$data" --memory-per-rank 1
fails_whole shard-too-big-2 "shard 0 of 2 (200 images) needs up to 20 MB" 2 "$good" --dataset "$data" --shards 2 --memory-per-rank 5
fails_whole bad-memory "--memory-per-rank '0'" 1 "$good" --dataset "$data" --memory-per-rank 0

# The memory-aware default: 2 shards when one rank's budget cannot hold the whole index twice.
echo '{"queries": [{"colors": "f00"}]}' > "$work/mem.json"
mpirun -np 2 --oversubscribe "$bin" search --dataset "$data" --queries "$work/mem.json" \
  --out "$work/mem.report" --memory-per-rank 40 > "$work/mem.txt" 2>&1
if grep -q "1 groups x 2 shards" "$work/mem.txt"; then echo "ok   default-shards-by-memory"; passed=$((passed + 1))
else echo "FAIL default-shards-by-memory:"; cat "$work/mem.txt"; failures=$((failures + 1)); fi
mpirun -np 2 --oversubscribe "$bin" search --dataset "$data" --queries "$work/mem.json" \
  --out "$work/mem.report" > "$work/mem.txt" 2>&1
if grep -q "2 groups x 1 shards" "$work/mem.txt"; then echo "ok   default-shards-measured"; passed=$((passed + 1))
else echo "FAIL default-shards-measured:"; cat "$work/mem.txt"; failures=$((failures + 1)); fi

"$py" - "$data" "$work" <<'PY'
import shutil, sys, h5py, numpy as np
src, work = sys.argv[1], sys.argv[2]
for name in ["nan_row", "bad_bins"]:
    shutil.copy(src, f"{work}/{name}.h5")
with h5py.File(f"{work}/nan_row.h5", "r+") as f:
    row = f["histograms"][317]; row[5] = np.nan; f["histograms"][317] = row
with h5py.File(f"{work}/bad_bins.h5", "r+") as f:
    f.attrs["bins"] = np.array([8, 12, 10], dtype=np.int32)
PY
fails_whole nan-row-scatter "row 317" 3 "$good" --dataset "$work/nan_row.h5" --shards 3
fails_whole nan-row-parallel "row 317" 3 "$good" --dataset "$work/nan_row.h5" --shards 3 --io parallel
fails_whole bad-bins "bins" 2 "$good" --dataset "$work/bad_bins.h5"

# An output directory that does not exist is caught before any work.
mpirun -np 2 --oversubscribe "$bin" search --dataset "$data" --queries "$work/good.json" \
  --out "$work/no/such/dir/r.json" > "$work/out.txt" 2> "$work/err.txt"
if [ $? -ne 0 ] && grep -qF -- "--out" "$work/err.txt" && [ ! -e "$work/no" ]; then
  echo "ok   missing output directory"; passed=$((passed + 1))
else echo "FAIL missing output directory"; cat "$work/err.txt"; failures=$((failures + 1)); fi

# Bad queries fail alone, each error naming the field, the value and what was expected.
cat > "$work/mixed.json" <<'JSON'
{"queries": [
  {"id": "good", "colors": "ea6a81,f6d727", "weights": "0.49,0.51"},
  {"id": "no-colours", "colors": []},
  {"id": "six-colours", "colors": "f00,0f0,00f,ff0,0ff,f0f"},
  {"id": "bad-hex", "colors": "GG0000"},
  {"id": "nan-weight", "colors": "f00", "weights": "NaN"},
  {"id": "negative-weight", "colors": "f00,00f", "weights": [0.5, -1]},
  {"id": "zero-weight", "colors": "f00", "weights": [0]},
  {"id": "k-zero", "colors": "f00", "k": 0},
  {"id": "k-201", "colors": "f00", "k": 201},
  {"id": "k-string", "colors": "f00", "k": "10"},
  {"id": "colors-number", "colors": 5},
  {"id": "good-too", "colors": ["#00ff00"], "k": 3}
]}
JSON
mpirun -np 2 --oversubscribe "$bin" search --dataset "$data" --queries "$work/mixed.json" \
  --out "$work/mixed.report" > "$work/out.txt" 2> "$work/err.txt"
if "$py" - "$work/mixed.report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
expect = {
    "no-colours": "colors []:", "six-colours": "colors 'f00,0f0,00f,ff0,0ff,f0f'",
    "bad-hex": "colors[0] 'GG0000': not a hex colour", "nan-weight": "weights[0] nan",
    "negative-weight": "weights[1] -1", "zero-weight": "weights[0] 0", "k-zero": "k 0",
    "k-201": "k 201", "k-string": 'k "10"', "colors-number": "colors 5",
}
by_id = {q["query_id"]: q for q in r["results"]}
assert [q["query_id"] for q in r["results"]][0] == "good"
assert by_id["good"]["success"] and by_id["good"]["results_count"] == 10
assert by_id["good-too"]["success"] and by_id["good-too"]["results_count"] == 3
for qid, text in expect.items():
    q = by_id[qid]
    assert not q["success"] and q["results"] == [] and q["results_count"] == 0, qid
    assert text in q["error"] and "expected" in q["error"], (qid, q["error"])
assert r["successful_queries"] == 2 and r["failed_queries"] == len(expect)
PY
then echo "ok   bad queries fail alone"; passed=$((passed + 1))
else echo "FAIL bad queries fail alone"; cat "$work/err.txt"; failures=$((failures + 1)); fi

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
