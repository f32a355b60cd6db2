/* Chromatica's kernels timed alone, for the side-by-side peer benchmark (peer_benchmark.py):
 * loads a dataset into one index (one process; MPI only for the search's own EMD rerank on
 * MPI_COMM_SELF), then for every valid query of a batch times the exact stage-1 top-R scan; the
 * Sinkhorn and the exact EMD distances of `pairs` of its candidates spread evenly over the top-R
 * (ranks 0, R/pairs, 2R/pairs, ...: the best candidates converge faster than the rest, so the
 * first few alone understate the cost); the search's own Sinkhorn rerank of all R
 * (chr_search_rerank: query tables, threads, every candidate, as `chromatica search` runs it);
 * and the bound-pruned exact EMD top-k within the top-R. Writes JSON with the
 * medians, the query histograms, the top-R rows and the per-pair distances, so the peers can be
 * run on the same data and checked against the same answers. Prints figures; never judges time.
 * usage: bench_kernels DATASET.h5 BATCH.json OUT.json [R] [PAIRS] */
#include <cjson/cJSON.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_data.h"
#include "chromatica/batch.h"
#include "chromatica/bounds.h"
#include "chromatica/dataset.h"
#include "chromatica/emd.h"
#include "chromatica/scan.h"
#include "chromatica/search.h"
#include "chromatica/sinkhorn.h"
#include "../../src/mpi/rerank_emd.h"

/* The search's own bound-pruned exact EMD top-k within hits[0..n) (src/mpi/rerank_emd.c) for
 * one shard, on MPI_COMM_SELF. Returns the count of EMDs solved, or -1 on failure. */
