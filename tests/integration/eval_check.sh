#!/usr/bin/env bash
# integration_eval: `chromatica eval` on the committed fixture dataset with the service palettes.
# Its numbers (recall, pruned fraction, query counts) are the same at 1, 2 and 3 ranks (3
# shards) and equal a committed golden file; exact modes behave as theory says.
# usage: eval_check.sh CHROMATICA WORKDIR [--write-golden]
set -euo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
data="$root/data/fixtures/small.h5"
batch="$root/jobs/eval_service.json"
golden="$here/eval_golden.json"
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
rm -rf "$work"
mkdir -p "$work"

OMP_NUM_THREADS=2 "$bin" eval --dataset "$data" --queries "$batch" --out "$work/e1.json" \
  >"$work/e1.txt"
"${mpi[@]}" -np 2 -x OMP_NUM_THREADS=1 "$bin" eval --dataset "$data" --queries "$batch" \
  --out "$work/e2.json" >/dev/null
"${mpi[@]}" -np 3 -x OMP_NUM_THREADS=1 "$bin" eval --dataset "$data" --queries "$batch" \
  --out "$work/e3.json" --shards 3 >/dev/null
grep -q "recall" "$work/e1.txt" || { echo "FAIL: no table printed"; exit 1; }
rc=0
"$bin" eval --dataset "$data" --queries "$batch" --out "$work/x.json" --epsilons 0 \
  2>"$work/err.txt" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--epsilons '0'" "$work/err.txt" || { echo "FAIL: bad --epsilons"; exit 1; }

# Invalid queries are named on stderr and in the report and left out of every mode; a batch
# without a valid query, or an --out naming a directory, fails before any search.
fail() { echo "FAIL: $1"; exit 1; }
few=(--rerank-ks 5 --epsilons 0.1)
echo '{"queries": [{"id": "good", "colors": "f00", "k": 3}, {"id": "bad", "colors": "GG0000"}]}' \
  >"$work/one_bad.json"
echo '{"queries": [{"id": "bad", "colors": "GG0000"}, {"id": "bad-too", "colors": "f00", "k": 0}]}' \
  >"$work/none_valid.json"
"$bin" eval --dataset "$data" --queries "$work/one_bad.json" --out "$work/one_bad_eval.json" \
  "${few[@]}" >/dev/null 2>"$work/err.txt" || fail "eval with one invalid query"
grep -qF "invalid query: queries[1] colors[0] 'GG0000': not a hex colour" "$work/err.txt" ||
  fail "the invalid query is not named on stderr"
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(q["index"], q["query_id"]) for q in r["invalid_queries"]]
sys.exit(0 if (r["total_queries"], r["valid_queries"], bad) == (2, 1, [(1, "bad")])
         and all(m["queries"] == 1 for m in r["modes"]) else 1)' "$work/one_bad_eval.json" ||
  fail "the eval report does not list the invalid query"
rc=0
"$bin" eval --dataset "$data" --queries "$work/none_valid.json" --out "$work/none_eval.json" \
  "${few[@]}" >/dev/null 2>"$work/err.txt" || rc=$?
[ "$rc" -eq 1 ] && [ ! -e "$work/none_eval.json" ] &&
  grep -qF "no valid query in the batch (queries[0] colors[0] 'GG0000'" "$work/err.txt" ||
  fail "a batch without a valid query"
mkdir -p "$work/outdir"
rc=0
"$bin" eval --dataset "$data" --queries "$batch" --out "$work/outdir" >/dev/null \
  2>"$work/err.txt" || rc=$?
[ "$rc" -eq 1 ] && grep -qF -- "--out $work/outdir: exists and is a directory" "$work/err.txt" ||
  fail "--out naming a directory"

/usr/bin/python3 - "$work" "$golden" "${3:-}" <<'PY'
import json, sys
work, golden, write = sys.argv[1], sys.argv[2], sys.argv[3] == "--write-golden"
STABLE = ("mode", "queries", "recall_at_k_mean", "recall_at_k_min", "queries_with_full_recall",
          "pool_recall_mean", "pool_recall_min", "pruned_fraction",
          "sinkhorn_unconverged_queries")
def stable(path):
    return [{k: m[k] for k in STABLE} for m in json.load(open(path))["modes"]]
runs = {n: stable(f"{work}/{n}.json") for n in ("e1", "e2", "e3")}
failures = [f"{n} differs from e1" for n in ("e2", "e3") if runs[n] != runs["e1"]]
modes = {m["mode"]: m for m in runs["e1"]}
if modes["bounds+emd exact (truth)"]["recall_at_k_mean"] != 1.0:
    failures.append("the truth does not recall itself")
for r in (25, 50, 100, 200):  # an exact rerank finds exactly what its Hellinger pool holds
    m = modes[f"emd R={r}"]
    if m["pool_recall_mean"] != m["recall_at_k_mean"]:
        failures.append(f"emd R={r}: pool recall {m['pool_recall_mean']} != recall {m['recall_at_k_mean']}")
if modes["emd R=400"]["recall_at_k_min"] != 1.0:  # R >= 400 images: the whole dataset
    failures.append("emd within a top-R holding every image is not exact")
emd = [modes[f"emd R={r}"]["recall_at_k_mean"] for r in (25, 50, 100, 200, 400)]
if emd != sorted(emd):
    failures.append(f"exact EMD recall falls as R grows: {emd}")
if write:
    json.dump(runs["e1"], open(golden, "w"), indent=1)
    print(f"wrote {golden}")
elif json.load(open(golden)) != runs["e1"]:
    failures.append(f"figures differ from {golden}")
for f in failures:
    print("FAIL:", f)
print("integration_eval: stable across 1-3 ranks and equal to the golden figures" if not failures else "")
sys.exit(1 if failures else 0)
PY
