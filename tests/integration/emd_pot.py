#!/usr/bin/python3
"""Checks chr_emd against POT's exact solver (ot.emd2).

Reads lines "qbins;qmass;bins;mass;distance" (lists comma-separated) from the file named on
the command line, or stdin; test_emd writes such a file to $CHR_EMD_DUMP. The image mass is
given as float32 values and renormalised in double, as chr_emd does. Exits 1 if any distance
differs from ot.emd2 by more than 1e-9 relative."""
import sys

import numpy as np
import ot

# The 8 x 12 x 12 Lab grid of spec section 2 (include/chromatica/grid.h), L slowest.
AXES = [(8, 0.0, 100.0), (12, -86.0, 98.0), (12, -108.0, 95.0)]


def centre(b):
    idx = (b // 144, (b // 12) % 12, b % 12)
    return [lo + (j + 0.5) * ((hi - lo) / n) for j, (n, lo, hi) in zip(idx, AXES)]


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    worst, count, bad = 0.0, 0, 0
    for line in src:
        line = line.strip()
        if not line:
            continue
        qb, qm, xb, xm, dist = line.split(";")
        qb = [int(v) for v in qb.split(",")]
        xb = [int(v) for v in xb.split(",")]
        a = np.array([float(v) for v in qm.split(",")])
        b = np.array([float(np.float32(v)) for v in xm.split(",")])
        b = b / sum(b.tolist())
        cq = np.array([centre(v) for v in qb])
        cx = np.array([centre(v) for v in xb])
        cost = np.sqrt(((cq[:, None, :] - cx[None, :, :]) ** 2).sum(axis=2))
        ref = float(ot.emd2(a, b, cost, numItermax=10_000_000))
        rel = abs(float(dist) - ref) / max(abs(ref), 1e-300)
        worst = max(worst, rel)
        count += 1
        if rel > 1e-9:
            bad += 1
            print(f"line {count}: chr_emd {float(dist)!r}, ot.emd2 {ref!r}, rel {rel:.3g}")
    print(f"emd_pot: {count} pairs, max relative error {worst:.3g}, {bad} over 1e-9")
    return 1 if bad or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
