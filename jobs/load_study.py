#!/usr/bin/python3
"""The load study: the same batches answered sequentially (1 rank, 1 thread), with OpenMP only,
MPI only and hybrid, over synthetic datasets of growing size and several batch sizes, plus the
original service's comparison (20 queries one at a time vs 8 in flight). What to compute comes
from a study file (jobs/load_study.json); everything is measured by `chromatica search` itself
(the report's run.timings_ms and performance_stats). Writes results.csv, service.csv,
machine.txt and plots (PNG and SVG, gnuplot) into the output folder.

usage: load_study.py [--study jobs/load_study.json] [--out data/load-study] [--bin build/chromatica]
                     [--datasets N,N] [--batches B,B] [--repeats R]   (overrides, e.g. for a quick run)
"""
import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpirun(ranks, threads, args):
    cmd = ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none",
           "-x", f"OMP_NUM_THREADS={threads}"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    subprocess.run(cmd + args, check=True, stdout=subprocess.DEVNULL)


def dataset(out, binary, images, seed):
    path = os.path.join(out, "datasets", f"synthetic-{images}-seed{seed}.h5")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        print(f"load_study: making {path}", flush=True)
        mpirun(2, 1, [binary, "synth", "--images", str(images), "--seed", str(seed), "-o", path + ".partial"])
        os.replace(path + ".partial", path)
    return path


def batch(out, queries, max_concurrent, options, seed=11):
    rng = random.Random(seed)
    items = []
    for i in range(queries):
        n = rng.randint(1, 5)
        items.append({"id": f"load-{i:03d}", "k": 10,
                      "colors": ",".join(f"{rng.randrange(1 << 24):06x}" for _ in range(n)),
                      "weights": ",".join(f"{rng.uniform(0.05, 1):.3f}" for _ in range(n))})
    path = os.path.join(out, "runs", f"batch-{queries}-mc{max_concurrent}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # The study's "options" (load_study.json); none means the tool's defaults.
    json.dump({"queries": items, "max_concurrent": max_concurrent, "options": options},
              open(path, "w"))
    return path


def measure(binary, data, batch_path, cfg, io, repeats, report_path):
    """Runs the search `repeats` times; returns the run with the median search time."""
    runs = []
    for _ in range(repeats):
        mpirun(cfg["ranks"], cfg["threads"], [binary, "search", "--dataset", data, "--queries",
                                              batch_path, "--out", report_path, "--io", io])
        r = json.load(open(report_path))
        t = r["run"]["timings_ms"]
        runs.append({"read_ms": t["read"], "distribute_ms": t["distribute"],
                     "search_ms": t["search"], "gather_ms": t["gather"],
                     "total_ms": r["total_time_ms"], "queries": r["successful_queries"],
                     "groups": r["run"]["query_groups"], "shards": r["run"]["shards"],
                     "max_concurrent_searches": r["performance_stats"]["max_concurrent_searches"],
                     "index": r["run"].get("index", "built"),
                     "candidate_stage": r["results"][0]["metadata"].get("candidate_stage", "")})
    runs.sort(key=lambda x: x["search_ms"])
    return runs[len(runs) // 2]


def machine(out):
    model = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    text = (f"{os.cpu_count()} cores ({model}), {int(mem) / 1048576:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Debian 12")
    open(os.path.join(out, "machine.txt"), "w").write(text + "\n")
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", default=os.path.join(ROOT, "jobs", "load_study.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "load-study"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "chromatica"))
    ap.add_argument("--datasets")
    ap.add_argument("--batches")
    ap.add_argument("--repeats", type=int)
    a = ap.parse_args()
    study = json.load(open(a.study))
    os.makedirs(a.out, exist_ok=True)
    datasets = study["datasets"]
    if a.datasets:
        datasets = [{"images": int(n), "repeats": 1} for n in a.datasets.split(",")]
    batches = [int(b) for b in a.batches.split(",")] if a.batches else study["batch_queries"]
    print("load_study:", machine(a.out), flush=True)

    rows = []
    for d in datasets:
        data = dataset(a.out, a.bin, d["images"], study["seed"])
        repeats = a.repeats or d["repeats"]
        for b in batches:
            path = batch(a.out, b, study["max_concurrent"], study.get("options", {}))
            base = None
            for cfg in study["configs"]:
                report = os.path.join(a.out, "runs", f"report-{d['images']}-{b}-{cfg['name']}.json")
                m = measure(a.bin, data, path, cfg, study["io"], repeats, report)
                base = base or m
                speedup = base["search_ms"] / m["search_ms"]
                rows.append({"images": d["images"], "batch_queries": b, "mode": cfg["name"],
                             "ranks": cfg["ranks"], "threads": cfg["threads"], "io": study["io"],
                             "repeats": repeats, **m,
                             "queries_per_second": m["queries"] / (m["search_ms"] / 1e3),
                             "speedup": speedup,
                             "efficiency": speedup / (cfg["ranks"] * cfg["threads"]),
                             "total_speedup": base["total_ms"] / m["total_ms"]})
                r = rows[-1]
                print(f"load_study: {d['images']:>8} images, {b:>4} queries, {cfg['name']:<10} "
                      f"search {r['search_ms']:9.1f} ms  {r['queries_per_second']:8.1f} q/s  "
                      f"speedup {speedup:5.2f}  (read {r['read_ms']:.0f}, distribute "
                      f"{r['distribute_ms']:.0f}, gather {r['gather_ms']:.1f} ms)", flush=True)
    write_csv(os.path.join(a.out, "results.csv"), rows)

    svc = study["service_comparison"]
    data = dataset(a.out, a.bin, svc["images"] if not a.datasets else datasets[0]["images"], study["seed"])
    service = []
    for cfg in svc["configs"]:
        path = batch(a.out, svc["queries"], cfg["max_concurrent"], study.get("options", {}))
        report = os.path.join(a.out, "runs", f"service-{cfg['name'].replace(' ', '_').replace(',', '')}.json")
        m = measure(a.bin, data, path, cfg, study["io"], a.repeats or svc["repeats"], report)
        service.append({"mode": cfg["name"], "ranks": cfg["ranks"], "threads": cfg["threads"],
                        "max_concurrent": cfg["max_concurrent"], **m,
                        "speedup": (service[0]["search_ms"] if service else m["search_ms"]) / m["search_ms"]})
        print(f"load_study: service comparison {cfg['name']:<26} search {m['search_ms']:8.1f} ms  "
              f"speedup {service[-1]['speedup']:5.2f}  in flight at most {m['max_concurrent_searches']}",
              flush=True)
    write_csv(os.path.join(a.out, "service.csv"), service)
    plot(a.out, rows, batches)


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    print(f"load_study: wrote {path}")


