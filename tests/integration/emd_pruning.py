#!/usr/bin/python3
"""Pruning never changes the exact EMD answer, and rerank_scope "all" is the brute-force top-k.

usage: emd_pruning.py CHROMATICA DATASET.h5 WORKDIR

1. A seeded batch of exact-EMD queries (stages hellinger, bounds, cascade and the default,
   k 1-20, rerank_k 5-300)
   is answered with emd_prune true and false, at 1 rank and at 3 ranks x 3 shards; every answer
   (ids, order, distances, ann scores) must be identical, the unpruned runs must prune nothing,
   the pruned runs must prune something, and pruned counts must agree across rank counts.
2. Every answer of the bounds stage (rerank_scope "all", and the default stage "auto" on this
   400-image dataset) equals the brute-force top-k computed here with POT's ot.emd2 over every
   image of the dataset (ids and order; distances within 1e-9 relative).
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import ot

AXES = [(8, 0.0, 100.0), (12, -86.0, 98.0), (12, -108.0, 95.0)]
MPI = ["mpirun", "--oversubscribe", "--bind-to", "none", "--allow-run-as-root"]


def centres():
    idx = np.arange(1152)
    parts = (idx // 144, (idx // 12) % 12, idx % 12)
    return np.stack([lo + (j + 0.5) * ((hi - lo) / n) for j, (n, lo, hi) in zip(parts, AXES)], 1)


def batch(prune):
    rng = np.random.default_rng(5)
    queries = []
    for i in range(12):
        n = int(rng.integers(1, 4))
        colours = ",".join(f"{int(c):06x}" for c in rng.integers(0, 1 << 24, size=n))
        q = {"id": f"q{i}", "colors": colours, "k": int(rng.integers(1, 21)), "emd_prune": prune}
        if i % 3 == 0:
            q["rerank_scope"] = "all"
        elif i % 3 == 1:
            q["candidates"] = "hellinger"
            q["rerank_k"] = int(rng.integers(5, 301))
        # else: the default stage, "auto", which is "bounds" on a dataset this small
        queries.append(q)
    # The cascade stage (issue 14), from its own generator so the queries above stay the same.
    rng = np.random.default_rng(6)
    for i in range(4):
        n = int(rng.integers(1, 6))
        colours = ",".join(f"{int(c):06x}" for c in rng.integers(0, 1 << 24, size=n))
        queries.append({"id": f"c{i}", "colors": colours, "k": int(rng.integers(1, 21)),
                        "rerank_k": int(rng.integers(5, 120)), "candidates": "cascade",
                        "emd_prune": prune})
    return {"queries": queries, "max_concurrent": 4, "options": {"metric": "emd"}}


def search(binary, dataset, batch_path, out, ranks, shards):
    cmd = [binary, "search", "--dataset", dataset, "--queries", batch_path, "--out", out]
    if ranks > 1:
        cmd = MPI + ["-np", str(ranks), "-x", "OMP_NUM_THREADS=1"] + cmd + ["--shards", str(shards)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.load(open(out))["results"]


def answers(results):
    return [[(h["image_id"], h["distance"], h["ann_score"]) for h in r["results"]] for r in results]


def query_histogram(binary, query):
    out = subprocess.run([binary, "histogram", "--colors", query["colors"]], check=True,
                         capture_output=True, text=True).stdout
    bins = json.loads(out)["histogram"]
    return np.array([b["bin"] for b in bins]), np.array([b["mass"] for b in bins])


def main(binary, dataset, work):
    os.makedirs(work, exist_ok=True)
    failures = []
    runs = {}
    for prune in (True, False):
        path = os.path.join(work, f"batch_{prune}.json")
        json.dump(batch(prune), open(path, "w"))
        runs[(prune, 1)] = search(binary, dataset, path, path + ".p1.out", 1, 1)
        runs[(prune, 3)] = search(binary, dataset, path, path + ".p3.out", 3, 3)
    base = answers(runs[(False, 1)])
    for key, results in runs.items():
        if answers(results) != base:
            failures.append(f"emd_prune={key[0]} at {key[1]} ranks: answers differ from unpruned")
        pruned = sum(r["metadata"]["pruned_candidates"] for r in results)
        if key[0] and pruned == 0:
            failures.append(f"emd_prune=true at {key[1]} ranks pruned nothing")
        if not key[0] and pruned != 0:
            failures.append(f"emd_prune=false at {key[1]} ranks pruned {pruned}")
    counts = [[r["metadata"]["pruned_candidates"] for r in runs[(True, p)]] for p in (1, 3)]
    if counts[0] != counts[1]:
        failures.append(f"pruned counts differ between 1 and 3 ranks: {counts}")

    with h5py.File(dataset, "r") as f:
        rows = f["histograms"][:].astype(np.float64)
        ids = [s.decode() for s in f["image_ids"][:]]
    grid = centres()
    checked = 0
    for q, r in zip(batch(True)["queries"], runs[(True, 1)]):
        if q.get("candidates") in ("hellinger", "cascade"):
            continue  # a pool's answer is checked against the unpruned run above
        if r["metadata"]["candidate_stage"] != "bounds":
            failures.append(f"{q['id']}: candidate stage {r['metadata']['candidate_stage']} "
                            "(expected bounds: rerank_scope all, or the default on 400 images)")
        qb, qm = query_histogram(binary, q)
        dists = []
        for i, row in enumerate(rows):
            xb = np.nonzero(row)[0]
            xm = row[xb] / row[xb].sum()
            cost = np.sqrt(((grid[qb][:, None, :] - grid[xb][None, :, :]) ** 2).sum(axis=2))
            dists.append((float(ot.emd2(qm, xm, cost, numItermax=10_000_000)), i))
        dists.sort()
        expect = dists[: q["k"]]
        got = [(h["distance"], h["image_id"]) for h in r["results"]]
        ok = [ids[i] for _, i in expect] == [g[1] for g in got] and all(
            abs(d - g[0]) <= 1e-9 * max(d, 1e-12) for (d, _), g in zip(expect, got))
        if not ok:
            failures.append(f"{q['id']}: top-{q['k']} {got[:3]}... differs from brute force "
                            f"{[(d, ids[i]) for d, i in expect[:3]]}...")
        checked += 1
    for f in failures:
        print("FAIL:", f)
    total_pruned = sum(r["metadata"]["pruned_candidates"] for r in runs[(True, 1)])
    total = sum(r["metadata"]["candidates"] for r in runs[(True, 1)])
    print(f"emd_pruning: {len(runs)} runs identical; pruned {total_pruned} of {total} candidates; "
          f"{checked} bounds-stage answers equal the POT brute force" if not failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
