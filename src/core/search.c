#include "chromatica/search.h"

#include <omp.h>
#include <stdlib.h>

#include "chromatica/clock.h"
#include "chromatica/emd.h"
#include "chromatica/sinkhorn.h"

/* chr_search_options_default is built from the option table, in src/core/options.c. */

/* A switch without default: a new metric must say here whether it reranks by exact EMD. */
int chr_search_exact_emd(const chr_search_options *o) {
  switch (o->metric) {
    case CHR_METRIC_EMD:
      return !o->fast_mode;
    case CHR_METRIC_SINKHORN:
      return 0;
  }
  return 0;
}

void chr_search_options_resolve(chr_search_options *o, int64_t images) {
  if (o->candidate_stage != CHR_STAGE_AUTO) return;
  int emd = chr_search_exact_emd(o);
  o->candidate_stage = !emd                                   ? CHR_STAGE_HELLINGER
                       : images <= CHR_BOUNDS_AUTO_MAX_IMAGES ? CHR_STAGE_BOUNDS
                                                              : CHR_STAGE_CASCADE;
}

/* A switch without default: a new stage that is not placed here draws -Wswitch. */
int chr_search_uses_stage1(const chr_search_options *o) {
  switch (o->candidate_stage) {
    case CHR_STAGE_HELLINGER:
    case CHR_STAGE_AUTO: /* resolved before any search; as before, counted with hellinger */
      return 1;
    case CHR_STAGE_BOUNDS:
    case CHR_STAGE_CASCADE:
      return 0;
  }
  return 1;
}

/* A switch without default, as above. */
int chr_search_pools_every_image(const chr_search_options *o) {
  switch (o->candidate_stage) {
    case CHR_STAGE_BOUNDS:
      return 1;
    case CHR_STAGE_HELLINGER:
    case CHR_STAGE_CASCADE:
    case CHR_STAGE_AUTO:
      return 0;
  }
  return 0;
}

int chr_search_uses_cascade(const chr_search_options *o) {
  switch (o->candidate_stage) {
    case CHR_STAGE_CASCADE:
      return 1;
    case CHR_STAGE_HELLINGER:
    case CHR_STAGE_BOUNDS:
    case CHR_STAGE_AUTO:
      return 0;
  }
  return 0;
}

int chr_search_candidates(const chr_search_options *o, int64_t images) {
  int want = o->k > o->rerank_k ? o->k : o->rerank_k;
  return images < want ? (int)images : want;
}

int chr_match_compare(const chr_match *a, const chr_match *b) {
  return chr_order_value_row(a->distance, a->row, b->distance, b->row);
}

static int match_compare_qsort(const void *a, const void *b) {
  return chr_match_compare(a, b);
}

int chr_matches_rank(chr_match *matches, int n, int k) {
  qsort(matches, (size_t)n, sizeof *matches, match_compare_qsort);
  return n < k ? n : k;
}

void chr_rerank_stats_add(chr_rerank_stats *a, const chr_rerank_stats *b) {
  a->solved += b->solved;
  a->unconverged += b->unconverged;
  a->error_max = b->error_max > a->error_max ? b->error_max : a->error_max;
}

/* Reranks candidates [first, last) into out and counts its Sinkhorn solves into stats;
 * returns the first failure's status. */
static chr_status rerank_unit(const chr_index *idx, const chr_qhist *q, chr_metric metric,
                              const chr_sinkhorn_query *sq, chr_sinkhorn_work *work,
                              const chr_hit *candidates, int first, int last, chr_match *out,
                              chr_rerank_stats *stats, chr_error *err) {
  int64_t base = chr_index_first_row(idx);
  for (int i = first; i < last; ++i) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int n = chr_index_support(idx, candidates[i].row - base, &bins, &mass);
    double distance = 0.0;
    chr_status s = CHR_EUNSUPPORTED; /* no solver returns it */
    chr_sinkhorn_result result;
    switch (metric) { /* no default: a metric without a solver here draws -Wswitch */
      case CHR_METRIC_EMD:
        s = chr_emd(q, bins, mass, n, &distance, err);
        break;
      case CHR_METRIC_SINKHORN:
        s = chr_sinkhorn_candidate_with(sq, work, bins, mass, n, &result, err);
        distance = result.distance;
        if (s == CHR_OK) {
          chr_rerank_stats one = {1, !result.converged, result.error};
          chr_rerank_stats_add(stats, &one);
        }
        break;
    }
    if (s == CHR_EUNSUPPORTED)
      return chr_error_set(err, CHR_EINVAL, "rerank: metric %d has no solver", (int)metric);
    if (s != CHR_OK) return s;
    out[i] = (chr_match){candidates[i].row, distance, candidates[i].score};
  }
  return CHR_OK;
}

