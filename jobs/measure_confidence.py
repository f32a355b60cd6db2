#!/usr/bin/env python3
"""Measures what `confidence` says on a real collection (README, "Decisions", confidence).

Queries: N images' own dominant palettes (the dataset's /palettes and /palette_weights, seeded
sample of distinct histograms) and the 50 seeded random palettes of jobs/eval_random.json, each
with k = 200 and the default options. Prints, as a Markdown table, the distribution (median, 10th
and 90th percentiles) of the confidence of: the image whose palette is the query (found in the
results, or its duplicate group's representative), the top-1 of each set, and rank 200 (at most
the confidence of 97% of a 6,892-image collection, the unrelated images).

usage: /usr/bin/python3 jobs/measure_confidence.py CHROMATICA DATASET.h5 WORKDIR [N] [SEED]"""
import json
import os
import random
import subprocess
import sys

import h5py
import numpy as np


def run(binary, dataset, batch, out):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    subprocess.run([binary, "search", "--dataset", dataset, "--queries", batch, "--out", out],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return json.load(open(out))


def stats(values):
    v = np.array(values, dtype=float)
    return (len(v), np.median(v), np.percentile(v, 10), np.percentile(v, 90))


def main(argv):
    binary, dataset, work = argv[1], argv[2], argv[3]
    n = int(argv[4]) if len(argv) > 4 else 200
    seed = int(argv[5]) if len(argv) > 5 else 2026
    os.makedirs(work, exist_ok=True)
    with h5py.File(dataset, "r") as f:
        hist = f["histograms"][:]
        pal, pw = f["palettes"][:], f["palette_weights"][:]
        ids = [x.decode() if isinstance(x, bytes) else str(x) for x in f["image_ids"][:]]
    _, first = np.unique(hist, axis=0, return_index=True)
    rows = sorted(random.Random(seed).sample(sorted(first.tolist()), n))
    queries = []
    for r in rows:
        keep = [j for j in range(pal.shape[1]) if pw[r, j] >= 1e-4]
        queries.append({"id": f"own-{r}", "k": 200,
                        "colors": ",".join("%02x%02x%02x" % tuple(pal[r, j]) for j in keep),
                        "weights": ",".join(f"{pw[r, j]:.6g}" for j in keep)})
    own_batch = os.path.join(work, "own.json")
    json.dump({"queries": queries, "max_concurrent": 10}, open(own_batch, "w"))
    here = os.path.dirname(os.path.abspath(__file__))
    rnd = json.load(open(os.path.join(here, "eval_random.json")))
    for q in rnd["queries"]:
        q["k"] = 200
    rnd_batch = os.path.join(work, "random.json")
    json.dump(rnd, open(rnd_batch, "w"))
    own = run(binary, dataset, own_batch, os.path.join(work, "own-report.json"))
    ran = run(binary, dataset, rnd_batch, os.path.join(work, "random-report.json"))
    mine, missing, own_rank1 = [], 0, 0
    for q, r in zip(own["results"], rows):
        found = [h for h in q["results"]
                 if h["image_id"] == ids[r] or ids[r] in h.get("duplicates", [])]
        if found:
            mine.append(found[0]["confidence"])
            own_rank1 += found[0]["rank"] == 1
        else:
            missing += 1
    table = [
        ("own palette: the image itself", mine),
        ("own palette: top-1", [q["results"][0]["confidence"] for q in own["results"]]),
        ("own palette: rank 200", [q["results"][-1]["confidence"] for q in own["results"]]),
        ("random palette: top-1", [q["results"][0]["confidence"] for q in ran["results"]]),
        ("random palette: rank 10", [q["results"][9]["confidence"] for q in ran["results"]]),
        ("random palette: rank 200", [q["results"][-1]["confidence"] for q in ran["results"]]),
    ]
    print("| results | n | median | 10th pct | 90th pct |")
    print("|---|---:|---:|---:|---:|")
    for name, values in table:
        c, med, lo, hi = stats(values)
        print(f"| {name} | {c} | {med:.3f} | {lo:.3f} | {hi:.3f} |")
    print(f"\nown image at rank 1: {own_rank1}/{n}; not in the top 200: {missing}/{n}")
    d = [h["distance"] for q in own["results"] for h in q["results"][:1]]
    print(f"own palette top-1 distance (ΔE): median {np.median(d):.2f}")


if __name__ == "__main__":
    main(sys.argv)
