#!/usr/bin/env bash
# Duplicate groups stored in the index (index_version 3, /index/duplicates): `chromatica index`
# writes the same groups at 1, 2 and 3 ranks and h5py reads them; searches on that file, on the
# same file as an older version-2 index (no stored groups: hashed at load) and on the dense
# format-1 file give identical reports at 1-3 ranks, shards and io modes; stored groups that are
# edited, foreign, forged with a matching fingerprint, or missing are refused, never used.
# usage: stored_duplicates.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL $*"; exit 1; }
mp() { mpirun -np "$1" --oversubscribe --bind-to none "${@:2}"; }
/usr/bin/python3 "$here/make_duplicates.py" "$here/../../data/fixtures/small.h5" "$work/v1.h5" || exit 1
for ranks in 1 2 3; do
  cp "$work/v1.h5" "$work/v3-$ranks.h5"
  mp "$ranks" "$bin" index "$work/v3-$ranks.h5" > "$work/index-$ranks.log" 2>&1 ||
    { cat "$work/index-$ranks.log"; fail "index at $ranks ranks"; }
done
/usr/bin/python3 - "$work" <<'PY' || exit 1
import sys, h5py, numpy as np
work = sys.argv[1]
want = [(140, 5), (141, 5), (290, 5), (395, 5), (61, 60), (250, 60), (399, 398)]
got = []
for ranks in (1, 2, 3):
    with h5py.File(f"{work}/v3-{ranks}.h5", "r") as f:
        a = dict(f["index"].attrs)
        assert a["index_version"] == 3 and a["duplicates"] == len(want), a
        got.append((f["index/duplicates"][...].tolist(), a["duplicates_checksum"]))
assert got[0][0] == [list(p) for p in want], got[0]
assert got[0] == got[1] == got[2], "the stored groups depend on the rank count"
# The same file as an older version-2 index: no stored groups.
with h5py.File(f"{work}/v3-2.h5", "r") as src, h5py.File(f"{work}/v2.h5", "w") as out:
    for k in src: src.copy(k, out)
    for k, v in src.attrs.items(): out.attrs[k] = v
    del out["index/duplicates"]
    for k in ("duplicates", "duplicates_checksum"): del out["index"].attrs[k]
    out["index"].attrs.modify("index_version", np.int32(2))
print("ok   the same stored groups at 1-3 ranks; h5py reads them")
PY
batch="$here/duplicates_batch.json"
reports=()
for spec in "v1 2 scatter 2" "v2 2 scatter 2" "v3-2 1 scatter 1" "v3-2 2 scatter 2" "v3-2 3 parallel 3" "v3-2 3 scatter 1" "v3-1 2 parallel 1"; do
  set -- $spec
  out="$work/r-$1-$2-$3-$4.json"
  mp "$2" "$bin" search --dataset "$work/$1.h5" --queries "$batch" --out "$out" --io "$3" \
    --shards "$4" > "$work/search.log" 2>&1 || { cat "$work/search.log"; fail "search $spec"; }
  reports+=("$out")
done
/usr/bin/python3 "$here/compare_reports.py" "${reports[@]}" > "$work/compare.log" ||
  { cat "$work/compare.log"; fail "reports with and without stored groups differ"; }
/usr/bin/python3 - "${reports[0]}" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))["run"]["dataset"]["duplicates"]
assert d == {"groups": 3, "images_collapsed": 7}, d
PY
echo "ok   identical reports from stored groups (v3), hashed ones (v2) and the dense file (v1)"

# Damaged stored groups: each copy of the v3 file is changed with h5py, then searched.
/usr/bin/python3 - "$work" <<'PY' || exit 1
import shutil, sys, h5py, numpy as np
work = sys.argv[1]
M = (1 << 64) - 1
def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
def fingerprint(pairs, checksum):  # chr_dups_checksum
    h = mix64(mix64(checksum ^ 0x6475706C69636174) ^ len(pairs))
    for row, rep in pairs: h = mix64(mix64(h ^ row) ^ rep)
    return h
def variant(name, change):
    shutil.copy(f"{work}/v3-2.h5", f"{work}/{name}.h5")
    with h5py.File(f"{work}/{name}.h5", "r+") as f: change(f)
