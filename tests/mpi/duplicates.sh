#!/usr/bin/env bash
# Collapsing duplicates (issue 16) on a copy of the fixture whose duplicate groups span shards:
# the same report at 1, 2 and 3 ranks, any shards, threads and io mode; with collapsing on no
# result list holds two copies and each representative lists its copies' ids; with it off the
# copies come back. usage: duplicates.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
data="$work/dups.h5"
/usr/bin/python3 "$here/make_duplicates.py" "$here/../../data/fixtures/small.h5" "$data" || exit 1
run() { # run NAME RANKS THREADS [search options...]
  local name="$1" ranks="$2" threads="$3"; shift 3
  mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_NUM_THREADS="$threads" \
    "$bin" search --dataset "$data" --queries "$here/duplicates_batch.json" \
    --out "$work/$name.json" "$@" > "$work/$name.log" 2>&1 ||
    { echo "FAIL $name: exit $?"; cat "$work/$name.log"; return 1; }
}
failed=0
run d1 1 2 || failed=1
run d2s2 2 1 --shards 2 || failed=1
run d3s3 3 1 --shards 3 --io parallel || failed=1
run d3 3 2 || failed=1
run d2s2t2 2 2 --shards 2 || failed=1
[ "$failed" -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 "$here/compare_reports.py" "$work"/d1.json "$work"/d2s2.json "$work"/d3s3.json \
  "$work"/d3.json "$work"/d2s2t2.json || exit 1
/usr/bin/python3 - "$work/d1.json" "$data" <<'PY'
import json, sys
import h5py
report = json.load(open(sys.argv[1]))
with h5py.File(sys.argv[2], "r") as f:
    hist = f["histograms"][:]
    ids = [x.decode() for x in f["image_ids"][:]]
row = {i: r for r, i in enumerate(ids)}
groups = {5: [140, 141, 290, 395], 60: [61, 250], 398: [399]}
dup = report["run"]["dataset"]["duplicates"]
assert dup == {"groups": 3, "images_collapsed": 7}, dup
by_id = {q["query_id"]: q for q in report["results"]}
for q in report["results"]:
    assert q["success"], q
    hits = q["results"]
    collapse = q["metadata"]["collapse_duplicates"]
    rows = [row[h["image_id"]] for h in hits]
    listed = sum(len(h.get("duplicates", [])) for h in hits)
    assert q["metadata"]["duplicates_collapsed"] == listed, q["query_id"]
    if collapse:
        keys = [hist[r].tobytes() for r in rows]
        assert len(set(keys)) == len(keys), f"{q['query_id']}: copies in the list"
        for h, r in zip(hits, rows):
            want = [ids[c] for c in groups.get(r, [])]
            assert h.get("duplicates", []) == want, (q["query_id"], r, h.get("duplicates"))
    else:
        assert listed == 0 and all("duplicates" not in h for h in hits), q["query_id"]
for name, lead in [("near-row-5", 5), ("near-row-60-hellinger", 60),
                   ("near-row-398-sinkhorn", 398), ("near-row-5-fast", 5)]:
    assert row[by_id[name]["results"][0]["image_id"]] == lead, name
    assert by_id[name]["results"][0]["confidence"] > 0.5, name
kept = [row[h["image_id"]] for h in by_id["near-row-5-all-kept"]["results"]]
assert set(kept[:5]) == {5, 140, 141, 290, 395}, kept
kept = [row[h["image_id"]] for h in by_id["near-row-398-fast-kept"]["results"]]
assert set(kept[:2]) == {398, 399}, kept
print("ok   collapsed lists hold no copies, list their copies' ids; off keeps them")
PY
