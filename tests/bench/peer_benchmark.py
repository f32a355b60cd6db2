#!/usr/bin/python3
"""Side-by-side benchmark: Chromatica's kernels against FAISS and POT on the same dataset, the
same queries and the same supports, in one run (tests/bench; prints figures, never judges time).

usage: peer_benchmark.py BENCH_KERNELS DATASET.h5 BATCH.json OUTDIR [--R 200] [--pairs 10]
                         [--threads 1] [--hnsw-ef 128] [--chromatica PATH]

Two kinds of Chromatica figure stand side by side: the kernels timed alone (bench_kernels) and,
with --chromatica, `chromatica search`'s own per-query metadata (1 rank, max_concurrent 1, v1
options metric "sinkhorn", candidates "hellinger", rerank_k R): stage 1 = ann_time_ms (of that
run, top-R, and of a fast_mode run, top-k), the Sinkhorn per pair = rerank_time_ms /
candidates. The search's figures are what users get; the targets are stated against them.

- Stage 1: Chromatica's exact scan (one query at a time, and the whole batch at once) vs FAISS
  IndexFlatIP on the square-root vectors (batched, and one at a time) and IndexHNSWFlat (inner
  product, M 32, efSearch --hnsw-ef; recall@R against the exact answer reported). Agreement:
  FAISS works in float32, so its exact top-R is compared as a set (recall@R).
- Stage 2: for --pairs candidates of every query spread evenly over its top-R (the best few
  converge faster than the rest, so they alone understate the cost), chr_sinkhorn_candidate vs
  ot.sinkhorn2 (same epsilon and iteration cap), means per pair, and chr_emd vs ot.emd2
  (medians), on the same supports; the search's own rerank of all R candidates
  (chr_search_rerank in bench_kernels, and `chromatica search`'s rerank_time_ms) per candidate
  against POT's mean. The EMDs must agree to 1e-9 relative, the Sinkhorn distances are
  reported (the stopping rules differ).
Writes OUTDIR/peer.json and OUTDIR/peer.png/.svg (gnuplot), prints a table of medians and ratios.
All libraries are pinned to --threads threads.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# Pin OpenBLAS (FAISS's batched search, numpy) before it loads; FAISS's OpenMP is pinned below.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
os.environ["OPENBLAS_NUM_THREADS"] = _threads
import faiss  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402
import warnings  # noqa: E402

# Both sides stop Sinkhorn at the same iteration cap; POT warns each time it gets there.
warnings.filterwarnings("ignore", message="Sinkhorn did not converge")

AXES = [(8, 0.0, 100.0), (12, -86.0, 98.0), (12, -108.0, 95.0)]


def centres():
    idx = np.arange(1152)
    parts = (idx // 144, (idx // 12) % 12, idx % 12)
    return np.stack([lo + (j + 0.5) * ((hi - lo) / n) for j, (n, lo, hi) in zip(parts, AXES)], 1)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t) * 1e3


def search_stages(a, env):
    """`chromatica search`'s own per-query stage times on the benchmark's dataset and batch:
    1 rank, max_concurrent 1 (each query's stage 1 alone), v1 options, fast mode and the
    tool's default options; medians over queries."""
    base = json.load(open(a.batch))
    out = {}
    v1 = {"metric": "sinkhorn", "candidates": "hellinger", "rerank_k": a.R}
    for name, options in (("sinkhorn", v1), ("fast", dict(v1, fast_mode=True)),
                          ("default", {"rerank_k": a.R})):
        batch = dict(base, max_concurrent=1, options=dict(base.get("options", {}), **options))
        bpath = os.path.join(a.out, f"search-{name}.json")
        rpath = os.path.join(a.out, f"search-{name}-report.json")
        json.dump(batch, open(bpath, "w"))
        if os.geteuid() == 0:
            env = dict(env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        subprocess.run(["mpirun", "-n", "1", a.chromatica, "search", "--dataset", a.dataset,
                        "--queries", bpath, "--out", rpath], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        meta = [r["metadata"] for r in json.load(open(rpath))["results"] if r["success"]]
        if name == "sinkhorn":
            out["ann_ms"] = statistics.median(m["ann_time_ms"] for m in meta)
            out["rerank_ms_per_candidate"] = statistics.median(
                m["rerank_time_ms"] / m["candidates"] for m in meta)
        elif name == "fast":
            out["fast_ann_ms"] = statistics.median(m["ann_time_ms"] for m in meta)
        else:  # the tool's default: exact EMD behind its candidate stage (cascade above 10k)
            out["default_stage"] = meta[0]["candidate_stage"]
            out["default_total_ms"] = statistics.median(m["total_time_ms"] for m in meta)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("dataset")
    ap.add_argument("batch")
    ap.add_argument("out")
    ap.add_argument("--R", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hnsw-ef", type=int, default=128, help="0: skip HNSW")
    ap.add_argument("--chromatica", help="the chromatica binary: also time its search's stages")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    faiss.omp_set_num_threads(a.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    chrom_json = os.path.join(a.out, "chromatica.json")
    subprocess.run([a.bench, a.dataset, a.batch, chrom_json, str(a.R), str(a.pairs)], check=True,
                   env=env)
    c = json.load(open(chrom_json))
    queries = c["queries"]

    with h5py.File(a.dataset, "r") as f:
        x = np.sqrt(f["histograms"][:].astype(np.float32))
    n = x.shape[0]
    qv = np.zeros((len(queries), 1152), dtype=np.float32)
    for i, q in enumerate(queries):
        qv[i, np.array(q["bins"], dtype=int)] = np.sqrt(np.array(q["mass"]))
    flat = faiss.IndexFlatIP(1152)
    flat.add(x)
    (_, ids), flat_batch_ms = timed(lambda: flat.search(qv, a.R))
    single = [timed(lambda i=i: flat.search(qv[i:i + 1], a.R))[1] for i in range(len(queries))]
    exact = [set(int(r) for r in q["top_rows"]) for q in queries]
    flat_recall = statistics.mean(len(exact[i] & set(ids[i].tolist())) / len(exact[i])
                                  for i in range(len(queries)))
    if a.hnsw_ef > 0:
        hnsw = faiss.IndexHNSWFlat(1152, 32, faiss.METRIC_INNER_PRODUCT)
        _, hnsw_build_ms = timed(lambda: hnsw.add(x))
        hnsw.hnsw.efSearch = a.hnsw_ef
        (_, hids), hnsw_batch_ms = timed(lambda: hnsw.search(qv, a.R))
        hnsw_recall = statistics.mean(len(exact[i] & set(hids[i].tolist())) / len(exact[i])
                                      for i in range(len(queries)))
    del flat, x
    search = search_stages(a, env) if a.chromatica else {}

    grid = centres()
    cmax = float(np.sqrt(((grid[None, :, :] - grid[:, None, :]) ** 2).sum(2)).max())
    sink_ms, emd_ms, emd_rel, sink_rel, sink_query_mean = [], [], [], [], []
    with h5py.File(a.dataset, "r") as f:
        hist = f["histograms"]
        for q in queries:
            qb, qm = np.array(q["bins"], dtype=int), np.array(q["mass"])
            first = len(sink_ms)
            for row, sink_d, emd_d, _ in q["pairs"]:
                r = hist[int(row)].astype(np.float64)
                xb = np.nonzero(r)[0]
                xm = r[xb] / r[xb].sum()
                cost = np.sqrt(((grid[qb][:, None, :] - grid[xb][None, :, :]) ** 2).sum(2))
                d, ms = timed(lambda: float(ot.sinkhorn2(qm, xm, cost, 0.05 * cmax,
                                                         numItermax=100, stopThr=1e-6)))
                sink_ms.append(ms)
                sink_rel.append(abs(d - sink_d) / max(abs(d), 1e-12))
                d, ms = timed(lambda: float(ot.emd2(qm, xm, cost, numItermax=10_000_000)))
                emd_ms.append(ms)
                emd_rel.append(abs(d - emd_d) / max(abs(d), 1e-12))
            if len(sink_ms) > first:  # the query's mean over its pairs spread over the top-R
                sink_query_mean.append(statistics.mean(sink_ms[first:]))

    per_query = len(queries)
    single_ms = statistics.median(single)
    # (figure, kernel ms, search ms, peer, peer ms, agreement); None: no such figure.
    rows = [
        ("stage 1 top-R, one query at a time (ms/query)", c["scan_ms_median"],
         search.get("ann_ms"), "FAISS IndexFlatIP", single_ms, f"recall@{a.R} {flat_recall:.4f}"),
        ("stage 1 fast_mode top-k, one query at a time (ms/query)", None,
         search.get("fast_ann_ms"), "FAISS IndexFlatIP", single_ms, "(FAISS at top-R)"),
        ("stage 1 top-R, whole batch (ms/query)", c["scan_batched_ms_per_query"], None,
         "FAISS IndexFlatIP batched", flat_batch_ms / per_query, f"recall@{a.R} {flat_recall:.4f}"),
    ]
    if a.hnsw_ef > 0:
        rows.append(("stage 1 top-R, whole batch (ms/query)", c["scan_batched_ms_per_query"], None,
                     f"FAISS HNSW ef={a.hnsw_ef}", hnsw_batch_ms / per_query,
                     f"HNSW recall@{a.R} {hnsw_recall:.4f} (build {hnsw_build_ms / 1e3:.1f} s)"))
    rows += [
        # Both sides: each query's mean per candidate (POT's over its sampled pairs), median
        # over queries, as the search's rerank_time_ms / candidates is.
        ("sinkhorn, the search's rerank of all R (ms/candidate)",
         c["sinkhorn_rerank_ms_per_candidate_median"], search.get("rerank_ms_per_candidate"),
         "POT ot.sinkhorn2", statistics.median(sink_query_mean),
         f"median rel. diff {statistics.median(sink_rel):.1e}"),
        ("sinkhorn, sampled pairs alone (mean ms/pair)", c["sinkhorn_pair_ms_mean"], None,
         "POT ot.sinkhorn2 (mean)", statistics.mean(sink_ms), "same pairs"),
        ("exact EMD, sampled pairs (median ms/pair)", c["emd_pair_ms_median"], None, "POT ot.emd2",
         statistics.median(emd_ms), f"max rel. diff {max(emd_rel):.1e}"),
    ]
    if "default_total_ms" in search:
        # The peer pipeline for the same answer kind: an exact top-R, then exact EMDs on it;
        # the sum of its measured parts (FAISS per query + R x POT's median EMD).
        rows.append((f"default search ({search['default_stage']} + exact EMD), whole query (ms)",
                     None, search["default_total_ms"], f"FAISS flat + {a.R} x ot.emd2",
                     single_ms + a.R * statistics.median(emd_ms), "sum of measured parts"))
    print(f"peer_benchmark: {n} images, {per_query} queries, R {a.R}, {a.threads} thread(s), "
          f"{len(emd_ms)} pairs; medians over queries unless marked")

    def cell(v, width, fmt):
        return f"{'-':>{width}}" if v is None else f"{v:{width}{fmt}}"

    print(f"{'figure':<56} {'kernel':>8} {'search':>8} {'peer':<26} {'peer ms':>8} "
          f"{'/kernel':>8} {'/search':>8}  agreement")
    for name, mine, srch, peer, theirs, agree in rows:
        print(f"{name:<56} {cell(mine, 8, '.4f')} {cell(srch, 8, '.4f')} {peer:<26} {theirs:8.4f} "
              f"{cell(theirs / mine if mine else None, 7, '.1f')}x "
              f"{cell(theirs / srch if srch else None, 7, '.1f')}x  {agree}")
    print(f"exact EMD top-k within R with bound pruning: {c['emd_pruned_query_ms_median']:.2f} "
          f"ms/query ({100 * c['emd_pruned_fraction']:.1f} % of candidates never solved)")
    result = {"images": n, "queries": per_query, "R": a.R, "threads": a.threads,
              "rows": [dict(zip(("figure", "kernel_ms", "search_ms", "peer", "peer_ms",
                                 "agreement"), r)) for r in rows],
              "search": search,
              "emd_pruned_query_ms": c["emd_pruned_query_ms_median"],
              "emd_pruned_fraction": c["emd_pruned_fraction"]}
    json.dump(result, open(os.path.join(a.out, "peer.json"), "w"), indent=1)
    with open(os.path.join(a.out, "peer.dat"), "w") as f:
        for name, mine, srch, peer, theirs, _ in rows:
            base = srch if srch else mine  # the search's own figure where there is one
            f.write(f'"{peer} vs {"search" if srch else "kernel"}" {theirs / base:.4f}\n')
    for term, ext in (("pngcairo size 900,500", "png"), ("svg size 900,500", "svg")):
        subprocess.run(["gnuplot", "-e", f"""
set terminal {term}; set output '{a.out}/peer.{ext}';
set title 'How many times slower the peer is than Chromatica (median, {a.threads} thread)';
set style data histograms; set style fill solid 0.8 border -1; set boxwidth 0.6;
set logscale y; set grid y; set ylabel 'peer time / Chromatica time'; set xtics rotate by -20;
unset key; plot '{a.out}/peer.dat' using 2:xtic(1)"""], check=True)
    bad = max(emd_rel) > 1e-9 or flat_recall < 0.99
    if bad:
        print("peer_benchmark: FAIL: answers disagree (EMD beyond 1e-9 or FAISS recall < 0.99)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