def store(f, pairs, fp):
    del f["index/duplicates"]
    f["index"].create_dataset("duplicates", data=np.array(pairs, np.int64).reshape(-1, 2))
    f["index"].attrs["duplicates"] = np.int64(len(pairs))
    f["index"].attrs["duplicates_checksum"] = np.uint64(fp)
def edited(f):
    d = f["index/duplicates"][...]; d[6] = [399, 397]; f["index/duplicates"][...] = d
def foreign(f):  # the groups of another file's index (the v1 fixture's rows: none)
    store(f, [], fingerprint([], 0x1234))
def forged(f):  # a well-formed list with a matching fingerprint, claiming rows 6, 7 are copies
    store(f, [(7, 6)], fingerprint([(7, 6)], int(f["index"].attrs["checksum"])))
def dropped(f):  # a copy left out: the fingerprint refuses the shorter list
    pairs = [tuple(p) for p in f["index/duplicates"][...].tolist()][:-1]
    store(f, pairs, int(f["index"].attrs["duplicates_checksum"]))
variant("edited", edited); variant("foreign", foreign); variant("forged", forged)
variant("dropped", dropped)
variant("missing", lambda f: f.__delitem__("index/duplicates"))
PY
for spec in "edited /index/duplicates: fingerprint" "foreign the groups are stale, foreign or were modified" \
            "forged /index/duplicates: 1 of the 1 rows it collapses" "dropped /index/duplicates: fingerprint" \
            "missing /index/duplicates: missing or not int64 [7, 2]"; do
  name="${spec%% *}"; text="${spec#* }"
  for ranks in 1 3; do
    mp "$ranks" "$bin" search --dataset "$work/$name.h5" --queries "$batch" \
      --out "$work/bad-$name.json" > "$work/bad.log" 2>&1 && fail "$name accepted at $ranks ranks"
    grep -qF -- "$text" "$work/bad.log" || { cat "$work/bad.log"; fail "$name: no '$text'"; }
    [ -e "$work/bad-$name.json" ] && fail "$name: a report was written"
  done
done
# The ids' fingerprint recorded at index time spares their uniqueness check only while they
# still give it; palette weights are checked in every row although only reported rows are read.
/usr/bin/python3 - "$work" <<'PY' || exit 1
import shutil, sys, h5py
work = sys.argv[1]
for name in ("ids_edited", "weight_edited"):
    shutil.copy(f"{work}/v3-2.h5", f"{work}/{name}.h5")
with h5py.File(f"{work}/v3-2.h5", "r") as f:
    assert f["index"].attrs["ids_checksum"] != 0
with h5py.File(f"{work}/ids_edited.h5", "r+") as f:
    ids = f["image_ids"][...]; ids[3] = ids[2]; f["image_ids"][...] = ids
with h5py.File(f"{work}/weight_edited.h5", "r+") as f:
    w = f["palette_weights"][...]; w[7, 1] = -1; f["palette_weights"][...] = w
PY
for spec in "ids_edited at rows 2 and 3 (expected unique ids" "weight_edited /palette_weights row 7: slot 1 is -1"; do
  name="${spec%% *}"; text="${spec#* }"
  mp 2 "$bin" search --dataset "$work/$name.h5" --queries "$batch" --out "$work/bad-$name.json" \
    > "$work/bad.log" 2>&1 && fail "$name accepted"
  grep -qF -- "$text" "$work/bad.log" || { cat "$work/bad.log"; fail "$name: no '$text'"; }
done
echo "ok   ids edited after indexing and a bad weight in an unreported row are refused"

# chromatica info compares the stored groups with those of every row.
"$bin" info "$work/v3-2.h5" | grep -q "^/index: *stored.*(matches every row)" || fail "info on v3"
"$bin" info "$work/forged.h5" > "$work/info.log" 2>&1 && fail "info accepted forged groups"
grep -qF "/index/duplicates: 1 pairs, one of rows that differ (expected the 7 copies" "$work/info.log" ||
  { cat "$work/info.log"; fail "info on forged groups"; }
echo "ok   edited, foreign, forged, shortened and missing stored groups are refused"
echo "4 passed, 0 failed"
