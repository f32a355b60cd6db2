#!/usr/bin/env bash
# integration_stop_signal: SIGTERM (a Slurm time limit) stops `chromatica search` between waves;
# the answers so far are written atomically, every other valid query is marked unanswered, the
# report says it is incomplete, and the exit code is 4. The signal is sent as soon as the search
# phase has begun (its --progress line), so the outcome never depends on the machine's speed:
# 300 exact all-image EMD queries, one at a time, cannot all finish before it arrives.
# Then under mpirun at 2 ranks x 1 shard (two query groups, 20,000 such queries: 1,000 were
# answered within mpirun's 3 s grace once the EMD solver got faster, so the batch is sized far
# beyond what any machine answers in that time; a stopped run never searches the rest):
# - SIGTERM to mpirun: Open MPI 4.1 sends the ranks SIGCONT, waits odls_base_sigkill_timeout
#   seconds, sends SIGTERM, waits as long again, then SIGKILL, and itself exits 1 whatever the
#   ranks return. The ranks stop, the report is written and says incomplete; the exit code is 1
#   (README, "Exit codes"). The timeout is raised to 3 s so that a loaded machine cannot turn the
#   grace into a SIGKILL before the report is written.
# - SIGTERM to rank 1 alone: its group stops and tells the other; both groups stop early, the
#   report is incomplete, and mpirun (not signalled itself) passes on the ranks' exit code 4.
# usage: stop_signal.sh CHROMATICA WORKDIR
set -euo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/../../data/fixtures/small.h5"
rm -rf "$work"
mkdir -p "$work"
/usr/bin/python3 - "$work/batch.json" <<'PY'
import json, sys
qs = [{"id": f"q{i}", "colors": f"{(i * 2654435761) % (1 << 24):06x}"} for i in range(300)]
qs.append({"id": "bad", "colors": "GG0000"})
json.dump({"queries": qs, "max_concurrent": 1,
           "options": {"metric": "emd", "rerank_scope": "all", "emd_prune": False}},
          open(sys.argv[1], "w"))
PY
echo "old report" >"$work/report.json"
"$bin" search --dataset "$data" --queries "$work/batch.json" --out "$work/report.json" --progress \
  >"$work/out.txt" 2>"$work/err.txt" &
pid=$!
for _ in $(seq 1 600); do  # wait (up to a minute) for the search phase to begin
  grep -q "answering" "$work/err.txt" && break
  sleep 0.1
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 4 ] || { echo "FAIL: exit code $rc (expected 4)"; cat "$work/err.txt"; exit 1; }
ls "$work" | grep -q '\.tmp\.' && { echo "FAIL: a temporary file was left"; exit 1; }
/usr/bin/python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["run"]["incomplete"] is True and r["run"]["stopped_by"] == "SIGTERM", r["run"]
unanswered = [q for q in r["results"] if not q["success"] and "stopped by SIGTERM" in q["error"]]
answered = [q for q in r["results"] if q["success"]]
bad = [q for q in r["results"] if q["query_id"] == "bad"][0]
assert unanswered, "every query was answered before the signal"
assert all(q["results_count"] > 0 for q in answered)
assert "GG0000" in bad["error"], bad
assert any("incomplete" in w for w in r["warnings"]), r["warnings"]
assert r["successful_queries"] + r["failed_queries"] == 301
print(f"integration_stop_signal: {len(answered)} answered, {len(unanswered)} marked unanswered, "
      "report incomplete, exit 4")
PY

/usr/bin/python3 - "$work/big.json" <<'PY'
import json, sys
qs = [{"id": f"q{i}", "colors": f"{(i * 2654435761) % (1 << 24):06x}"} for i in range(20000)]
json.dump({"queries": qs, "max_concurrent": 2,
           "options": {"metric": "emd", "rerank_scope": "all", "emd_prune": False}},
          open(sys.argv[1], "w"))
PY
# start_mpi NAME: runs the 2-group search in the background (pid in $mpi_pid) and waits until
# the search phase has begun.
start_mpi() {
  rm -f "$work/$1.json"
  mpirun --mca odls_base_sigkill_timeout 3 -np 2 --oversubscribe "$bin" search --dataset "$data" \
    --queries "$work/big.json" --out "$work/$1.json" --shards 1 --progress \
    >"$work/$1.out" 2>"$work/$1.err" &
  mpi_pid=$!
  for _ in $(seq 1 1200); do
    grep -q "answering" "$work/$1.err" && return 0
    sleep 0.1
  done
  echo "FAIL $1: the search did not start"; cat "$work/$1.err"; exit 1
}
# check_partial NAME RC EXPECTED_RC: the report is incomplete, and both groups stopped early.
check_partial() {
  [ "$2" -eq "$3" ] || { echo "FAIL $1: exit code $2 (expected $3)"; cat "$work/$1.err"; exit 1; }
  /usr/bin/python3 - "$work/$1.json" "$1" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
run = r["run"]
assert run["incomplete"] is True and run["stopped_by"] == "SIGTERM", run
per_group = {p["group"]: p["queries"] for p in run["per_rank"]}
assert sorted(per_group) == [0, 1] and all(q < 10000 for q in per_group.values()), per_group
unanswered = [q for q in r["results"] if not q["success"] and "stopped by SIGTERM" in q["error"]]
assert len(unanswered) == 20000 - sum(per_group.values()), len(unanswered)
print(f"integration_stop_signal ({sys.argv[2]}): groups answered {per_group[0]} and "
      f"{per_group[1]} of 10,000, report incomplete, exit {sys.argv[3]}")
PY
}

start_mpi mpirun_term
kill -TERM "$mpi_pid"
rc=0
wait "$mpi_pid" || rc=$?
check_partial mpirun_term "$rc" 1

start_mpi one_rank
rank1=""
for p in $(pgrep -P "$mpi_pid"); do
  tr '\0' '\n' <"/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=1" && rank1="$p"
done
[ -n "$rank1" ] || { echo "FAIL one_rank: rank 1 not found among mpirun's children"; exit 1; }
kill -TERM "$rank1"
rc=0
wait "$mpi_pid" || rc=$?
check_partial one_rank "$rc" 4
