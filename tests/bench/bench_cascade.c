/* The cascade candidate stage's cost beside stage 1's, kernels timed alone (issue 14): loads a
 * dataset into one index (one process; MPI only for the cascade's own merge on MPI_COMM_SELF),
 * then for every valid query of a batch times stage 1 as fast mode runs it (the exact top-k by
 * Hellinger, chr_scan_topk), the cascade's cheap bound pass alone (chr_cascade_select of its
 * R1 rows) and the whole cascade stage (chr_mpi_cascade: cheap pass, tighter bounds, pool), then
 * the same three batched over all queries (chr_scan_topk_many; chr_cascade_select and
 * chr_mpi_cascade of all of them at once, as a wave). Times are the process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), so that other work on a shared machine inflates them less than
 * wall time; run it with OMP_NUM_THREADS=1. Prints medians and ratios; never judges time.
 *
 * usage: bench_cascade DATASET.h5 BATCH.json */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/mpi/cascade.h"
#include "bench_data.h"
#include "chromatica/batch.h"
#include "chromatica/cascade.h"
#include "chromatica/search.h"

static int row_order(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* How many distinct rows the nv lists outs hold (counts[v] each): how often queries of one
 * wave share a survivor. */
static int distinct_rows(chr_hit *const *outs, const int *counts, int nv, int *total) {
  *total = 0;
  for (int v = 0; v < nv; ++v) *total += counts[v];
  int64_t *rows = malloc((size_t)(*total + 1) * sizeof *rows);
  if (rows == NULL) return -1;
  for (int v = 0, at = 0; v < nv; ++v)
    for (int e = 0; e < counts[v]; ++e) rows[at++] = outs[v][e].row;
  qsort(rows, (size_t)*total, sizeof *rows, row_order);
  int distinct = 0;
  for (int e = 0; e < *total; ++e) distinct += e == 0 || rows[e] != rows[e - 1];
  free(rows);
  return distinct;
}

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 3) {
    fprintf(stderr, "usage: bench_cascade DATASET.h5 BATCH.json\n");
    return 2;
  }
  chr_error err;
  chr_batch *batch = NULL;
  chr_index *idx = bench_load_index(argv[1], &err);
  if (idx == NULL || chr_batch_load(argv[2], &batch, &err) != CHR_OK) {
    fprintf(stderr, "bench_cascade: %s\n", err.message);
    return 1;
  }
  int64_t images = chr_index_rows(idx);
  int nq = chr_batch_count(batch), nv = 0, r1 = 0;
  double *scan_ms = calloc((size_t)nq, sizeof *scan_ms);
  double *cheap_ms = calloc((size_t)nq, sizeof *cheap_ms);
  double *stage_ms = calloc((size_t)nq, sizeof *stage_ms);
  const chr_cascade_query **cqs = calloc((size_t)nq, sizeof *cqs);
  const chr_qhist **qs = calloc((size_t)nq, sizeof *qs);
  chr_hit **outs = calloc((size_t)nq, sizeof *outs);
  int *wants = calloc((size_t)nq, sizeof *wants), *r1s = calloc((size_t)nq, sizeof *r1s);
  int *counts = calloc((size_t)nq, sizeof *counts);
  chr_cascade_job *jobs = calloc((size_t)nq, sizeof *jobs);
  int *n_pools = calloc((size_t)nq, sizeof *n_pools);
  double *job_ms = calloc((size_t)nq, sizeof *job_ms);
  for (int i = 0; i < nq; ++i) {
    const chr_batch_query *bq = chr_batch_query_at(batch, i);
    if (!bq->ok) continue;
    int want = chr_search_candidates(&bq->options, images);
    r1 = CHR_CASCADE_WIDEN * want < images ? CHR_CASCADE_WIDEN * want : (int)images;
    chr_cascade_query *cq = malloc(sizeof *cq);
    chr_hit *pool = malloc((size_t)want * sizeof *pool);
    outs[nv] = malloc((size_t)r1 * sizeof **outs);
    if (cq == NULL || pool == NULL || outs[nv] == NULL) return 1;
    double t = cpu_ms();
    counts[nv] = chr_scan_topk(idx, &bq->hist, bq->options.k, outs[nv], &err);
    scan_ms[nv] = (cpu_ms() - t);
    t = cpu_ms();
    chr_cascade_init(&bq->hist, cq);
    const chr_cascade_query *one = cq;
    chr_cascade_select(idx, &one, 1, &r1, &outs[nv], &counts[nv], &err);
    cheap_ms[nv] = (cpu_ms() - t);
    int n_pool = 0;
    double ms = 0.0;
    chr_cascade_job job = {bq, want, pool, &n_pool, &ms};
    t = cpu_ms();
    if (chr_mpi_cascade(MPI_COMM_SELF, idx, images, &job, 1, &err) != CHR_OK) {
      fprintf(stderr, "bench_cascade: %s\n", err.message);
      return 1;
    }
    stage_ms[nv] = cpu_ms() - t;
    jobs[nv] = (chr_cascade_job){bq, want, pool, &n_pools[nv], &job_ms[nv]};
    cqs[nv] = cq, qs[nv] = &bq->hist, wants[nv] = bq->options.k, r1s[nv++] = r1;
  }
  double t = cpu_ms();
  chr_scan_topk_many(idx, qs, nv, wants, outs, counts, &err);
  double scan_batched = (cpu_ms() - t) / (nv > 0 ? nv : 1);
  t = cpu_ms();
  chr_cascade_select(idx, cqs, nv, r1s, outs, counts, &err);
  double cheap_batched = (cpu_ms() - t) / (nv > 0 ? nv : 1);
  int survivors = 0, distinct = distinct_rows(outs, counts, nv, &survivors);
  t = cpu_ms();
  if (chr_mpi_cascade(MPI_COMM_SELF, idx, images, jobs, nv, &err) != CHR_OK) {
    fprintf(stderr, "bench_cascade: %s\n", err.message);
    return 1;
  }
  double stage_batched = (cpu_ms() - t) / (nv > 0 ? nv : 1);
  double scan = bench_median(scan_ms, nv), cheap = bench_median(cheap_ms, nv);
  double stage = bench_median(stage_ms, nv);
  printf("bench_cascade: %d queries on %lld images, %d threads, R1 %d\n", nv, (long long)images,
         omp_get_max_threads(), r1);
  printf(
      "  one query at a time (medians): stage 1 (fast mode top-k) %.2f ms; cascade cheap pass "
      "%.2f ms (%.2fx); whole cascade stage %.2f ms (%.2fx)\n",
      scan, cheap, cheap / scan, stage, stage / scan);
  printf(
      "  batched, all %d queries in one pass (per query): stage 1 %.2f ms; cascade cheap "
      "pass %.2f ms (%.2fx); whole cascade stage %.2f ms (%.2fx)\n",
      nv, scan_batched, cheap_batched, cheap_batched / scan_batched, stage_batched,
      stage_batched / scan_batched);
  printf("  the batch's survivors of the cheap pass: %d rows, %d distinct\n", survivors, distinct);
  for (int v = 0; v < nv; ++v) {
    free((void *)cqs[v]);
    free(outs[v]);
    free(jobs[v].pool);
  }
  free(jobs), free(n_pools), free(job_ms);
  free(scan_ms), free(cheap_ms), free(stage_ms), free(cqs), free(qs), free(outs);
  free(wants), free(r1s), free(counts);
  chr_batch_destroy(&batch);
  chr_index_destroy(&idx);
  MPI_Finalize();
  return 0;
}
