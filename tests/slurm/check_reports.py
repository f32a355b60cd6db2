#!/usr/bin/python3
"""Checks for the reports of the Slurm jobs (tests/slurm/slurm_jobs.sh).

  check_reports.py report FILE RANKS THREADS IO [QUERIES]
      FILE parses as JSON, has successful_queries > 0 (and total_queries == QUERIES when
      given), and its run section says RANKS ranks x THREADS threads per rank, io mode IO.
  check_reports.py same FILE FILE...
      The reports give the same answers: per query (in order) its id, success and the results'
      image_id and distance, exactly (timing fields aside, reports are identical at any rank,
      thread count and io mode; see the README's Determinism).
  check_reports.py binding OUTPUT RANKS THREADS pinned|shared
      From the job output's srun --cpu-bind=verbose lines (each rank's CPU mask and pid) and
      OpenMP affinity lines (OMP_DISPLAY_AFFINITY, format "omp-affinity pid %P thread %n of %N
      cpus %A"): there are RANKS ranks with THREADS threads each and every thread runs on its
      own rank's CPUs. pinned: the ranks' CPUs are disjoint, each rank holds at least
      THREADS CPUs (cores may hold several hardware threads) and each thread runs on one CPU
      of its own. shared (overcommitted): each thread may use all of its rank's CPUs. With one
      thread per rank libgomp prints no affinity line; the rank's mask stands for its thread.

Prints one line saying what is wrong and exits 1 on failure; exits 0 silently otherwise.
"""
import json
import re
import sys


def fail(msg):
    print(msg)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: not a readable JSON report (%s)" % (path, e))


def check_report(path, ranks, threads, io, queries=None):
    r = load(path)
    ok = r.get("successful_queries")
    if not isinstance(ok, int) or ok <= 0:
        fail("%s: successful_queries is %r, expected > 0" % (path, ok))
    if queries is not None and r.get("total_queries") != int(queries):
        fail("%s: total_queries is %r, expected %s" % (path, r.get("total_queries"), queries))
    run = r.get("run") or {}
    got = (run.get("ranks"), run.get("threads_per_rank"), run.get("io_mode"))
    want = (int(ranks), int(threads), io)
    if got != want:
        fail("%s: run is %r ranks x %r threads, io %r; expected %r x %r, io %r"
             % ((path,) + got + want))


def answers(path):
    r = load(path)
    out = []
    for q in r.get("results", []):
        hits = [(h.get("image_id"), h.get("distance")) for h in q.get("results") or []]
        out.append((q.get("query_id"), q.get("success"), hits))
    if not out:
        fail("%s: no results" % path)
    return out


def check_same(paths):
    ref = answers(paths[0])
    for p in paths[1:]:
        other = answers(p)
        if len(other) != len(ref):
            fail("%s has %d queries, %s has %d" % (paths[0], len(ref), p, len(other)))
        for a, b in zip(ref, other):
            if a != b:
                fail("query %r differs between %s and %s: %r vs %r"
                     % (a[0], paths[0], p, a[2][:3], b[2][:3]))


def cpu_list(text):
    """'0,2-3' -> {0, 2, 3}"""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def check_binding(path, ranks, threads, mode):
    ranks, threads = int(ranks), int(threads)
    try:
        text = open(path, errors="replace").read()
    except OSError as e:
        fail("%s: %s" % (path, e))
    # srun --cpu-bind=verbose: "cpu-bind=MASK - vm, task  1  1 [4242]: mask 0x2 set"
    tasks = {}
    for m in re.finditer(r"cpu-bind[-a-z]*=\S+ - \S+ task +(\d+) +\d+ \[(\d+)\]: "
                         r"mask (0x[0-9a-fA-F]+) set", text):
        mask = int(m.group(3), 16)
        tasks[int(m.group(1))] = (int(m.group(2)), {c for c in range(mask.bit_length())
                                                    if mask >> c & 1})
    if sorted(tasks) != list(range(ranks)):
        fail("%s: expected srun --cpu-bind=verbose masks for tasks 0..%d, found tasks %s"
             % (path, ranks - 1, sorted(tasks)))
    # OMP_DISPLAY_AFFINITY with OMP_AFFINITY_FORMAT="omp-affinity pid %P thread %n of %N cpus %A"
    seen = {}
    for m in re.finditer(r"omp-affinity pid (\d+) thread (\d+) of \d+ cpus ([0-9,-]+)", text):
        key = (int(m.group(1)), int(m.group(2)))
        seen[key] = seen.get(key, set()) | cpu_list(m.group(3))
    used = set()
    for t, (pid, mask) in sorted(tasks.items()):
        mine = {n: c for (p, n), c in seen.items() if p == pid}
        if threads == 1 and not mine:
            # libgomp shows affinity when it starts a team, never for a team of one: the only
            # thread then runs on its rank's CPUs (the caller checks OMP_PROC_BIND for shared).
            mine = {0: mask}
        if sorted(mine) != list(range(threads)):
            fail("%s: rank %d (pid %d) shows OpenMP threads %s, expected 0..%d"
                 % (path, t, pid, sorted(mine), threads - 1))
        for n, cpus in sorted(mine.items()):
            if not cpus <= mask:
                fail("%s: rank %d thread %d runs on CPUs %s, outside its rank's CPUs %s"
                     % (path, t, n, sorted(cpus), sorted(mask)))
            if mode == "pinned" and len(cpus) != 1:
                fail("%s: rank %d thread %d may run on CPUs %s, expected one CPU"
                     % (path, t, n, sorted(cpus)))
            if mode == "pinned" and cpus & used:
                fail("%s: rank %d thread %d shares CPU %s with another thread"
                     % (path, t, n, sorted(cpus)))
            if mode == "shared" and cpus != mask:
                fail("%s: rank %d thread %d is pinned to CPUs %s, expected its rank's %s "
                     "(overcommitted ranks must leave threads to the kernel)"
                     % (path, t, n, sorted(cpus), sorted(mask)))
            used |= cpus
        if mode == "pinned" and len(mask) < threads:
            fail("%s: rank %d is bound to CPUs %s, fewer than its %d thread(s)"
                 % (path, t, sorted(mask), threads))
    if mode == "pinned":
        masks = [m for _, m in tasks.values()]
        for i, a in enumerate(masks):
            for b in masks[i + 1:]:
                if a & b:
                    fail("%s: ranks share CPUs: %s" % (path, [sorted(m) for m in masks]))


def main(argv):
    if len(argv) >= 6 and argv[1] == "report":
        check_report(*argv[2:])
    elif len(argv) >= 4 and argv[1] == "same":
        check_same(argv[2:])
    elif len(argv) == 6 and argv[1] == "binding" and argv[5] in ("pinned", "shared"):
        check_binding(*argv[2:])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv)
