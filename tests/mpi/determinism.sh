#!/usr/bin/env bash
# The same batch at 1, 2, 3 and 4 ranks, several shard counts, thread counts, both io modes and
# other batch_size/max_concurrent, and the portable stage-1 kernels instead of the widest the
# CPU has: every report must be identical, timing fields aside, and equal to the golden answer
# on the committed fixture dataset.
# usage: determinism.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../../data/fixtures/small.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
run() { # run NAME RANKS THREADS BATCH [search options...]
  local name="$1" ranks="$2" threads="$3" batch="$4"; shift 4
  mpirun -np "$ranks" --oversubscribe --bind-to none -x OMP_NUM_THREADS="$threads" \
    ${CHR_SCAN_KERNELS:+-x CHR_SCAN_KERNELS} \
    "$bin" search --dataset "$data" --queries "$here/$batch" --out "$work/$name.json" "$@" \
    > "$work/$name.log" 2>&1 || { echo "FAIL $name: exit $?"; cat "$work/$name.log"; return 1; }
}
failed=0
run p1 1 2 batch_a.json || failed=1
run p2 2 1 batch_a.json || failed=1
run p2s2par 2 1 batch_a.json --shards 2 --io parallel || failed=1
run p3s3 3 1 batch_b.json --shards 3 || failed=1
run p3par 3 2 batch_a.json --io parallel || failed=1
run p4s2 4 1 batch_b.json --shards 2 || failed=1
run p4s4par 4 1 batch_a.json --shards 4 --io parallel || failed=1
CHR_SCAN_KERNELS=portable run p2port 2 2 batch_a.json || failed=1
[ "$failed" -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 "$here/compare_reports.py" "$work"/p1.json "$work"/p2.json "$work"/p2s2par.json \
  "$work"/p3s3.json "$work"/p3par.json "$work"/p4s2.json "$work"/p4s4par.json "$work"/p2port.json \
  --golden "$here/golden_small.json" || exit 1
# The cascade candidate stage (batch_c, batch_d: the same queries at max_concurrent 4 and 1,
# batch_size 3) across ranks, shards, threads, io modes and kernels; its own golden answer.
cfailed=0
run c1 1 2 batch_c.json || cfailed=1
run c2s2par 2 1 batch_d.json --shards 2 --io parallel || cfailed=1
run c3s3 3 1 batch_c.json --shards 3 || cfailed=1
run c3 3 2 batch_d.json || cfailed=1
CHR_SCAN_KERNELS=portable run c2port 2 2 batch_c.json --shards 2 || cfailed=1
[ "$cfailed" -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 "$here/compare_reports.py" "$work"/c1.json "$work"/c2s2par.json "$work"/c3s3.json \
  "$work"/c3.json "$work"/c2port.json --golden "$here/golden_cascade.json" || exit 1
# max_concurrent is a hard bound: 4 for batch_a, 1 for batch_b.
/usr/bin/python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
for name, limit in [("p1", 4), ("p2", 4), ("p3par", 4), ("p4s4par", 4), ("p3s3", 1), ("p4s2", 1)]:
    got = json.load(open(f"{work}/{name}.json"))["performance_stats"]["max_concurrent_searches"]
    assert 1 <= got <= limit, (name, got, limit)
print("ok   max_concurrent_searches within max_concurrent")
PY
