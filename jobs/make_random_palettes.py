#!/usr/bin/env python3
"""Writes jobs/eval_random.json: 50 seeded random palettes (1-5 colours, random weights, k 10),
the random half of the standard evaluation sets. Deterministic: rerunning rewrites the same file.

usage: /usr/bin/python3 jobs/make_random_palettes.py [COUNT] [SEED] [OUT]   (OUT defaults to
jobs/eval_random.json)"""
import json
import os
import random
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
rng = random.Random(seed)
queries = []
for i in range(count):
    n = rng.randint(1, 5)
    colours = ",".join(f"{rng.randrange(1 << 24):06x}" for _ in range(n))
    weights = ",".join(f"{rng.uniform(0.05, 1.0):.3f}" for _ in range(n))
    queries.append({"id": f"random-{i:02d}", "colors": colours, "weights": weights, "k": 10})
out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                          "eval_random.json")
with open(out, "w") as f:
    json.dump({"queries": queries, "max_concurrent": 10}, f, indent=1)
    f.write("\n")
print(f"wrote {out} ({count} palettes, seed {seed})")
