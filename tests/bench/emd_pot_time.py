#!/usr/bin/python3
"""POT's ot.emd2 on the pairs bench_emd wrote ("qbins;qmass;bins;mass;distance"), each timed 3
times (fastest kept), as the peer benchmark builds the cost matrix; prints the median and the
largest relative difference from Chromatica's distances. usage: emd_pot_time.py PAIRS.txt"""
import sys, time, statistics
import numpy as np, ot
AXES = [(8, 0.0, 100.0), (12, -86.0, 98.0), (12, -108.0, 95.0)]
idx = np.arange(1152)
parts = (idx // 144, (idx // 12) % 12, idx % 12)
grid = np.stack([lo + (j + 0.5) * ((hi - lo) / n) for j, (n, lo, hi) in zip(parts, AXES)], 1)
ms, rel = [], []
for line in open(sys.argv[1]):
    qb, qm, xb, xm, d = line.strip().split(";")
    qb = np.array([int(v) for v in qb.split(",")]); xb = np.array([int(v) for v in xb.split(",")])
    a = np.array([float(v) for v in qm.split(",")])
    b = np.array([float(np.float32(v)) for v in xm.split(",")]); b = b / sum(b.tolist())
    cost = np.sqrt(((grid[qb][:, None, :] - grid[xb][None, :, :]) ** 2).sum(2))
    best = 1e9
    for r in range(3):
        t = time.perf_counter(); ref = float(ot.emd2(a, b, cost, numItermax=10_000_000)); best = min(best, time.perf_counter() - t)
    ms.append(best * 1e3); rel.append(abs(ref - float(d)) / abs(ref))
print(f"POT ot.emd2: {len(ms)} pairs median {statistics.median(ms):.4f} ms mean {statistics.mean(ms):.4f}; max rel diff {max(rel):.2e}")
