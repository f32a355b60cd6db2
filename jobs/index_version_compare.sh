#!/usr/bin/env bash
# The load phase of one format-2 file searched by an older build (which reads index_version 1)
# and by this build on index_version 1 (summaries computed at load) and 2 (summaries mapped),
# side by side: the file's index_version attribute is toggled between runs (a version-2 index
# keeps /index/centroid and /index/cdf, which version 1 readers ignore) and set back to 2 at
# the end. A 20-query fast_mode batch (as jobs/index_study.sh) on RANKS ranks, REPEATS rounds
# alternating; one line per run with the search's own run.timings_ms and per-rank read.
# usage: jobs/index_version_compare.sh OLD_CHROMATICA NEW_CHROMATICA V2.h5 [RANKS] [REPEATS] [WORK]
set -euo pipefail
old="$1"; new="$2"; file="$3"; ranks="${4:-2}"; repeats="${5:-3}"; work="${6:-/tmp/index_compare}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"
/usr/bin/python3 "$here/make_random_palettes.py" 20 2026 "$work/batch.json" > /dev/null
/usr/bin/python3 - "$work/batch.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["options"] = {"fast_mode": True}
json.dump(b, open(sys.argv[1], "w"))
PY
version() {
  /usr/bin/python3 -c "import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'r+') as f: f['index'].attrs.modify('index_version', np.int32(int(sys.argv[2])))" "$file" "$1"
}
trap 'version 2' EXIT
for i in $(seq "$repeats"); do
  for kind in old-v1 new-v1 new-v2; do
    exe="$new"; [ "$kind" = old-v1 ] && exe="$old"
    version "${kind#*-v}"
    t0=$(date +%s.%N)
    mpirun -np "$ranks" --oversubscribe --bind-to none "$exe" search --dataset "$file" \
      --queries "$work/batch.json" --out "$work/$kind-$i.json" > "$work/$kind-$i.log"
    t1=$(date +%s.%N)
    /usr/bin/python3 - "$work/$kind-$i.json" "$kind" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["run"]; t = r["timings_ms"]
print(sys.argv[2], "wall %.2f s" % float(sys.argv[3]),
      "load %.0f ms (read %.0f, distribute %.0f)" % (t["read"] + t["distribute"], t["read"], t["distribute"]),
      "search %.0f ms" % t["search"],
      "rank read_ms", [round(p["read_ms"]) for p in r["per_rank"]],
      "peak_rss_mb", [round(p["peak_rss_mb"]) for p in r["per_rank"]])
PY
  done
done
