#!/usr/bin/env bash
# shellcheck disable=SC2317  # the check functions are called through check() and the traps
# usage: slurm_jobs.sh CHROMATICA WORKDIR
#
# The sbatch scripts of slurm/ on a real one-node Slurm: brings up munged, slurmctld and slurmd
# (Debian's packages) with a configuration made in a temporary folder under WORKDIR, submits
# build.sbatch (the fixture images), search.sbatch twice (2 ranks x 1 thread, scatter; 1 rank x
# 2 threads, parallel) and once on a missing dataset, and load-study.sbatch as a 3-element array,
# waits for them by polling squeue, and checks that every job completed (the failing one FAILED
# with exit code 1), the reports parse with successful queries, the runs had the asked shape and
# CPU binding, every search gave the same answers and the built dataset passes `chromatica info`
# and equals a singleton build. The daemons are stopped by their PIDs on exit.
#
# Needs a node of at least 2 CPUs; the checks are written for any number of CPUs, but the binding
# expectations (who is overcommitted) follow the node's CPU count.
#
# Exit 0 all passed, 1 something failed, 77 skipped (no Slurm or munge installed, not root, or
# Slurm could not be started; CHR_SLURM_REQUIRED=1 turns a skip into a failure). The temporary
# folder is removed after a pass (CHR_SLURM_KEEP=1 keeps it) and kept after a failure.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 CHROMATICA WORKDIR" >&2
  exit 2
fi
required="${CHR_SLURM_REQUIRED:-0}" keep="${CHR_SLURM_KEEP:-0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
check_py="$here/check_reports.py"

skip() {  # skip REASON: prints it (with the daemons' logs once they exist) and exits 77
  echo "skipped: $*"
  [ -n "${sdir:-}" ] && show_logs
  [ "$required" = 1 ] && { echo "CHR_SLURM_REQUIRED=1: failing instead"; exit 1; }
  exit 77
}

for c in munged munge slurmctld slurmd sbatch srun squeue sinfo scontrol scancel; do
  command -v "$c" >/dev/null 2>&1 \
    || skip "$c not found (Debian packages slurmctld slurmd slurm-client munge; bash jobs/setup.sh installs them)"
done
[ "$(id -u)" -eq 0 ] || skip "not root (slurmd and munged here run as root)"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not found"
bin="$(realpath "$1")" || { echo "FAIL: $1 not found"; exit 1; }
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }

# Nothing from a surrounding job or shell may reach the private cluster's jobs.
for v in $(compgen -e); do
  case "$v" in SLURM_*|SBATCH_*|SRUN_*|SALLOC_*|OMP_*|CHR_*) unset "$v" ;; esac
done