def plot(out, rows, batches):
    """Writes gnuplot data blocks per (mode, batch) and renders jobs/load_study.gp twice."""
    big = max(batches)
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    with open(os.path.join(out, "plot.dat"), "w") as f:
        for mode in modes:  # one gnuplot index per mode: images, q/s, speedup, efficiency
            f.write(f'"{mode}"\n')
            for r in rows:
                if r["mode"] == mode and r["batch_queries"] == big:
                    f.write(f"{r['images']} {r['queries_per_second']:.3f} {r['speedup']:.4f} "
                            f"{r['efficiency']:.4f}\n")
            f.write("\n\n")
    largest = max(r["images"] for r in rows)
    with open(os.path.join(out, "phases.dat"), "w") as f:
        f.write("# mode read distribute search gather (seconds)\n")
        for r in rows:
            if r["images"] == largest and r["batch_queries"] == big:
                f.write(f'"{r["mode"]}" {r["read_ms"] / 1e3:.3f} {r["distribute_ms"] / 1e3:.3f} '
                        f"{r['search_ms'] / 1e3:.3f} {r['gather_ms'] / 1e3:.4f}\n")
    script = os.path.join(ROOT, "jobs", "load_study.gp")
    for term, ext in (("pngcairo size 900,600", "png"), ("svg size 900,600", "svg")):
        subprocess.run(["gnuplot", "-e", f"outdir='{out}'; term='{term}'; ext='{ext}'; "
                        f"batch={big}; largest={largest}; nmodes={len(modes)}", script], check=True)
    print(f"load_study: plots in {out} (throughput, speedup, efficiency, phases; .png and .svg)")


if __name__ == "__main__":
    sys.exit(main())
