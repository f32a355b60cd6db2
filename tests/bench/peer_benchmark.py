#!/usr/bin/python3
"""Side-by-side benchmark: Chromatica's kernels against FAISS and POT on the same dataset, the
same queries and the same supports, in one run (tests/bench; prints figures, never judges time).

usage: peer_benchmark.py BENCH_KERNELS DATASET.h5 BATCH.json OUTDIR [--R 200] [--pairs 10]
                         [--threads 1] [--hnsw-ef 128]

- Stage 1: Chromatica's exact scan (one query at a time, and the whole batch at once) vs FAISS
  IndexFlatIP on the square-root vectors (batched, and one at a time) and IndexHNSWFlat (inner
  product, M 32, efSearch --hnsw-ef; recall@R against the exact answer reported). Agreement:
  FAISS works in float32, so its exact top-R is compared as a set (recall@R).
- Stage 2: for the first --pairs candidates of every query, chr_sinkhorn_candidate (with the
  query's tables made once per query, their time spread over the R candidates the search
  reranks) vs ot.sinkhorn2 (same epsilon and iteration cap) and chr_emd vs ot.emd2, on the same supports; the EMDs must agree to
  1e-9 relative, the Sinkhorn distances are reported (the stopping rules differ).
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("dataset")
    ap.add_argument("batch")
    ap.add_argument("out")
    ap.add_argument("--R", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hnsw-ef", type=int, default=128)
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
    hnsw = faiss.IndexHNSWFlat(1152, 32, faiss.METRIC_INNER_PRODUCT)
    _, hnsw_build_ms = timed(lambda: hnsw.add(x))
    hnsw.hnsw.efSearch = a.hnsw_ef
    (_, hids), hnsw_batch_ms = timed(lambda: hnsw.search(qv, a.R))
    hnsw_recall = statistics.mean(len(exact[i] & set(hids[i].tolist())) / len(exact[i])
                                  for i in range(len(queries)))

    grid = centres()
    cmax = float(np.sqrt(((grid[None, :, :] - grid[:, None, :]) ** 2).sum(2)).max())
    sink_ms, emd_ms, emd_rel, sink_rel = [], [], [], []
    with h5py.File(a.dataset, "r") as f:
        hist = f["histograms"]
        for q in queries:
            qb, qm = np.array(q["bins"], dtype=int), np.array(q["mass"])
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

    per_query = len(queries)
    rows = [
        ("stage 1, one query at a time (ms/query)", c["scan_ms_median"],
         "FAISS IndexFlatIP", statistics.median(single), f"recall@{a.R} {flat_recall:.4f}"),
        ("stage 1, whole batch (ms/query)", c["scan_batched_ms_per_query"],
         "FAISS IndexFlatIP batched", flat_batch_ms / per_query, f"recall@{a.R} {flat_recall:.4f}"),
        ("stage 1, whole batch (ms/query)", c["scan_batched_ms_per_query"],
         f"FAISS HNSW ef={a.hnsw_ef}", hnsw_batch_ms / per_query,
         f"HNSW recall@{a.R} {hnsw_recall:.4f} (build {hnsw_build_ms / 1e3:.1f} s)"),
        ("sinkhorn (ms/pair, tables over R)", c["sinkhorn_pair_amortized_ms"], "POT ot.sinkhorn2",
         statistics.median(sink_ms), f"median rel. diff {statistics.median(sink_rel):.1e}"),
        ("exact EMD (ms/pair)", c["emd_pair_ms_median"], "POT ot.emd2", statistics.median(emd_ms),
         f"max rel. diff {max(emd_rel):.1e}"),
    ]
    print(f"peer_benchmark: {n} images, {per_query} queries, R {a.R}, {a.threads} thread(s), "
          f"{len(emd_ms)} pairs; medians")
    print(f"{'kernel':<42} {'chromatica':>11} {'peer':<26} {'peer ms':>9} {'ratio':>7}  agreement")
    for name, mine, peer, theirs, agree in rows:
        print(f"{name:<42} {mine:11.3f} {peer:<26} {theirs:9.3f} {theirs / mine:7.2f}x  {agree}")
    print(f"exact EMD top-k within R with bound pruning: {c['emd_pruned_query_ms_median']:.2f} "
          f"ms/query ({100 * c['emd_pruned_fraction']:.1f} % of candidates never solved)")
    result = {"images": n, "queries": per_query, "R": a.R, "threads": a.threads,
              "rows": [dict(zip(("kernel", "chromatica_ms", "peer", "peer_ms", "agreement"), r))
                       for r in rows],
              "emd_pruned_query_ms": c["emd_pruned_query_ms_median"],
              "emd_pruned_fraction": c["emd_pruned_fraction"]}
    json.dump(result, open(os.path.join(a.out, "peer.json"), "w"), indent=1)
    with open(os.path.join(a.out, "peer.dat"), "w") as f:
        for name, mine, peer, theirs, _ in rows:
            f.write(f'"{peer}" {theirs / mine:.4f}\n')
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
