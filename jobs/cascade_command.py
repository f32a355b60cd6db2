#!/usr/bin/env python3
"""The default search (cascade stage + exact EMD above 10,000 images) against fast mode on the
command path (README, "The cascade on large collections"): COUNT random palettes
(jobs/make_random_palettes.py COUNT SEED, waves of 10), searched once with the default options
and once with fast_mode, 1 rank, OMP_NUM_THREADS=1, REPEATS times in turn; prints per run the
medians of the report metadata's ann_time_ms, rerank_time_ms and total_time_ms (wall clock), the
process CPU time (getrusage of the child: includes loading the dataset) and the load average
before the run, then the cascade's ann ratio to fast mode's per repeat.

usage: /usr/bin/python3 jobs/cascade_command.py CHROMATICA DATASET.h5 WORKDIR [COUNT] [SEED]
       [REPEATS]"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

binary, dataset, work = sys.argv[1:4]
count = sys.argv[4] if len(sys.argv) > 4 else "100"
seed = sys.argv[5] if len(sys.argv) > 5 else "7"
repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
os.makedirs(work, exist_ok=True)
default = os.path.join(work, "palettes.json")
subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "make_random_palettes.py"),
                count, seed, default], check=True, stdout=subprocess.DEVNULL)
batch = json.load(open(default))
fast = os.path.join(work, "palettes_fast.json")
json.dump(dict(batch, queries=[dict(q, fast_mode=True) for q in batch["queries"]]), open(fast, "w"))
env = dict(os.environ, OMP_NUM_THREADS="1")
for rep in range(repeats):
    ann = {}
    for tag, queries in [("default", default), ("fast", fast)]:
        out = os.path.join(work, f"report_{tag}.json")
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.time()
        subprocess.run([binary, "search", "--dataset", dataset, "--queries", queries, "--out", out],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        wall = time.time() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        meta = [r["metadata"] for r in json.load(open(out))["results"]]
        med = {k: statistics.median(m[k] for m in meta)
               for k in ("ann_time_ms", "rerank_time_ms", "total_time_ms")}
        ann[tag] = med["ann_time_ms"]
        print(f"run {rep + 1}: {tag:7s} ({meta[0]['candidate_stage']}) ann {med['ann_time_ms']:.2f} ms, "
              f"rerank {med['rerank_time_ms']:.2f} ms, total {med['total_time_ms']:.2f} ms; process CPU "
              f"{cpu:.2f} s, wall {wall:.2f} s; load average {load:.2f}", flush=True)
    print(f"run {rep + 1}: default ann / fast-mode ann = {ann['default'] / ann['fast']:.2f}x")