mkdir -p "$2" || { echo "FAIL: cannot create $2"; exit 1; }
work="$(cd "$2" && pwd)"
tmp="$(mktemp -d "$work/slurm.XXXXXX")" || { echo "FAIL: mktemp under $work"; exit 1; }
chmod 755 "$tmp"  # munged wants every directory above its socket searchable
# Unix socket paths (munge's, slurmd's spool) are limited to 108 bytes: keep the daemons' folder
# short, under /tmp if WORKDIR is deep.
if [ ${#tmp} -le 60 ]; then
  sdir="$tmp/daemons"
  mkdir "$sdir"
else
  sdir="$(mktemp -d /tmp/chr-slurm.XXXXXX)"
  chmod 755 "$sdir"
fi
mkdir -p "$sdir/munge" "$sdir/state" "$sdir/spool" "$sdir/log" "$sdir/run" "$tmp/out" \
         "$tmp/reports" "$tmp/built" "$tmp/load-study"

munged_pid="" ctld_pid="" slurmd_pid="" failures=0 passes=0 started=$SECONDS

stop_pid() {  # stop_pid PID NAME: TERM, then KILL after 10 s
  local pid="$1"
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then return 0; fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "note: $2 (pid $pid) did not stop on TERM; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
    # Jobs still queued or running (a failure or a timeout) go first, so that no job step
    # outlives slurmd.
    if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ]; then
      timeout 10 scancel --full --quiet --user=root 2>/dev/null
      for _ in $(seq 150); do [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
  fi
  stop_pid "$slurmd_pid" slurmd
  stop_pid "$ctld_pid" slurmctld
  stop_pid "$munged_pid" munged
  if [ "$rc" -eq 0 ] && [ "$keep" = 1 ]; then
    echo "kept (CHR_SLURM_KEEP=1): $tmp (daemon logs in $sdir/log)"
  elif [ "$rc" -eq 0 ]; then
    rm -rf "$tmp"
    [ "$sdir" = "$tmp/daemons" ] || rm -rf "$sdir"
  elif [ "$rc" -ne 77 ]; then
    echo "kept for inspection: $tmp (daemon logs in $sdir/log)"
  else
    rm -rf "$tmp"
    [ "$sdir" = "$tmp/daemons" ] || rm -rf "$sdir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the last lines of each daemon log (for a skip or failure that concerns the daemons).
show_logs() {
  local f
  for f in "$sdir"/log/*; do
    [ -s "$f" ] || continue
    echo "--- last lines of $f"
    tail -n 15 "$f"
  done
}

# --- munge: its own key, socket, pid, log and seed files -------------------------------------
if command -v mungekey >/dev/null 2>&1; then
  mungekey --create --keyfile="$sdir/munge/munge.key" >/dev/null 2>&1
fi
[ -s "$sdir/munge/munge.key" ] \
  || dd if=/dev/urandom of="$sdir/munge/munge.key" bs=1 count=1024 status=none
chmod 600 "$sdir/munge/munge.key"
sock="$sdir/munge/munge.socket"
# --force: munged refuses to run as root otherwise (and as root is the only way here).
munged --foreground --force --socket="$sock" --key-file="$sdir/munge/munge.key" \
  --pid-file="$sdir/munge/munged.pid" --log-file="$sdir/log/munged.log" \
  --seed-file="$sdir/munge/munged.seed" >"$sdir/log/munged.stdout" 2>&1 &
munged_pid=$!
for _ in $(seq 100); do
  munge --socket="$sock" --no-input >/dev/null 2>&1 && break
  kill -0 "$munged_pid" 2>/dev/null || break
  sleep 0.1
done
if ! munge --socket="$sock" --no-input 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1; then
  skip "munged could not be started with a private socket"
fi

# --- slurm.conf -------------------------------------------------------------------------------
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
host="$(hostname -s)"
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done
# The node's real layout (CPUs, sockets, cores, threads), without memory: a memory figure that
# later reads lower would drain the node.
node_line="$(slurmd -C 2>/dev/null | head -n 1 | sed -E 's/ RealMemory=[0-9]+//')"
case "$node_line" in
  "NodeName=$host "*CPUs=*) ;;
  *) node_line="NodeName=$host CPUs=$(nproc)" ;;
esac
ncpus="$(sed -E 's/.* CPUs=([0-9]+).*/\1/' <<<"$node_line")"
[ "$ncpus" -ge 2 ] || skip "the jobs need a node with at least 2 CPUs (this one has $ncpus)"
conf="$sdir/slurm.conf"
cat >"$conf" <<EOF
# Made by tests/slurm/slurm_jobs.sh for one test run; everything lives in $sdir.
ClusterName=chrtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$sdir/state
SlurmdSpoolDir=$sdir/spool
SlurmctldPidFile=$sdir/run/slurmctld.pid
SlurmdPidFile=$sdir/run/slurmd.pid
SlurmctldLogFile=$sdir/log/slurmctld.log
SlurmdLogFile=$sdir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
PlugStackConfig=$sdir/plugstack.conf
TmpFS=$sdir/run
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=pmix
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
: >"$sdir/plugstack.conf"
export SLURM_CONF="$conf"

# --- slurmctld and slurmd, in the foreground of background jobs: $! is the daemon -------------
slurmctld -D -i -f "$conf" >"$sdir/log/slurmctld.stdout" 2>&1 &
ctld_pid=$!
slurmd -D -N "$host" -f "$conf" >"$sdir/log/slurmd.stdout" 2>&1 &
slurmd_pid=$!
state=""
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  if ! kill -0 "$ctld_pid" 2>/dev/null || ! kill -0 "$slurmd_pid" 2>/dev/null; then break; fi
  state="$(timeout 10 sinfo -h -N -n "$host" -o %T 2>/dev/null | head -n 1)"
  [ "$state" = idle ] && break
  sleep 0.1
done
if [ "$state" != idle ]; then
  skip "Slurm did not come up (node state '${state:-none}' after $((SECONDS - started)) s)"
fi
echo "slurm: node $host idle $((SECONDS - started)) s after start (config $conf)"

# --- jobs ---------------------------------------------------------------------------------------
fixtures="$root/tests/fixtures/images"
small="$root/data/fixtures/small.h5"
built="$tmp/built/fixtures.h5"
study="$tmp/study.json"
cat >"$study" <<EOF
{"dataset": "$small",
 "queries": "tests/mpi/batch_a.json",
 "configs": [{"ranks": 1, "threads": 2, "io": "parallel"},
             {"ranks": 2, "threads": 1, "io": "scatter"},
             {"ranks": 4, "threads": 1, "io": "parallel"}]}
EOF

# sbatch runs from the repository without CHR_ROOT: the scripts must find it as the submit
# directory, and the search batch is their default (jobs/example.json, 12 queries). Every job
# prints its tasks' CPU masks (srun --cpu-bind=verbose) and its OpenMP threads' CPUs
# (OMP_DISPLAY_AFFINITY), so that the binding can be checked.
submit() {  # submit NAME VAR=VALUE... -- SBATCH-ARGS...; prints the job id
  local name="$1" vars=() id
  shift
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  id="$(cd "$root" && env CHR_BIN="$bin" CHR_CPU_BIND=verbose,cores OMP_DISPLAY_AFFINITY=TRUE \
          OMP_AFFINITY_FORMAT='omp-affinity pid %P thread %n of %N cpus %A' "${vars[@]}" \
          sbatch --parsable "$@" 2>"$tmp/out/$name.sbatch.err")"
  id="${id%%;*}"
  if [ -z "$id" ]; then
    echo "FAIL: sbatch $name: $(cat "$tmp/out/$name.sbatch.err")" >&2
    return 1
  fi
  echo "$id"
}
j_build="$(submit build CHR_IMAGES="$fixtures" CHR_DATASET="$built" CHR_BUILD_ARGS="" -- \
  --output="$tmp/out/build-%j.out" slurm/build.sbatch)"
j_s21="$(submit search-2x1 CHR_DATASET="$small" CHR_REPORT="$tmp/reports/search-2x1.json" -- \
  --ntasks=2 --cpus-per-task=1 --output="$tmp/out/search-2x1-%j.out" slurm/search.sbatch)"
j_s12="$(submit search-1x2 CHR_DATASET="$small" CHR_REPORT="$tmp/reports/search-1x2.json" \
  CHR_IO=parallel -- \
  --ntasks=1 --cpus-per-task=2 --output="$tmp/out/search-1x2-%j.out" slurm/search.sbatch)"
j_study="$(submit load-study CHR_STUDY="$study" CHR_OUT_DIR="$tmp/load-study" -- \
  --array=0-2 --output="$tmp/out/load-study-%A_%a.out" slurm/load-study.sbatch)"
# A run that fails (no such dataset) must fail the job, and leave no report. The dataset comes
# from a CHR_ENV file, which the script sources before reading its inputs.
printf 'CHR_DATASET=%q\n' "$tmp/no-such.h5" >"$tmp/site-env.sh"
j_fail="$(submit search-fail CHR_ENV="$tmp/site-env.sh" CHR_REPORT="$tmp/reports/fail.json" -- \
  --output="$tmp/out/search-fail-%j.out" slurm/search.sbatch)"
if [ -z "$j_build" ] || [ -z "$j_s21" ] || [ -z "$j_s12" ] || [ -z "$j_study" ] \
   || [ -z "$j_fail" ]; then
  show_logs
  exit 1
fi
echo "slurm: submitted build $j_build, search $j_s21 (2x1) and $j_s12 (1x2), load study" \
     "$j_study (3 elements), failing search $j_fail"

# Poll squeue until the queue is empty (every job here is ours), for at most 180 s.
deadline=$((SECONDS + 180))
while [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do
  if ! kill -0 "$ctld_pid" 2>/dev/null || ! kill -0 "$slurmd_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
left="$(timeout 10 squeue -h -o '%i %T %R' 2>/dev/null)"
echo "slurm: queue $( [ -z "$left" ] && echo empty || echo "not empty") $((SECONDS - started)) s after start"

# --- checks -------------------------------------------------------------------------------------
check() {  # check NAME COMMAND...: runs COMMAND, counts and prints the result
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    passes=$((passes + 1))
    echo "ok: $name"
  else
    failures=$((failures + 1))
    echo "FAIL: $name"
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  /'
  fi
}

queue_empty() {
  [ -z "$left" ] || { echo "still queued after 180 s:"; echo "$left"; return 1; }
}
# job_done ID N OUT-GLOB: scontrol has N records for job ID (N > 1: an array), each COMPLETED
# with exit code 0:0; on failure shows the job output.
job_done() {
  local id="$1" n="$2" glob="$3" recs bad f
  recs="$(scontrol show job -o "$id" 2>&1)"
  bad="$(printf '%s\n' "$recs" | grep -v -E 'JobState=COMPLETED .*ExitCode=0:0 ' || true)"
  if [ "$(printf '%s\n' "$recs" | grep -c 'JobState=')" -ne "$n" ] || [ -n "$bad" ]; then
    printf '%s\n' "$recs" | while read -r l; do
      echo "  $(grep -o -E '^JobId=[^ ]+|ArrayTaskId=[^ ]+|JobState=[^ ]+|Reason=[^ ]+|ExitCode=[^ ]+' <<<"$l" | paste -sd ' ' -)"
    done
    echo "  expected $n record(s), each JobState=COMPLETED ExitCode=0:0"
    for f in $glob; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
    return 1
  fi
}
# says OUT-FILE TEXT: the job output names its result.
says() { grep -qF -- "$2" "$1" || { echo "$1 does not say '$2':"; tail -n 5 "$1"; return 1; }; }
report() { /usr/bin/python3 "$check_py" report "$@"; }
same() { /usr/bin/python3 "$check_py" same "$@"; }
binding() { /usr/bin/python3 "$check_py" binding "$@"; }
job_failed() {  # job_failed ID OUT: the job FAILED with exit code 1, said so, wrote no report
  local rec
  rec="$(scontrol show job -o "$1" 2>&1)"
  grep -qE 'JobState=FAILED .*ExitCode=1:0 ' <<<"$rec" \
    || { echo "expected JobState=FAILED ExitCode=1:0:"; grep -oE 'JobState=[^ ]+|ExitCode=[^ ]+' <<<"$rec"; return 1; }
  says "$2" "dataset $tmp/no-such.h5," || return 1
  says "$2" "chromatica search failed (exit code 1)" || return 1
  [ ! -e "$tmp/reports/fail.json" ] || { echo "a report was written"; return 1; }
}
built_ok() {
  "$bin" info "$built" || return 1
  [ -s "$built.log.json" ] || { echo "no build log $built.log.json"; return 1; }
  # The same images indexed by a singleton run: the file must be the same (see README).
  command -v h5diff >/dev/null 2>&1 || return 0
  OMP_NUM_THREADS=1 "$bin" build "$fixtures" -o "$tmp/built/direct.h5" >/dev/null \
    && h5diff "$built" "$tmp/built/direct.h5"
}

sr="$tmp/reports"
ls_dir="$tmp/load-study"
check "queue drained within 180 s" queue_empty
check "build.sbatch job $j_build completed" job_done "$j_build" 1 "$tmp/out/build-*.out"
check "search.sbatch job $j_s21 (2 x 1) completed" job_done "$j_s21" 1 "$tmp/out/search-2x1-*.out"
check "search.sbatch job $j_s12 (1 x 2) completed" job_done "$j_s12" 1 "$tmp/out/search-1x2-*.out"
check "load-study.sbatch array $j_study completed (3 elements)" \
  job_done "$j_study" 3 "$tmp/out/load-study-*.out"
check "build output names the dataset" says "$tmp/out/build-$j_build.out" "the dataset is $built"
check "built dataset passes chromatica info and equals a singleton build" built_ok
check "search 2 x 1 output names the report" \
  says "$tmp/out/search-2x1-$j_s21.out" "the report is $sr/search-2x1.json"
check "search 2 x 1 report: 12 queries, 2 ranks x 1 thread, scatter" \
  report "$sr/search-2x1.json" 2 1 scatter 12
check "search 1 x 2 report: 12 queries, 1 rank x 2 threads, parallel" \
  report "$sr/search-1x2.json" 1 2 parallel 12
check "search reports give identical answers" same "$sr/search-2x1.json" "$sr/search-1x2.json"
check "search 2 x 1: each rank and its thread pinned to a CPU of its own" \
  binding "$tmp/out/search-2x1-$j_s21.out" 2 1 pinned
check "search 1 x 2: the rank holds 2 CPUs, its 2 threads one each" \
  binding "$tmp/out/search-1x2-$j_s12.out" 1 2 pinned
check "build 2 x 1: each rank and its thread pinned to a CPU of its own" \
  binding "$tmp/out/build-$j_build.out" 2 1 pinned
check "search on a missing dataset (from CHR_ENV): job FAILED with exit code 1, no report" \
  job_failed "$j_fail" "$tmp/out/search-fail-$j_fail.out"
check "load study config 0 report: 1 rank x 2 threads, parallel" \
  report "$ls_dir/config-0.json" 1 2 parallel
check "load study config 1 report: 2 ranks x 1 thread, scatter" \
  report "$ls_dir/config-1.json" 2 1 scatter
check "load study config 2 report: 4 ranks x 1 thread, parallel" \
  report "$ls_dir/config-2.json" 4 1 parallel
check "load study config 0: the rank holds 2 CPUs, its 2 threads one each" \
  binding "$tmp/out/load-study-${j_study}_0.out" 1 2 pinned
check "load study config 1: each rank and its thread pinned to a CPU of its own" \
  binding "$tmp/out/load-study-${j_study}_1.out" 2 1 pinned
# 4 ranks overcommit a node of fewer than 4 CPUs (as here: 2): then threads must not be pinned.
if [ "$ncpus" -lt 4 ]; then
  check "load study config 2 (overcommitted): threads not pinned, on their rank's CPUs" \
    binding "$tmp/out/load-study-${j_study}_2.out" 4 1 shared
  check "load study config 2 (overcommitted): OMP_PROC_BIND=false" \
    says "$tmp/out/load-study-${j_study}_2.out" "OMP_PROC_BIND=false"
else
  check "load study config 2 ($ncpus CPUs, not overcommitted): each rank and thread pinned" \
    binding "$tmp/out/load-study-${j_study}_2.out" 4 1 pinned
fi
check "load study reports give identical answers" \
  same "$ls_dir/config-0.json" "$ls_dir/config-1.json" "$ls_dir/config-2.json"

echo "$passes passed, $failures failed ($((SECONDS - started)) s)"
if [ "$failures" -ne 0 ]; then
  show_logs
  exit 1
fi
exit 0
