#!/usr/bin/env bash
# The stored index (format 2, spec section 11): synth writes it by default and identically at
# any rank count; h5py reads every object; searches on the v2 file give reports identical
# (timing aside) to the v1 file at 1, 2 and 3 ranks, both io modes and several shard counts,
# and to the committed golden answer on the fixture; `chromatica index` adds it to a v1 file
# through a symbolic link (the link stays a link), leaves no temporary file and gives the same
# answers; info verifies it.
# usage: stored_index.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mpi="$here/../mpi"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL $*"; exit 1; }
run() { mpirun -np "$1" --oversubscribe --bind-to none "${@:2}" > "$work/last.log" 2>&1 ||
          { cat "$work/last.log"; fail "exit $?: ${*:2}"; }; }

run 2 "$bin" synth --images 3000 --seed 5 -o "$work/v2.h5"
run 3 "$bin" synth --images 3000 --seed 5 -o "$work/v2_3ranks.h5"
run 1 "$bin" synth --images 3000 --seed 5 --no-index -o "$work/v1.h5"
/usr/bin/python3 - "$work" <<'PY' || exit 1
import sys, h5py, numpy as np
work = sys.argv[1]
def every(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None)
        out["attrs"] = dict(f.attrs)
        if "index" in f:
            out["index_attrs"] = dict(f["index"].attrs)
            out["token"] = f["histograms"].attrs["index_checksum"]
    return out
v2, v2b, v1 = every(f"{work}/v2.h5"), every(f"{work}/v2_3ranks.h5"), every(f"{work}/v1.h5")
assert v1["attrs"]["format_version"] == 1 and "index/offsets" not in v1, "v1 file"
assert v2["attrs"]["format_version"] == 2, "v2 format_version"
for name in ["index/offsets", "index/bins", "index/mass", "index/roots", "index/centroid", "index/cdf", "index/duplicates"]:
    assert np.array_equal(v2[name], v2b[name]), f"{name} differs between 2 and 3 ranks"
assert v2["index_attrs"]["index_version"] == 3 and v2["index_attrs"] == v2b["index_attrs"] and v2["token"] == v2["index_attrs"]["checksum"]
h, o, b, m, roots = v2["histograms"], v2["index/offsets"], v2["index/bins"], v2["index/mass"], v2["index/roots"]
assert np.array_equal(h, v1["histograms"]), "same histograms"
for r in range(h.shape[0]):
    nz = np.nonzero(h[r])[0]
    assert np.array_equal(b[o[r]:o[r + 1]], nz) and np.array_equal(m[o[r]:o[r + 1]], h[r][nz]), r
want = np.sqrt(h.astype(np.float64)).astype(np.float32).astype(np.float16).view(np.uint16).T
assert np.array_equal(roots, want), "roots"
# Written aligned, so a search maps the arrays in place (a misaligned one is copied instead).
with h5py.File(f"{work}/v2.h5", "r") as f:
    for name, d in f["index"].items():
        if d.id.get_storage_size() >= 4096:
            assert d.id.get_offset() % 64 == 0, (name, d.id.get_offset())
print("ok   synth writes format 2 by default, the same index at 2 and 3 ranks; h5py reads every object")
PY

# v1 and v2 answers: identical at 1, 2 and 3 ranks, both io modes, several shard counts.
/usr/bin/python3 "$here/../../jobs/make_random_palettes.py" 12 7 "$work/batch.json" > /dev/null
reports=()
for spec in "1 scatter 1" "2 scatter 1" "2 parallel 2" "3 scatter 3" "3 parallel 1"; do
  set -- $spec
  for kind in v1 v2; do
    run "$1" "$bin" search --dataset "$work/$kind.h5" --queries "$work/batch.json" \
      --out "$work/$kind-$1-$2-$3.json" --io "$2" --shards "$3"
    reports+=("$work/$kind-$1-$2-$3.json")
  done
done
/usr/bin/python3 "$mpi/compare_reports.py" "${reports[@]}" > "$work/compare.log" || { cat "$work/compare.log"; fail "v1 and v2 reports differ"; }
# The cascade stage reads per-image summaries (stored in an index_version 2 index and mapped,
# made at load from a v1 file): its answers must not depend on the file's format either.
cascade=()
for spec in "1 scatter 1" "3 parallel 3"; do
  set -- $spec
  for kind in v1 v2; do
    run "$1" "$bin" search --dataset "$work/$kind.h5" --queries "$mpi/batch_c.json" \
      --out "$work/cascade-$kind-$1.json" --io "$2" --shards "$3"
    cascade+=("$work/cascade-$kind-$1.json")
  done
done
/usr/bin/python3 "$mpi/compare_reports.py" "${cascade[@]}" > "$work/cascade.log" || { cat "$work/cascade.log"; fail "v1 and v2 cascade reports differ"; }
# Large enough that the cascade prunes (3000 images did not show a stored index's root columns
# read with the shard's row count as their stride): 20k images, 2 and 3 shards.
run 2 "$bin" synth --images 20000 --seed 5 -o "$work/big_v2.h5"
run 1 "$bin" synth --images 20000 --seed 5 --no-index -o "$work/big_v1.h5"
for shards in 2 3; do
  big=()
  for kind in v1 v2; do
    run "$shards" "$bin" search --dataset "$work/big_$kind.h5" --queries "$mpi/batch_c.json" \
      --out "$work/big-$kind-$shards.json" --shards "$shards"
    big+=("$work/big-$kind-$shards.json")
  done
  /usr/bin/python3 "$mpi/compare_reports.py" "${big[@]}" > "$work/big.log" || { cat "$work/big.log"; fail "v1 and v2 cascade reports differ at 20k images, $shards shards"; }
done
/usr/bin/python3 - "$work" <<'PY' || exit 1
import json, sys
for kind, want in [("v1", "built"), ("v2", "stored")]:
    got = json.load(open(f"{sys.argv[1]}/{kind}-2-parallel-2.json"))["run"]["index"]
    assert got == want, (kind, got)
print("ok   v1 and v2 reports identical at 1-3 ranks; run.index says built / stored")
PY

# chromatica index on a v1 file reached through a symbolic link.
cp "$here/../../data/fixtures/small.h5" "$work/fixture.h5"
ln -s fixture.h5 "$work/link.h5"
run 2 "$bin" index "$work/link.h5"
[ -L "$work/link.h5" ] || fail "the symbolic link was replaced"
ls "$work"/*.partial > /dev/null 2>&1 && fail "a temporary file was left"
"$bin" info "$work/fixture.h5" | grep -q "^/index: *stored" || fail "info does not show the index"
for ranks in 1 3; do
  run "$ranks" "$bin" search --dataset "$work/link.h5" --queries "$mpi/batch_a.json" \
    --out "$work/fixture-$ranks.json" --io parallel
done
/usr/bin/python3 "$mpi/compare_reports.py" "$work/fixture-1.json" "$work/fixture-3.json" \
  --golden "$mpi/golden_small.json" > "$work/golden.log" || { cat "$work/golden.log"; fail "golden"; }
echo "ok   chromatica index through a link: link kept, no temporary left, golden answers"
echo "3 passed, 0 failed"
