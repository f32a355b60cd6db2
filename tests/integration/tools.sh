#!/usr/bin/env bash
# End-to-end checks of `histogram`, `synth` and `info` through the real executable.
# usage: tools.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$work"; mkdir -p "$work"
failures=0; passed=0
check() { # check NAME COMMAND...: the command must succeed
  local name="$1"; shift
  if "$@" >"$work/out.txt" 2>"$work/err.txt"; then passed=$((passed + 1)); echo "ok   $name"
  else failures=$((failures + 1)); echo "FAIL $name"; cat "$work/out.txt" "$work/err.txt"; fi
}
check_fails() { # check_fails NAME EXPECTED_STDERR_SUBSTRING COMMAND...: must fail, naming the problem
  local name="$1" expect="$2"; shift 2
  if "$@" >"$work/out.txt" 2>"$work/err.txt"; then
    failures=$((failures + 1)); echo "FAIL $name (succeeded, expected failure)"
  elif ! grep -qF -- "$expect" "$work/err.txt"; then
    failures=$((failures + 1)); echo "FAIL $name (stderr lacks '$expect'):"; cat "$work/err.txt"
  else passed=$((passed + 1)); echo "ok   $name"; fi
}

# histogram: JSON with Lab values and masses summing to 1
check "histogram json" bash -c "'$bin' histogram --colors ea6a81,f6d727 --weights 0.49,0.51 > '$work/h.json'"
check "histogram content" "$py" - "$work/h.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
assert [c["hex"] for c in h["colors"]] == ["#ea6a81", "#f6d727"], h["colors"]
assert abs(sum(e["mass"] for e in h["histogram"]) - 1) < 1e-12
assert all(e["bin"] == e["l"] * 144 + e["a"] * 12 + e["b"] for e in h["histogram"])
assert 0 < h["nonzero_bins"] <= 16
PY
check "histogram pure green" "$bin" histogram --colors 00FF00
check_fails "histogram bad hex" "colors[1] 'GG0000'" "$bin" histogram --colors ff0000,GG0000
check_fails "histogram zero weight" "weights[0]" "$bin" histogram --colors ff0000 --weights 0
check_fails "histogram weight count" "expected 2" "$bin" histogram --colors ff0000,00ff00 --weights 1
check_fails "histogram unknown flag" "--bogus" "$bin" histogram --bogus 1

# synth: same N and seed give the same data at 1 and 3 ranks; info accepts it
check "synth 1 rank" mpirun -np 1 "$bin" synth --images 1000 --seed 7 -o "$work/s1.h5"
check "synth 3 ranks" mpirun -np 3 "$bin" synth --images 1000 --seed 7 -o "$work/s3.h5"
check "synth identical across ranks" "$py" - "$work/s1.h5" "$work/s3.h5" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for name in ["histograms", "image_ids", "file_paths", "palettes", "palette_weights"]:
    assert np.array_equal(a[name][()], b[name][()]), name
h = a["histograms"][()]
assert h.shape == (1000, 1152) and h.dtype == np.float32
assert np.all(np.abs(h.sum(axis=1) - 1) < 1e-5) and np.all(h >= 0)
assert a.attrs["format"] in (b"chromatica-histograms", "chromatica-histograms")
assert list(a.attrs["bins"]) == [8, 12, 12]
PY
check "info good file" "$bin" info "$work/s1.h5"
grep -q "1000" "$work/out.txt" || { failures=$((failures + 1)); echo "FAIL info prints image count"; }
check_fails "synth bad count" "--images" "$bin" synth --images -3 --seed 1 -o "$work/x.h5"

# info: bad files are refused, naming the object and the first bad row
check "make bad files" "$py" - "$work/s1.h5" "$work" <<'PY'
import sys, shutil, h5py, numpy as np
src, work = sys.argv[1], sys.argv[2]
def copy(name):
    path = f"{work}/{name}.h5"; shutil.copy(src, path); return h5py.File(path, "r+")
with copy("nan_row") as f:
    h = f["histograms"]; row = h[17]; row[3] = np.nan; h[17] = row
with copy("bad_bins") as f:
    f.attrs["bins"] = np.array([8, 12, 10], dtype=np.int32)
with copy("dup_ids") as f:
    ids = f["image_ids"]; ids[9] = ids[3]
with copy("bad_sum") as f:
    h = f["histograms"]; h[5] = h[5] * 0.5
with copy("no_ids") as f:
    del f["image_ids"]
open(f"{work}/not_hdf5.h5", "w").write("hello")
PY
check_fails "info NaN row" "row 17" "$bin" info "$work/nan_row.h5"
check_fails "info bad bins" "bins" "$bin" info "$work/bad_bins.h5"
check_fails "info duplicate ids" "/image_ids" "$bin" info "$work/dup_ids.h5"
check_fails "info bad sum" "row 5" "$bin" info "$work/bad_sum.h5"
check_fails "info missing ids" "/image_ids" "$bin" info "$work/no_ids.h5"
check_fails "info not hdf5" "not_hdf5.h5" "$bin" info "$work/not_hdf5.h5"
check_fails "info missing file" "missing.h5" "$bin" info "$work/missing.h5"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
