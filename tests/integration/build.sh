#!/usr/bin/env bash
# integration_build: `chromatica build` end to end.
# usage: build.sh CHROMATICA FIXTURE_IMAGES WORKDIR
set -euo pipefail
bin="$1"
fixtures="$2"
work="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Runs a command that must fail with exit code $1 and print $2 on stderr.
expect_exit() {
  local code="$1" text="$2"
  shift 2
  local rc=0
  "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
  [ "$rc" -eq "$code" ] || fail "$* exited $rc (expected $code): $(cat "$work/err.txt")"
  grep -qF -- "$text" "$work/err.txt" "$work/out.txt" || fail "$* did not say '$text': $(cat "$work/err.txt")"
}

rm -rf "$work"
mkdir -p "$work/in"
cp "$fixtures"/* "$work/in/"
"$py" "$here/image_reference.py" make "$work/in/generated" 12
ln -s solid_red.png "$work/in/link.png"
echo "not listed" >"$work/in/.hidden"

# The same dataset, byte for byte in every object, at 1-3 ranks, 1-2 threads and any round size.
OMP_NUM_THREADS=2 "$bin" build "$work/in" --recursive -o "$work/r1.h5" >"$work/r1.txt"
"${mpi[@]}" -np 2 -x OMP_NUM_THREADS=1 "$bin" build "$work/in" --recursive -o "$work/r2.h5" \
  --chunk-files 3 >"$work/r2.txt"
"${mpi[@]}" -np 3 -x OMP_NUM_THREADS=1 "$bin" build "$work/in" --recursive -o "$work/r3.h5" \
  --chunk-files 1 --progress >"$work/r3.txt" 2>"$work/r3.err"
for r in r2 r3; do
  h5diff "$work/r1.h5" "$work/$r.h5" || fail "$r.h5 differs from r1.h5"
done
grep -q "files examined" "$work/r3.err" || fail "--progress printed nothing"
grep -q "21 images from 29 files" "$work/r1.txt" || fail "summary: $(cat "$work/r1.txt")"
"$bin" info "$work/r1.h5" >/dev/null || fail "info refuses the built dataset"

# Skips, ids, palettes, and histograms against the numpy reference; logs equal across ranks.
"$py" "$here/image_reference.py" check "$work/in" "$work/r1.h5" "$work/r1.h5.log.json" \
  "$work/r2.h5.log.json" "$work/r3.h5.log.json"

# Without --recursive the subdirectory is not entered; --strict turns skips into exit code 3
# but the dataset is still written.
expect_exit 3 "skipped 8 files" "$bin" build "$work/in" -o "$work/flat.h5" --strict
"$bin" info "$work/flat.h5" | grep -q "images: *9 " || fail "non-recursive build: $("$bin" info "$work/flat.h5")"

# Failures never touch an existing output and leave no partial file behind.
cp "$work/r1.h5" "$work/keep.h5"
before="$(md5sum <"$work/keep.h5")"
expect_exit 1 "input '$work/missing'" "$bin" build "$work/missing" -o "$work/keep.h5"
mkdir -p "$work/bad"
cp "$fixtures/not_an_image.png" "$fixtures/empty.jpg" "$work/bad/"
expect_exit 1 "no image could be indexed (2 files skipped" "$bin" build "$work/bad" -o "$work/keep.h5"
"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['files_skipped'] == 2, d" \
  "$work/keep.h5.log.json" || fail "the log of a build with nothing indexed"
[ "$(md5sum <"$work/keep.h5")" = "$before" ] || fail "a failed build changed an existing output"
[ ! -e "$work/keep.h5.partial" ] || fail "a failed build left keep.h5.partial"
expect_exit 1 "-o $work/no/such/dir/x.h5" "$bin" build "$work/in" -o "$work/no/such/dir/x.h5"
expect_exit 2 "unknown option '--bogus'" "$bin" build "$work/in" -o "$work/x.h5" --bogus
expect_exit 2 "--max-side '0'" "$bin" build "$work/in" -o "$work/x.h5" --max-side 0

# A red query finds the red image first, at distance 0 under the exact EMD (to float32
# rounding of the stored row).
cat >"$work/red.json" <<'JSON'
{"queries": [{"id": "red", "colors": "ff0000", "k": 3}], "options": {"metric": "emd"}}
JSON
"$bin" search --dataset "$work/r1.h5" --queries "$work/red.json" --out "$work/red_report.json" >/dev/null
"$py" - "$work/red_report.json" <<'PY' || fail "red query"
import json, sys
top = json.load(open(sys.argv[1]))["results"][0]["results"][0]
assert top["file_path"] == "solid_red.png" and abs(top["distance"]) < 1e-5, top  # float32 rows
assert top["dominant_colors"] == ["#ff0000"], top
PY

# histogram --image prints the row the build stores.
"$bin" histogram --image "$fixtures/two_colour.png" >"$work/two.json"
"$py" - "$work/two.json" <<'PY' || fail "histogram --image"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "PNG" and (d["width"], d["height"]) == (4, 4), d
assert [(c["hex"], round(c["weight"], 6)) for c in d["palette"]] == [("#ffff00", 0.75), ("#0000ff", 0.25)], d["palette"]
assert abs(sum(b["mass"] for b in d["histogram"]) - 1) < 1e-6
PY
expect_exit 1 "truncated JPEG" "$bin" histogram --image "$fixtures/truncated.jpg"
echo "integration_build: all checks passed"
