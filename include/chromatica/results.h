/* What a search run produces, as plain data that can travel between ranks as bytes and that
 * the report writer turns into JSON. No pointers inside, so arrays of these are sent whole. */
#ifndef CHROMATICA_RESULTS_H
#define CHROMATICA_RESULTS_H

#include <stdint.h>

#include "chromatica/duplicates.h"
#include "chromatica/error.h"
#include "chromatica/image_row.h"

#define CHR_RESULTS_K_MAX 200
/* A hit's dominant bins stand in for its palette (when the dataset has no /palettes), slot for
 * slot, so there are as many as a palette has colours. */
#define CHR_DOMINANT_MAX CHR_PALETTE_MAX

/* One ranked image. dominant_bin holds the image's heaviest bins (heaviest first, ties by lower
 * bin; -1 marks an unused slot), used when the dataset has no /palettes. */
typedef struct {
  int64_t row;
  double distance;
  double ann_score;
  int16_t dominant_bin[CHR_DOMINANT_MAX];
} chr_result_hit;

/* The outcome of one valid query. Times: start_s/end_s on the job's common clock (seconds since
 * the barrier that opens the search phase); the rest measured on the answering group's leader. */
typedef struct {
  int query_index; /* position in the batch */
  int ok;
  char error[CHR_ERROR_MESSAGE_MAX];
  int64_t candidates; /* images the rerank ranked: R, every image (scope all), or k (fast) */
  int64_t pruned;     /* of those, skipped by an EMD lower bound without solving the EMD */
  /* Metric sinkhorn: problems solved, how many stopped at sinkhorn_max_iter before reaching
   * sinkhorn_tol, and the largest final row-marginal L1 error (all 0 for EMD and fast mode). */
  int64_t sinkhorn_solved, sinkhorn_unconverged;
  double sinkhorn_error_max;
  int count;
  chr_result_hit hits[CHR_RESULTS_K_MAX];
  double start_s, end_s;
  double ann_ms, rerank_ms, total_ms;
  int group;     /* query group that answered it */
  int cache_hit; /* 1: an identical earlier query's answer (chromatica/query_cache.h) */
  int answered;  /* 1: searched (or a cache hit); 0: the run stopped before this query */
} chr_query_result;

/* Per-rank figures for the report's run.per_rank. */
typedef struct {
  int rank;
  int group;
  int shard;
  int64_t first_row;
  int64_t rows;
  int queries; /* queries this rank's group answered */
  double read_ms;
  double distribute_ms;
  double search_ms;
  double peak_rss_mb;
  int threads; /* OpenMP threads this rank ran */
} chr_rank_stats;

typedef struct {
  const char *version;
  int ranks, threads_per_rank, query_groups, shards;
  const char *io_mode;
  const char *index; /* "stored" (the dataset's stored index) or "built" (from /histograms) */
  const char *dataset_path;
  int64_t images;
  double read_ms, distribute_ms, search_ms, gather_ms, write_ms; /* job phases, rank 0's view */
  double total_ms;
  int incomplete;             /* 1: stopped by a signal before every query was answered */
  const char *stopped_by;     /* the signal's name when incomplete */
  const chr_dups *duplicates; /* the dataset's collapsed rows (NULL: none known) */
  const char *threads_source; /* where threads_per_rank came from (NULL: not reported) */
} chr_run_info;

#endif
