/* `chromatica eval` figures (issue 5): for each search mode, recall@k against the exact
 * all-image EMD top-k, latency per stage (mean and p95), throughput and the fraction of
 * candidates pruned, and how many queries had a Sinkhorn solve stop at sinkhorn_max_iter
 * before reaching sinkhorn_tol; written as JSON (atomically) and as a human table. No MPI calls;
 * not collective (rank 0 calls it). */
#ifndef CHROMATICA_EVAL_REPORT_H
#define CHROMATICA_EVAL_REPORT_H

#include <stdio.h>

#include "chromatica/batch.h"
#include "chromatica/error.h"
#include "chromatica/results.h"

/* The candidate pool a mode reranks: every image (the "bounds" stage, or the truth), the
 * Hellinger stage-1 top-R (R = the query's own max(k, rerank_k), or pool_r when > 0), or, in
 * fast mode, the top-k itself. */
typedef enum { CHR_POOL_ALL, CHR_POOL_HELLINGER, CHR_POOL_TOPK } chr_pool_kind;

typedef struct {
  char name[48];
  const chr_query_result *results; /* one per query, batch order */
  double wall_ms;                  /* the mode's whole search phase, measured */
  chr_pool_kind pool;
  int pool_r;
} chr_eval_mode;

typedef struct {
  const char *dataset, *queries;
  int64_t images;
  int ranks, threads_per_rank, query_groups, shards;
} chr_eval_context;

/* Scores every mode against truth (the exact all-image EMD answers) over the queries that
 * are valid and answered by both; writes the JSON to path (with the batch's total and valid
 * query counts and every invalid query: index, query_id, error) and the table to table (may be
 * NULL). Recall@k of a query = |mode's top-k ids that are in the truth's top-k| / |truth's
 * top-k|. Pool recall = the share of the truth's top-k inside the mode's candidate pool, read
 * for Hellinger pools from hellinger (each query's stage-1 top-CHR_RESULTS_K_MAX by ann_score,
 * batch order); a mode with a pool larger than that gets null. CHR_EIO/CHR_ENOMEM on failure
 * (path untouched). */
chr_status chr_eval_report_write(const char *path, const chr_eval_context *ctx,
                                 const chr_batch_query *queries, int n, const chr_eval_mode *modes,
                                 int n_modes, const chr_eval_mode *truth,
                                 const chr_query_result *hellinger, FILE *table, chr_error *err);

#endif