static int64_t emd_topk_pruned(const chr_index *idx, const chr_batch_query *bq,
                               const chr_hit *hits, int n) {
  chr_match *top = malloc((size_t)bq->options.k * sizeof *top);
  chr_emd_job job = {.query = bq, .merged = hits, .n_merged = n, .top = top};
  chr_error err;
  chr_status st = top == NULL ? CHR_ENOMEM : chr_mpi_emd_rerank(MPI_COMM_SELF, idx, &job, 1, &err);
  free(top);
  return st == CHR_OK && !job.failed ? job.candidates - job.pruned : -1;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 4) {
    fprintf(stderr, "usage: bench_kernels DATASET.h5 BATCH.json OUT.json [R] [PAIRS]\n");
    return 2;
  }
  int R = argc > 4 ? atoi(argv[4]) : 200, pairs = argc > 5 ? atoi(argv[5]) : 20;
  chr_error err;
  chr_batch *batch = NULL;
  chr_index *idx = bench_load_index(argv[1], &err);
  if (idx == NULL || chr_batch_load(argv[2], &batch, &err) != CHR_OK) {
    fprintf(stderr, "bench_kernels: %s\n", err.message);
    return 1;
  }
  int nq = chr_batch_count(batch);
  double *scan_ms = calloc((size_t)nq, sizeof *scan_ms);
  double *sink_ms = calloc((size_t)nq * (size_t)pairs, sizeof *sink_ms);
  double *tables_ms = calloc((size_t)nq, sizeof *tables_ms);
  double *emd_ms = calloc((size_t)nq * (size_t)pairs, sizeof *emd_ms);
  double *pruned_ms = calloc((size_t)nq, sizeof *pruned_ms);
  double *rerank_ms = calloc((size_t)nq, sizeof *rerank_ms); /* per candidate */
  double sink_sum = 0.0;
  chr_match *matches = malloc((size_t)R * sizeof *matches);
  chr_hit *hits = malloc((size_t)R * sizeof *hits);
  chr_emd_bounds *bounds = malloc(sizeof *bounds);
  if (hits == NULL || bounds == NULL) return 1;
  cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "queries");
  int nv = 0, np = 0;
  int64_t solved_total = 0, pool_total = 0;
  chr_sinkhorn_params sp = {0.05, 1e-6, 100};
  chr_sinkhorn_work *work = NULL; /* reused across pairs, as the search's rerank does */
  if (chr_sinkhorn_work_create(&work, &err) != CHR_OK) {
    fprintf(stderr, "bench_kernels: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < nq; ++i) {
    const chr_batch_query *bq = chr_batch_query_at(batch, i);
    if (!bq->ok) continue;
    double t = omp_get_wtime();
    int found = chr_scan_topk(idx, &bq->hist, R, hits, &err);
    scan_ms[nv] = (omp_get_wtime() - t) * 1e3;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(list, o);
    double qb[40], qm[40], rows[10000], scores[10000];
    for (int k = 0; k < bq->hist.count; ++k) qb[k] = bq->hist.bin[k], qm[k] = bq->hist.mass[k];
    for (int j = 0; j < found; ++j) rows[j] = (double)hits[j].row, scores[j] = hits[j].score;
    cJSON_AddItemToObject(o, "bins", cJSON_CreateDoubleArray(qb, bq->hist.count));
    cJSON_AddItemToObject(o, "mass", cJSON_CreateDoubleArray(qm, bq->hist.count));
    cJSON_AddItemToObject(o, "top_rows", cJSON_CreateDoubleArray(rows, found));
    cJSON_AddItemToObject(o, "top_scores", cJSON_CreateDoubleArray(scores, found));
    cJSON *pl = cJSON_AddArrayToObject(o, "pairs");
    /* The query's Sinkhorn tables, made once per query as the search's rerank does. */
    chr_sinkhorn_query *sq = NULL;
    t = omp_get_wtime();
    if (chr_sinkhorn_query_create(&bq->hist, &sp, &sq, &err) != CHR_OK) {
      fprintf(stderr, "bench_kernels: %s\n", err.message);
      return 1;
    }
    tables_ms[nv] = (omp_get_wtime() - t) * 1e3;
    /* The EMD looks its costs up in the bound tables, which the search's rerank makes anyway. */
    chr_emd_bounds_init(&bq->hist, bounds);
    for (int p = 0; p < pairs && p < found; ++p) {
      int j = (int)((int64_t)p * found / (pairs < found ? pairs : found));
      const uint16_t *bins;
      const float *mass;
      int m = chr_index_support(idx, hits[j].row, &bins, &mass);
      chr_sinkhorn_result sr;
      double d = 0.0;
      t = omp_get_wtime();
      chr_sinkhorn_candidate_with(sq, work, bins, mass, m, &sr, &err);
      sink_ms[np] = (omp_get_wtime() - t) * 1e3;
      sink_sum += sink_ms[np];
      t = omp_get_wtime();
      chr_emd_dual_table(&bq->hist, (const double (*)[CHR_BINS])bounds->cost, bins, mass, m, &d,
                         NULL, &err);
      emd_ms[np++] = (omp_get_wtime() - t) * 1e3;
      double v[4] = {(double)hits[j].row, sr.distance, d, (double)m};
      cJSON_AddItemToArray(pl, cJSON_CreateDoubleArray(v, 4));
    }
    chr_sinkhorn_query_destroy(&sq);
    /* The search's own rerank of every candidate, v1 options (Sinkhorn on Hellinger's top-R). */
    chr_search_options so = bq->options;
    so.metric = CHR_METRIC_SINKHORN;
    so.fast_mode = 0;
    t = omp_get_wtime();
    if (chr_search_rerank(idx, &bq->hist, &so, hits, found, matches, NULL, &err) != CHR_OK) {
      fprintf(stderr, "bench_kernels: %s\n", err.message);
      return 1;
    }
    rerank_ms[nv] = (omp_get_wtime() - t) * 1e3 / (found > 0 ? found : 1);
    t = omp_get_wtime();
    int64_t solved = emd_topk_pruned(idx, bq, hits, found);
    pruned_ms[nv] = (omp_get_wtime() - t) * 1e3;
    if (solved < 0) {
      fprintf(stderr, "bench_kernels: the pruned EMD rerank failed on query %d\n", i);
      return 1;
    }
    solved_total += solved;
    pool_total += found;
    nv++;
  }
  /* The batched scan over all valid queries at once, checked against the single-query scans. */
  const chr_qhist **qs = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *qs);
  chr_hit **outs = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *outs);
  int *wants = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *wants);
  int *counts = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *counts), same = 1;
  for (int i = 0, v = 0; i < nq; ++i) {
    if (!chr_batch_query_at(batch, i)->ok) continue;
    qs[v] = &chr_batch_query_at(batch, i)->hist;
    wants[v] = R;
    outs[v++] = malloc((size_t)R * sizeof **outs);
  }
  double t0 = omp_get_wtime();
  chr_scan_topk_many(idx, qs, nv, wants, outs, counts, &err);
  double batch_ms = (omp_get_wtime() - t0) * 1e3 / (nv > 0 ? nv : 1);
  for (int v = 0; v < nv; ++v) {
    int found = chr_scan_topk(idx, qs[v], R, hits, &err);
    same = same && found == counts[v] && memcmp(hits, outs[v], (size_t)found * sizeof *hits) == 0;
    free(outs[v]);
  }
  free(qs);
  free(outs);
  free(wants);
  free(counts);
  cJSON_AddNumberToObject(root, "scan_batched_ms_per_query", batch_ms);
  cJSON_AddBoolToObject(root, "batched_equals_single", same);
  printf("bench_kernels: batched stage-1 scan of all %d queries: %.2f ms/query (%s the single-query "
         "scans bit for bit)\n", nv, batch_ms, same ? "equal to" : "DIFFERENT FROM");
  cJSON_AddNumberToObject(root, "images", (double)chr_index_rows(idx));
  cJSON_AddNumberToObject(root, "R", R);
  cJSON_AddNumberToObject(root, "threads", omp_get_max_threads());
  cJSON_AddNumberToObject(root, "scan_ms_median", bench_median(scan_ms, nv));
  cJSON_AddNumberToObject(root, "sinkhorn_pair_ms_median", bench_median(sink_ms, np));
  cJSON_AddNumberToObject(root, "sinkhorn_tables_ms_median", bench_median(tables_ms, nv));
  /* The mean over the sampled pairs: what R candidates cost together, per candidate. */
  cJSON_AddNumberToObject(root, "sinkhorn_pair_ms_mean", np > 0 ? sink_sum / np : 0.0);
  cJSON_AddNumberToObject(root, "sinkhorn_rerank_ms_per_candidate_median", bench_median(rerank_ms, nv));
  /* What a pair costs in the search, where one query's tables serve its R candidates. */
  cJSON_AddNumberToObject(root, "sinkhorn_pair_amortized_ms",
                          (np > 0 ? sink_sum / np : 0.0) + bench_median(tables_ms, nv) / (R > 0 ? R : 1));
  cJSON_AddNumberToObject(root, "emd_pair_ms_median", bench_median(emd_ms, np));
  cJSON_AddNumberToObject(root, "emd_pruned_query_ms_median", bench_median(pruned_ms, nv));
  cJSON_AddNumberToObject(root, "emd_pruned_fraction",
                          pool_total ? 1.0 - (double)solved_total / (double)pool_total : 0.0);
  char *text = cJSON_Print(root);
  FILE *f = fopen(argv[3], "w");
  int ok = f != NULL && text != NULL && fputs(text, f) >= 0;
  if (f != NULL && fclose(f) != 0) ok = 0;
  printf("bench_kernels: %d queries on %lld images, %d threads: stage-1 top-%d %.2f ms/query, "
         "sinkhorn %.4f ms/pair mean, %.4f median (+ %.3f ms of tables per query), the search's "
         "rerank %.4f ms/candidate, emd %.3f ms/pair, pruned emd top-k within R %.1f ms/query\n",
         nv, (long long)chr_index_rows(idx), omp_get_max_threads(), R, bench_median(scan_ms, nv),
         np > 0 ? sink_sum / np : 0.0, bench_median(sink_ms, np), bench_median(tables_ms, nv),
         bench_median(rerank_ms, nv), bench_median(emd_ms, np), bench_median(pruned_ms, nv));
  cJSON_free(text);
  cJSON_Delete(root);
  free(scan_ms);
  free(sink_ms);
  free(tables_ms);
  free(emd_ms);
  free(pruned_ms);
  free(rerank_ms);
  chr_sinkhorn_work_destroy(&work);
  free(matches);
  free(hits);
  free(bounds);
  chr_batch_destroy(&batch);
  chr_index_destroy(&idx);
  MPI_Finalize();
  return ok && same ? 0 : 1;
}
