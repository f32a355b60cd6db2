#!/usr/bin/python3
"""What the default search costs against the v1 default (spec section 11: at most 3x).

usage: default_cost.py CHROMATICA BATCH.json REPEATS DATASET.h5...

For each dataset, runs `chromatica search` (1 rank, OMP_NUM_THREADS=1, the batch's queries) in
three modes, alternating, REPEATS times: the tool's defaults, the v1 default
({"metric": "sinkhorn", "candidates": "hellinger"}) and fast mode. Prints, per dataset and mode,
the median of the search phase (the report's run.timings_ms.search, wall clock) and of the
process's CPU time (user + system, from getrusage). Two ratios default / v1: of the search
phases, and of the CPU time each spends beyond fast mode (which pays the same loading), the
figure least disturbed by other jobs on a shared machine.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

MODES = {"default": {}, "v1": {"metric": "sinkhorn", "candidates": "hellinger"},
         "fast": {"fast_mode": True}}


def run(binary, dataset, batch, report):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([binary, "search", "--dataset", dataset, "--queries", batch, "--out", report],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    r = json.load(open(report))
    return r["run"]["timings_ms"]["search"], cpu * 1e3, r["results"][0]["metadata"]


def main(argv):
    binary, batch_path, repeats, datasets = argv[1], argv[2], int(argv[3]), argv[4:]
    base = json.load(open(batch_path))
    work = tempfile.mkdtemp(prefix="default_cost-")
    batches = {}
    for mode, options in MODES.items():
        batches[mode] = os.path.join(work, f"{mode}.json")
        json.dump(dict(base, options=dict(base.get("options", {}), **options)),
                  open(batches[mode], "w"))
    print(f"default_cost: {len(base['queries'])} queries, 1 rank, 1 thread, {repeats} runs each "
          f"(medians); search = search phase wall ms, cpu = process CPU ms")
    for dataset in datasets:
        got = {m: {"search": [], "cpu": []} for m in MODES}
        stage = ""
        for _ in range(repeats):
            for mode in MODES:
                search, cpu, meta = run(binary, dataset, batches[mode],
                                        os.path.join(work, "report.json"))
                got[mode]["search"].append(search)
                got[mode]["cpu"].append(cpu)
                if mode == "default":
                    stage = meta["candidate_stage"]
        med = {m: {k: statistics.median(v) for k, v in got[m].items()} for m in MODES}
        wall = med["default"]["search"] / med["v1"]["search"]
        extra = ((med["default"]["cpu"] - med["fast"]["cpu"]) /
                 (med["v1"]["cpu"] - med["fast"]["cpu"]))
        print(f"{os.path.basename(dataset)}: " + ", ".join(
            f"{m} search {med[m]['search']:.0f} cpu {med[m]['cpu']:.0f}" for m in MODES) +
            f"; default ({stage}) / v1: search {wall:.2f}x, cpu beyond fast mode {extra:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
