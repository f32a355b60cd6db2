#!/usr/bin/env python3
"""The cascade candidate stage's cost against stage 1 in the search's own metadata (README,
"Answers on real images"): the same random palettes three times (fast_mode; candidates
"cascade"; candidates "hellinger"), answered one query at a time (max_concurrent 1) and in waves
of 10, 1 rank, OMP_NUM_THREADS=1; prints the median ann_time_ms, rerank_time_ms and
total_time_ms of each third and the cascade's ann ratio to fast mode's.

usage: /usr/bin/python3 jobs/cascade_cost.py CHROMATICA DATASET.h5 WORKDIR [COUNT] [SEED]"""
import json
import os
import random
import statistics
import subprocess
import sys

binary, dataset, work = sys.argv[1:4]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 30
rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 7)
os.makedirs(work, exist_ok=True)
palettes = []
for i in range(count):  # as jobs/make_random_palettes.py
    n = rng.randint(1, 5)
    colours = ",".join(f"{rng.randrange(1 << 24):06x}" for _ in range(n))
    weights = ",".join(f"{rng.uniform(0.05, 1.0):.3f}" for _ in range(n))
    palettes.append({"id": f"random-{i:02d}", "colors": colours, "weights": weights, "k": 10})
STAGES = [("fast", {"fast_mode": True}), ("cascade", {"candidates": "cascade"}),
          ("hellinger", {"candidates": "hellinger"})]
queries = [dict(p, id=f"{p['id']}-{tag}", **extra) for tag, extra in STAGES for p in palettes]
env = dict(os.environ, OMP_NUM_THREADS="1")
for label, concurrent in [("one at a time", 1), ("waves of 10", 10)]:
    batch = os.path.join(work, f"mix_{concurrent}.json")
    out = os.path.join(work, f"mix_{concurrent}_report.json")
    json.dump({"queries": queries, "max_concurrent": concurrent}, open(batch, "w"))
    subprocess.run([binary, "search", "--dataset", dataset, "--queries", batch, "--out", out],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    results = json.load(open(out))["results"]
    ann = {}
    for tag, _ in STAGES:
        mine = [r["metadata"] for r in results if r["query_id"].endswith("-" + tag)]
        med = {k: statistics.median(m[k] for m in mine)
               for k in ("ann_time_ms", "rerank_time_ms", "total_time_ms")}
        ann[tag] = med["ann_time_ms"]
        print(f"{label}: {tag:9s} ({mine[0]['candidate_stage']}) ann {med['ann_time_ms']:.2f} ms, "
              f"rerank {med['rerank_time_ms']:.2f} ms, total {med['total_time_ms']:.2f} ms")
    print(f"{label}: cascade ann / fast-mode ann = {ann['cascade'] / ann['fast']:.2f}x")
