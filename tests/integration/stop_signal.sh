#!/usr/bin/env bash
# integration_stop_signal: SIGTERM (a Slurm time limit) stops `chromatica search` between waves;
# the answers so far are written atomically, every other valid query is marked unanswered, the
# report says it is incomplete, and the exit code is 4. The signal is sent as soon as the search
# phase has begun (its --progress line), so the outcome never depends on the machine's speed:
# 300 exact all-image EMD queries, one at a time, cannot all finish before it arrives.
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
