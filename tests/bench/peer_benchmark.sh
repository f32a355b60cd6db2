#!/usr/bin/env bash
# bench_peers: the side-by-side benchmark against FAISS and POT on a synthetic dataset made here
# (IMAGES images, seed 3) and QUERIES seeded random palettes, with the kernels timed alone and
# `chromatica search`'s own stage times next to them. Prints the table; fails only if the
# answers disagree (EMD beyond 1e-9 relative, FAISS exact recall below 0.99), never on time.
# usage: peer_benchmark.sh CHROMATICA BENCH_KERNELS WORKDIR [IMAGES] [QUERIES]
set -euo pipefail
bin="$1"
kernels="$2"
work="$3"
images="${4:-20000}"
queries="${5:-64}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$work"
data="$work/synthetic-$images.h5"
[ -f "$data" ] || "$bin" synth --images "$images" --seed 3 -o "$data" >/dev/null
/usr/bin/python3 - "$work/batch.json" "$queries" <<'PY'
import json, random, sys
rng = random.Random(5)
qs = []
for i in range(int(sys.argv[2])):
    n = rng.randint(1, 5)
    qs.append({"id": f"peer-{i}", "k": 10,
               "colors": ",".join(f"{rng.randrange(1 << 24):06x}" for _ in range(n))})
json.dump({"queries": qs}, open(sys.argv[1], "w"))
PY
/usr/bin/python3 "$here/peer_benchmark.py" "$kernels" "$data" "$work/batch.json" "$work" \
  --R 200 --pairs 10 --threads 1 --chromatica "$bin"
