#!/usr/bin/env bash
# Recomputes one search batch with an independent numpy/POT implementation (reference.py) and
# compares ids, order, distances (1e-6 rel) and ann_score (1e-9 abs); POT sinkhorn2 cross-check
# (1e-3 rel at the default tol 1e-6 / max 100 iterations, 1e-6 rel at tol 1e-12 / 20000 iterations).
# usage: reference_check.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
failures=0; passed=0
step() { # step NAME COMMAND...: must succeed
  local name="$1"; shift
  if "$@" >"$work/out.txt" 2>"$work/err.txt"; then passed=$((passed + 1)); echo "ok   $name"
  else failures=$((failures + 1)); echo "FAIL $name"; cat "$work/out.txt" "$work/err.txt"; fi
}
compare() { # compare NAME REPORT.json BATCH.json [reference.py options]
  local name="$1" rep="$2" bat="$3"; shift 3
  echo "== reference.py: $name"
  "$py" "$here/reference.py" "$work/d.h5" "$bat" "$rep" "$@" | tee "$work/ref_$name.txt"
  local line; line="$(tail -n 1 "$work/ref_$name.txt")"
  if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failures=$((failures + BASH_REMATCH[2]))
  else failures=$((failures + 1)); echo "FAIL reference.py $name did not finish"; fi
}

step "synth dataset" mpirun -np 2 --oversubscribe "$bin" synth --images 3000 --seed 5 -o "$work/d.h5"

cat > "$work/batch.json" <<'JSON'
{ "queries": [
    {"id": "red", "colors": "ff0000", "k": 5, "rerank_k": 50},
    {"id": "pink-yellow", "colors": "ea6a81,f6d727", "weights": "0.49,0.51", "k": 10, "rerank_k": 80},
    {"id": "three", "colors": ["#00FF00", "#1a2b3c", "fff"], "weights": [0.2, 0.3, 0.5], "k": 20,
     "rerank_k": 100},
    {"id": "fast", "colors": "336699,cc9933", "weights": "3,1", "k": 15, "fast_mode": true},
    {"id": "sharp", "colors": "808080,ff00ff", "weights": "0.7,0.3", "k": 8, "rerank_k": 60,
     "sharpen": 2},
    {"id": "logdomain", "colors": "0000ff,ffa500", "k": 7, "rerank_k": 50, "sinkhorn_epsilon": 0.002}
  ],
  "options": {"rerank_k": 200, "metric": "sinkhorn", "sinkhorn_epsilon": 0.05,
              "sinkhorn_max_iter": 100, "sharpen": 1.0}
}
JSON
# same batch, Sinkhorn run to (near) convergence: POT must then agree to 1e-6
"$py" - "$work/batch.json" "$work/batch_tight.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["options"].update({"sinkhorn_tol": 1e-12, "sinkhorn_max_iter": 20000})
json.dump(b, open(sys.argv[2], "w"), indent=1)
PY

step "search default" mpirun -np 2 --oversubscribe "$bin" search --dataset "$work/d.h5" \
  --queries "$work/batch.json" --out "$work/r.json"
step "search tight" mpirun -np 2 --oversubscribe "$bin" search --dataset "$work/d.h5" \
  --queries "$work/batch_tight.json" --out "$work/r_tight.json"

# default stop rule (tol 1e-6, <= 100 iterations): POT (converged) within 1e-3 relative
compare default "$work/r.json" "$work/batch.json" --pot-rtol 1e-3
# tol 1e-12, <= 20000 iterations: POT within 1e-6 relative
compare tight "$work/r_tight.json" "$work/batch_tight.json" --pot-rtol 1e-6

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
