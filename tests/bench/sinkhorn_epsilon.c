/* How small sinkhorn_epsilon can usefully be (README, "Decisions where the spec is silent"):
 * for every valid query of a batch and its stage-1 top-R candidates of a dataset, runs the
 * Sinkhorn rerank at each epsilon with each iteration cap (tol 1e-6) and the exact EMD, and
 * prints per (epsilon, cap): the fraction of solves that reached the tolerance, the median and
 * largest iteration count, the median and smallest distance / EMD, the largest final marginal
 * error and the median time per solve. Never judges; the figures go into the README.
 * usage: bench_sinkhorn_epsilon DATASET.h5 BATCH.json [R] [EPSILONS] [CAPS]
 *        (defaults 20, "0.05,0.01,0.003,0.001,0.0003,0.0001,0.00003", "100,10000") */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_data.h"
#include "chromatica/batch.h"
#include "chromatica/dataset.h"
#include "chromatica/emd.h"
#include "chromatica/lists.h"
#include "chromatica/scan.h"
#include "chromatica/sinkhorn.h"

#define LIST_MAX 16

/* One (epsilon, cap) row over every (query, candidate) pair; emd[p] is pair p's exact EMD. */
static int report_row(const chr_index *idx, const chr_batch *batch, int R, double eps, int cap,
                      const double *emd, double *work) {
  chr_sinkhorn_params sp = {eps, 1e-6, cap};
  chr_hit *hits = malloc((size_t)R * sizeof *hits);
  double *iters = work, *ratio = work + 1 * 100000, *ms = work + 2 * 100000;
  int pairs = 0, converged = 0, failed = 0;
  double ratio_min = INFINITY, iter_max = 0.0, error_max = 0.0;
  chr_error err;
  for (int i = 0; hits && i < chr_batch_count(batch); ++i) {
    const chr_batch_query *bq = chr_batch_query_at(batch, i);
    if (!bq->ok) continue;
    int found = chr_scan_topk(idx, &bq->hist, R, hits, &err);
    for (int j = 0; j < found && pairs < 100000; ++j, ++pairs) {
      const uint16_t *bins;
      const float *mass;
      int m = chr_index_support(idx, hits[j].row, &bins, &mass);
      chr_sinkhorn_result sr;
      double t = omp_get_wtime();
      if (chr_sinkhorn(&bq->hist, bins, mass, m, &sp, &sr, &err) != CHR_OK) {
        failed++;
        iters[pairs] = ratio[pairs] = ms[pairs] = NAN;
        continue;
      }
      ms[pairs] = (omp_get_wtime() - t) * 1e3;
      iters[pairs] = sr.iterations;
      ratio[pairs] = emd[pairs] > 0 ? sr.distance / emd[pairs] : 1.0;
      converged += sr.converged;
      ratio_min = ratio[pairs] < ratio_min ? ratio[pairs] : ratio_min;
      iter_max = sr.iterations > iter_max ? sr.iterations : iter_max;
      error_max = sr.error > error_max ? sr.error : error_max;
    }
  }
  free(hits);
  int ok = pairs - failed;
  double it_med = bench_median(iters, ok), ratio_med = bench_median(ratio, ok), ms_med = bench_median(ms, ok);
  printf("%9g %6d %6d %8.3f %8.0f %8.0f %9.4f %9.4f %10.2e %8.3f %6d\n", eps, cap, pairs,
         ok ? (double)converged / ok : 0.0, it_med, iter_max, ratio_med, ratio_min, error_max,
         ms_med, failed);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_sinkhorn_epsilon DATASET.h5 BATCH.json [R] [EPSILONS] [CAPS]\n");
    return 2;
  }
  int R = argc > 3 ? atoi(argv[3]) : 20;
  double eps[LIST_MAX], caps[LIST_MAX];
  int n_eps = 0, n_caps = 0;
  chr_error err;
  chr_batch *batch = NULL;
  if (chr_weights_parse(argc > 4 ? argv[4] : "0.05,0.01,0.003,0.001,0.0003,0.0001,0.00003", eps,
                        LIST_MAX, &n_eps, &err) != CHR_OK ||
      chr_weights_parse(argc > 5 ? argv[5] : "100,10000", caps, LIST_MAX, &n_caps, &err) != CHR_OK ||
      R < 1) {
    fprintf(stderr, "bench_sinkhorn_epsilon: bad R, epsilon or cap list\n");
    return 2;
  }
  chr_index *idx = bench_load_index(argv[1], &err);
  if (idx == NULL || chr_batch_load(argv[2], &batch, &err) != CHR_OK) {
    fprintf(stderr, "bench_sinkhorn_epsilon: %s\n", err.message);
    return 1;
  }
  double *emd = malloc(100000 * sizeof *emd), *work = malloc(3 * 100000 * sizeof *work);
  chr_hit *hits = malloc((size_t)R * sizeof *hits);
  int pairs = 0;
  for (int i = 0; emd && work && hits && i < chr_batch_count(batch); ++i) {
    const chr_batch_query *bq = chr_batch_query_at(batch, i);
    if (!bq->ok) continue;
    int found = chr_scan_topk(idx, &bq->hist, R, hits, &err);
    for (int j = 0; j < found && pairs < 100000; ++j) {
      const uint16_t *bins;
      const float *mass;
      int m = chr_index_support(idx, hits[j].row, &bins, &mass);
      if (chr_emd(&bq->hist, bins, mass, m, &emd[pairs++], &err) != CHR_OK) emd[pairs - 1] = NAN;
    }
  }
  printf("%d (query, candidate) pairs, tol 1e-6; ratio = Sinkhorn distance / exact EMD\n", pairs);
  printf("%9s %6s %6s %8s %8s %8s %9s %9s %10s %8s %6s\n", "epsilon", "cap", "pairs", "conv",
         "it med", "it max", "ratio med", "ratio min", "err max", "ms med", "failed");
  for (int c = 0; emd && work && c < n_caps; ++c)
    for (int e = 0; e < n_eps; ++e) report_row(idx, batch, R, eps[e], (int)caps[c], emd, work);
  free(emd);
  free(work);
  free(hits);
  chr_batch_destroy(&batch);
  chr_index_destroy(&idx);
  return 0;
}