chr_status chr_search_rerank(const chr_index *idx, const chr_qhist *q, const chr_search_options *o,
                             const chr_hit *candidates, int n, chr_match *out,
                             chr_rerank_stats *stats, chr_error *err) {
  chr_rerank_stats total = {0, 0, 0.0};
  if (stats != NULL) *stats = total;
  if (o->fast_mode) {
    for (int i = 0; i < n; ++i)
      out[i] = (chr_match){candidates[i].row, candidates[i].score, candidates[i].score};
    return CHR_OK;
  }
  chr_sinkhorn_params params = {o->sinkhorn_epsilon, o->sinkhorn_tol, o->sinkhorn_max_iter};
  chr_sinkhorn_query *sq = NULL; /* the query's side, shared by all its candidates */
  if (o->metric == CHR_METRIC_SINKHORN && n > 0) {
    chr_status made = chr_sinkhorn_query_create(q, &params, &sq, err);
    if (made != CHR_OK) return made;
  }
  int units = (n + o->batch_size - 1) / o->batch_size;
  chr_status status = CHR_OK;
  /* Each candidate's distance depends on that candidate alone, so the unit size and the
   * thread count change scheduling only. The first failing unit (by index) reports. */
  int failed_unit = units;
  chr_error unit_err;
  chr_error_clear(&unit_err);
#pragma omp parallel if (!omp_in_parallel() && units > 1)
  {
    /* One Sinkhorn workspace per thread for all its units; without one (out of memory) each
     * solve allocates its own and reports a shortage itself. */
    chr_sinkhorn_work *work = NULL;
    chr_error ignored;
    if (sq != NULL && chr_sinkhorn_work_create(&work, &ignored) != CHR_OK) work = NULL;
#pragma omp for schedule(dynamic)
    for (int u = 0; u < units; ++u) {
      int first = u * o->batch_size;
      int last = first + o->batch_size < n ? first + o->batch_size : n;
      chr_error local;
      chr_rerank_stats mine = {0, 0, 0.0};
      chr_status s =
          rerank_unit(idx, q, o->metric, sq, work, candidates, first, last, out, &mine, &local);
#pragma omp critical(chr_search_rerank_error)
      {
        chr_rerank_stats_add(&total, &mine); /* counts and a maximum: any order gives the same */
        if (s != CHR_OK && u < failed_unit) {
          failed_unit = u;
          unit_err = local;
        }
      }
    }
    chr_sinkhorn_work_destroy(&work);
  }
  if (failed_unit < units) status = chr_error_set(err, unit_err.code, "%s", unit_err.message);
  if (stats != NULL) *stats = total;
  chr_sinkhorn_query_destroy(&sq);
  return status;
}

chr_status chr_search_shard(const chr_index *idx, const chr_qhist *q, const chr_search_options *o,
                            chr_match *out, int *count, double *ann_ms, double *rerank_ms,
                            chr_error *err) {
  chr_status status = CHR_OK;
  int want = chr_search_candidates(o, chr_index_rows(idx));
  chr_hit *hits = malloc((size_t)(want > 0 ? want : 1) * sizeof *hits);
  chr_match *matches = malloc((size_t)(want > 0 ? want : 1) * sizeof *matches);
  *count = 0;
  if (hits == NULL || matches == NULL) {
    status = chr_error_set(err, CHR_ENOMEM, "search: cannot hold %d candidates", want);
    goto cleanup;
  }
  double t0 = chr_clock_seconds();
  int found = chr_scan_topk(idx, q, want, hits, err);
  double t1 = chr_clock_seconds();
  if (found < 0) {
    status = err->code;
    goto cleanup;
  }
  status = chr_search_rerank(idx, q, o, hits, found, matches, NULL, err);
  if (status != CHR_OK) goto cleanup;
  *count = chr_matches_rank(matches, found, o->k);
  for (int i = 0; i < *count; ++i) out[i] = matches[i];
  if (ann_ms) *ann_ms = (t1 - t0) * 1e3;
  if (rerank_ms) *rerank_ms = (chr_clock_seconds() - t1) * 1e3;
cleanup:
  free(hits);
  free(matches);
  return status;
}
