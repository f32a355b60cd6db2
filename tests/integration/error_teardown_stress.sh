#!/usr/bin/env bash
# stress_error_teardown: the whole-run failures of `chromatica search` (a batch whose root is an
# array, a batch that is not JSON, a dataset that does not exist, --shards that does not divide
# the ranks) run ROUNDS times each alone (no mpirun, a singleton, as the bad-input corpus runs
# them) and at 2 and 4 ranks (--oversubscribe) while one `yes` per core keeps the CPUs busy, so ranks reach the error, the agreement and MPI_Finalize at scattered
# moments. Every run must exit 1 with the case's message and no crash text (a signal, a
# segmentation fault, an abort or a sanitizer report). Not in the quick suite (ctest label
# `stress`, excluded by tests/run-all.sh); run it with `ctest -L stress`.
# usage: error_teardown_stress.sh CHROMATICA WORKDIR [ROUNDS [RANK_COUNTS]]   (default 50 "1 2 4")
set -uo pipefail
bin="$1"
work="$2"
rounds="${3:-50}"
rank_counts="${4:-1 2 4}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../../data/fixtures/small.h5"
corpus="$here/../bad_input/batches"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$work"
mkdir -p "$work"
echo '{"queries": [{"colors": "f00"}]}' >"$work/good.json"

# The load: one `yes` per core, each bounded by timeout in case this script is killed, and
# stopped by its own PID when the script ends.
load_pids=()
stop_load() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${load_pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap stop_load EXIT
for _ in $(seq 1 "$(nproc)"); do
  timeout 3600 yes >/dev/null &
  load_pids+=("$!")
done

crash='signal|Segmentation|SIGSEGV|SIGABRT|Aborted|core dumped|MPI_ABORT|MPI_ERR|AddressSanitizer|runtime error'
runs=0
failures=0
run_case() { # NAME RANKS EXPECTED_STDERR ARGS...
  local name="$1" ranks="$2" expect="$3"
  shift 3
  local code=0 launcher=(mpirun -np "$ranks" --oversubscribe)
  [ "$ranks" -eq 1 ] && launcher=()
  timeout 120 "${launcher[@]}" "$bin" search --out "$work/report.json" "$@" \
    >"$work/out.txt" 2>"$work/err.txt" || code=$?
  runs=$((runs + 1))
  if [ "$code" -ne 1 ] || ! grep -qF -- "$expect" "$work/err.txt" ||
     grep -Eq -- "$crash" "$work/err.txt" "$work/out.txt" || [ -e "$work/report.json" ]; then
    failures=$((failures + 1))
    echo "FAIL $name at $ranks ranks: exit $code (expected 1)"
    sed 's/^/  | /' "$work/err.txt" | head -20
    cp "$work/err.txt" "$work/failure-$failures.txt"
  fi
}

start=$(date +%s)
for ranks in $rank_counts; do
  for _ in $(seq 1 "$rounds"); do
    run_case root-array "$ranks" "batch: not a JSON object" \
      --dataset "$data" --queries "$corpus/root_array.json"
    run_case not-json "$ranks" "batch: not valid JSON" \
      --dataset "$data" --queries "$corpus/malformed_trailing_comma.json"
    run_case missing-dataset "$ranks" "$work/missing.h5: cannot open file" \
      --dataset "$work/missing.h5" --queries "$work/good.json"
    run_case bad-shards "$ranks" "--shards 3: invalid for $ranks ranks" \
      --dataset "$data" --queries "$work/good.json" --shards 3
  done
done
echo "stress_error_teardown: $runs runs ($rounds x 4 cases at $rank_counts ranks, $(nproc) busy" \
     "cores) in $(($(date +%s) - start)) s, $failures failed"
[ "$failures" -eq 0 ]
