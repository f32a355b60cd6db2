#!/usr/bin/env bash
# Threads per rank by default (README, "Threads per rank"): with OMP_NUM_THREADS unset, each
# rank runs its share of the CPUs it may use, split among the node's ranks that share them
# (MPI_COMM_TYPE_SHARED); an explicit OMP_NUM_THREADS always stands; Slurm's SLURM_CPUS_PER_TASK
# comes next. The report's run section says how many threads and where the number came from.
# usage: threads.sh CHROMATICA_BINARY WORK_DIR
set -uo pipefail
bin="$1"; work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../../data/fixtures/small.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"; mkdir -p "$work"
# The CPUs this shell may use: what 2 unbound ranks on this node share.
cpus=$(/usr/bin/python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
failed=0
check() { # check NAME RANKS EXPECT_THREADS EXPECT_SOURCE_PREFIX [env assignments...]
  local name="$1" ranks="$2" want="$3" source="$4"; shift 4
  env -u OMP_NUM_THREADS -u SLURM_CPUS_PER_TASK "$@" \
    mpirun -np "$ranks" --oversubscribe --bind-to none \
    "$bin" search --dataset "$data" --queries "$here/batch_a.json" --out "$work/$name.json" \
    > "$work/$name.log" 2>&1 || { echo "FAIL $name: exit $?"; cat "$work/$name.log"; failed=1; return; }
  /usr/bin/python3 - "$work/$name.json" "$want" "$source" "$name" <<'PY' || failed=1
import json, sys
run = json.load(open(sys.argv[1]))["run"]
want, source, name = int(sys.argv[2]), sys.argv[3], sys.argv[4]
got = (run["threads_per_rank"], run.get("threads_source", ""))
each = [r["threads"] for r in run["per_rank"]]
if got[0] != want or not got[1].startswith(source) or each != [want] * len(each):
    print(f"FAIL {name}: threads_per_rank {got[0]} (ranks {each}), threads_source '{got[1]}'; expected {want}, "
          f"'{source}...'")
    sys.exit(1)
print(f"ok   {name}: ranks {each} thread(s) ({got[1]})")
PY
}
share=$(( cpus / 2 > 0 ? cpus / 2 : 1 ))
check unset2 2 "$share" "affinity: $cpus CPU(s) shared by 2 of 2 rank(s) on the node"
check unset1 1 "$cpus" "affinity: $cpus CPU(s) shared by 1 of 1 rank(s) on the node"
check omp2 2 3 "OMP_NUM_THREADS" OMP_NUM_THREADS=3
check slurm2 2 2 "SLURM_CPUS_PER_TASK" SLURM_CPUS_PER_TASK=2
check both2 2 1 "OMP_NUM_THREADS" OMP_NUM_THREADS=1 SLURM_CPUS_PER_TASK=2
# An unusable SLURM_CPUS_PER_TASK is an error that names it, before any work.
env -u OMP_NUM_THREADS SLURM_CPUS_PER_TASK=two mpirun -np 2 --oversubscribe --bind-to none \
  "$bin" search --dataset "$data" --queries "$here/batch_a.json" --out "$work/bad.json" \
  > "$work/bad.log" 2>&1
rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "SLURM_CPUS_PER_TASK 'two': expected a whole number" "$work/bad.log" \
   || [ -e "$work/bad.json" ]; then
  echo "FAIL bad SLURM_CPUS_PER_TASK: exit $rc"; cat "$work/bad.log"; failed=1
else
  echo "ok   SLURM_CPUS_PER_TASK 'two' refused"
fi
[ "$failed" -eq 0 ] && echo "all passed" || { echo "failed"; exit 1; }
