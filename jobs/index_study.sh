#!/usr/bin/env bash
# Load time, file size and memory per rank of the same dataset as format 1 (dense /histograms,
# the index built at load) and format 2 (the stored index read per rank): a 20-query fast_mode
# batch on RANKS ranks, REPEATS alternating runs of each, whole mpirun wall time and the
# search's own run timings (report run.timings_ms, per-rank peak RSS). Prints one line per run
# and the medians. The v2 file is made from the v1 file with `chromatica index` unless present.
# V1_BIN=OTHER_CHROMATICA runs the v1 searches with another build (e.g. the code before the
# stored index, for "the landed code on the dense file").
# usage: [V1_BIN=...] jobs/index_study.sh CHROMATICA V1.h5 V2.h5 [RANKS] [REPEATS] [WORK]
set -euo pipefail
bin="$1"; v1="$2"; v2="$3"; ranks="${4:-2}"; repeats="${5:-3}"; work="${6:-/tmp/index_study}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"; rm -f "$work/wall.txt"
/usr/bin/python3 "$here/make_random_palettes.py" 20 2026 "$work/batch.json" > /dev/null
/usr/bin/python3 - "$work/batch.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["options"] = {"fast_mode": True}
json.dump(b, open(sys.argv[1], "w"))
PY
if [ ! -e "$v2" ]; then
  cp "$v1" "$v2"
  mpirun -np "$ranks" --oversubscribe --bind-to none "$bin" index "$v2"
fi
for i in $(seq "$repeats"); do
  for kind in v1 v2; do
    file="$v1"; exe="${V1_BIN:-$bin}"
    [ "$kind" = v2 ] && { file="$v2"; exe="$bin"; }
    t0=$(date +%s.%N)
    mpirun -np "$ranks" --oversubscribe --bind-to none "$exe" search --dataset "$file" \
      --queries "$work/batch.json" --out "$work/$kind-$i.json" > "$work/$kind-$i.log"
    t1=$(date +%s.%N)
    echo "$kind $i $(echo "$t1 - $t0" | bc)" >> "$work/wall.txt"
  done
done
/usr/bin/python3 - "$work" "$v1" "$v2" "$repeats" <<'PY'
import json, os, statistics, sys
work, v1, v2, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
wall = {}
for line in open(f"{work}/wall.txt").read().split("\n")[-2 * repeats - 1:]:
    if line.strip():
        kind, i, t = line.split(); wall.setdefault(kind, []).append(float(t))
med = statistics.median
for kind, path in [("v1", v1), ("v2", v2)]:
    reps = [json.load(open(f"{work}/{kind}-{i}.json")) for i in range(1, repeats + 1)]
    load = [r["run"]["timings_ms"]["read"] + r["run"]["timings_ms"]["distribute"] for r in reps]
    read = [r["run"]["timings_ms"]["read"] for r in reps]
    search = [r["run"]["timings_ms"]["search"] for r in reps]
    rss = [max(x["peak_rss_mb"] for x in r["run"]["per_rank"]) for r in reps]
    print(f"{kind} index={reps[0]['run'].get('index', 'built (before the stored index)')} size_MB={os.path.getsize(path)/1e6:.0f} "
          f"wall_s={med(wall[kind]):.2f} load_ms={med(load):.0f} (read {med(read):.0f}) "
          f"search_ms={med(search):.0f} peak_rss_MB_per_rank={med(rss):.0f} "
          f"walls={[round(w, 2) for w in wall[kind]]} loads={[round(l) for l in load]}")
print(f"wall ratio v2/v1 = {med(wall['v2']) / med(wall['v1']):.2f}")
PY
