#!/usr/bin/env python3
"""How well each lower bound orders a candidate pool, on a real dataset (README, "Answers on
real images"). For every query of a batch and every ordering (Hellinger ann_score, and the EMD
lower bounds: centroid, relaxed/RWMD, ICT image and query sides, 1-D marginal W1 along L, a and
b, and the maximum of them), prints the mean pool recall at R = 50 ... 1600 (the share of the
true top-k inside the first R images of that order) and, for the bounds, how many images have a
bound below the true k-th distance (the images any bound-ordered exact search must solve or
tighten) and how many true top-k images a bound wrongly exceeds (must be 0). The truth is a
`chromatica search` report of the same batch with "candidates": "bounds", "metric": "emd".
Pure numpy, written from the definitions (independent of the C code); a few minutes per 10k
images and 50 queries.

usage: bound_pools.py DATASET.h5 TRUTH_REPORT.json BATCH.json
"""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reference as R  # noqa: E402

RS = [50, 100, 200, 400, 800, 1600]


def marginals(H):
    flat = np.arange(R.NBINS)
    axes = [(flat // 144, 8), ((flat // 12) % 12, 12), (flat % 12, 12)]
    return [np.stack([H[:, idx == j].sum(1) for j in range(n)], 1) for idx, n in axes]


def orderings(q, X, C, cent, MX):
    sup = np.flatnonzero(q)
    a = q[sup]
    Cq = C[sup]
    b = {"hellinger": R.ann_scores(q, X),
         "centroid": np.sqrt(((cent - q @ R.CENTRES) ** 2).sum(1))}
    rw_img = X @ Cq.min(0)
    rw_q = sum(ai * np.where(X > 0, Cq[i][None, :], np.inf).min(1) for i, ai in enumerate(a))
    b["relaxed"] = np.maximum(rw_img, rw_q)
    order = np.argsort(Cq, axis=0, kind="stable")
    S, Qs = np.take_along_axis(Cq, order, 0), a[order]
    Qc = np.cumsum(Qs, 0) - Qs
    b["ict_image"] = sum(np.clip(X - Qc[r][None, :], 0, Qs[r][None, :]) @ S[r]
                         for r in range(len(sup)))
    ict_q = np.zeros(X.shape[0])
    for i, ai in enumerate(a):
        o = np.argsort(Cq[i], kind="stable")
        Xo = X[:, o]
        ict_q += np.clip(ai - (np.cumsum(Xo, 1) - Xo), 0, Xo) @ Cq[i][o]
    b["ict_query"] = ict_q
    widths = [(hi - lo) / n for (lo, hi), n in zip(R.RANGES, R.NB)]
    qm = marginals(q[None, :])
    b["marginal_w1"] = np.max([np.abs(np.cumsum(MX[d] - qm[d], 1)[:, :-1]).sum(1) * widths[d]
                               for d in range(3)], 0)
    b["max_of_all"] = np.maximum.reduce([b[k] for k in b if k != "hellinger"])
    return b


def main(argv):
    dataset, truth_path, batch_path = argv[1:4]
    with h5py.File(dataset, "r") as f:
        X = f["histograms"][()].astype(np.float64)
        ids = [s.decode() if isinstance(s, bytes) else s for s in f["image_ids"][()]]
    X /= X.sum(1, keepdims=True)
    row = {s: i for i, s in enumerate(ids)}
    truth = json.load(open(truth_path))["results"]
    queries = json.load(open(batch_path))["queries"]
    C = R.ground_cost(np.arange(R.NBINS), np.arange(R.NBINS))
    cent, MX, N = X @ R.CENTRES, marginals(X), X.shape[0]
    stats = {}
    for spec, res in zip(queries, truth):
        if not res.get("success"):
            continue
        colours = spec["colors"].split(",") if isinstance(spec["colors"], str) else spec["colors"]
        w = spec.get("weights")
        w = ([float(x) for x in w.split(",")] if isinstance(w, str) else w) or [1.0] * len(colours)
        q = R.query_histogram(colours, w, spec.get("sharpen", 1.0))
        top = [row[r["image_id"]] for r in res["results"]]
        dist = np.array([r["distance"] for r in res["results"]])
        for name, v in orderings(q, X, C, cent, MX).items():
            s = stats.setdefault(name, {"pool": {r: [] for r in RS}, "need": [], "above": 0})
            pos = np.empty(N, int)
            pos[np.lexsort((np.arange(N), v))] = np.arange(N)
            for r in RS:
                s["pool"][r].append(np.mean([pos[t] < r for t in top]))
            if name != "hellinger":
                s["need"].append(int((v < dist[-1]).sum()))
                s["above"] += int((v[top] > dist + 1e-9 * (1 + dist)).sum())
    print("%-12s %s %s" % ("ordering", " ".join("R=%-5d" % r for r in RS), " below k-th (mean/max)"))
    for name, s in stats.items():
        line = "%-12s %s" % (name, " ".join("%-7.3f" % np.mean(s["pool"][r]) for r in RS))
        if s["need"]:
            line += "  %6.0f / %-6d bound above truth: %d" % (np.mean(s["need"]), max(s["need"]),
                                                               s["above"])
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
