/* Per-query search options and the two-stage search of one query against one index shard
 * (spec sections 4-5): exact stage-1 top-R, then the rerank of candidates on their supports.
 * The MPI layer composes these across shards; a single-shard run uses chr_search_shard.
 * Not collective; uses OpenMP inside when called outside a parallel region. */
#ifndef CHROMATICA_SEARCH_H
#define CHROMATICA_SEARCH_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"
#include "chromatica/scan.h"
#include "chromatica/topk.h"

/* The stage-2 metric. Its name, and how a batch spells it, is one row of the metric table
 * (chromatica/options.h); its solver is one case of the switch in rerank_unit (search.c). */
typedef enum { CHR_METRIC_SINKHORN = 0, CHR_METRIC_EMD = 1 } chr_metric;
#define CHR_METRIC_COUNT 2

/* Which images the rerank ranks: the stage-1 top-R (Hellinger, v1), or (metric emd only)
 * every image through the EMD lower bounds ("bounds"), or (metric emd only) the top-R of an
 * EMD-aware cascade of bounds ("cascade", include/chromatica/cascade.h: not certified, but its
 * cost grows like stage 1's); AUTO, the default, is resolved per query once the dataset's size
 * is known (chr_search_options_resolve). The values are those of the older rerank_scope
 * (candidates 0, all 1), which the query cache hashes. Names: chromatica/options.h. */
typedef enum {
  CHR_STAGE_HELLINGER = 0,
  CHR_STAGE_BOUNDS = 1,
  CHR_STAGE_AUTO = 2,
  CHR_STAGE_CASCADE = 3
} chr_candidate_stage;
#define CHR_STAGE_COUNT 4

/* Up to this many images, the default candidate stage of an exact-EMD query is "bounds" (the
 * certified exact top-k over every image); above it, "cascade" (not certified; recall@10
 * 0.998 and 0.974 on the real collections, its candidate stage within about 3x stage 1 on a
 * million images: README, "Answers on real images"). The bounds stage bounds and
 * orders every image per query (O(N) work), so its cost over the v1 default grows with N:
 * measured 1.7-1.8x on the real collections of 3,786 and 6,892 images, 2.8x on 10,000
 * synthetic images, 4.3x on 25,000 and 7.2x on 100,000 (README, "Answers on real images"); the
 * contract allows 3x. */
#define CHR_BOUNDS_AUTO_MAX_IMAGES 10000

/* The largest rerank_k a batch (or `eval --rerank-ks`) may ask for, and the largest k and
 * batch_size (the option table, chromatica/options.h, holds every range). */
#define CHR_RERANK_K_MAX 10000
#define CHR_K_MAX 200
#define CHR_BATCH_SIZE_MAX 50

/* Every per-query knob; batch `options` set them for all queries, a query may override any. */
typedef struct {
  int k;
  int rerank_k;
  chr_metric metric;
  double sinkhorn_epsilon;
  double sinkhorn_tol;
  int sinkhorn_max_iter;
  double sharpen;
  int fast_mode;
  int batch_size; /* candidates per rerank work unit: scheduling only, never results */
  chr_candidate_stage candidate_stage; /* batch keys "candidates" and the older "rerank_scope" */
  int emd_prune; /* metric emd: skip candidates whose lower bound shows they cannot enter */
  int collapse_duplicates; /* images with identical histograms answer once (chromatica/duplicates.h)
                            */
} chr_search_options;

/* The defaults (spec section 11), each the default of its row of the option table
 * (src/core/options.c): k 10, rerank_k 200, metric emd, candidate stage auto, epsilon 0.05,
 * tol 1e-6, 100 iterations, sharpen 1, fast_mode off, batch_size 10, EMD pruning on,
 * duplicates collapsed. */
chr_search_options chr_search_options_default(void);

/* 1 when the query's distances are exact EMD (metric emd outside fast mode): the rerank is then
 * the exact-EMD rounds, and the bounds and cascade stages are allowed. */
int chr_search_exact_emd(const chr_search_options *o);

/* Resolves a CHR_STAGE_AUTO candidate stage for a dataset of `images` images: for exact-EMD
 * queries outside fast mode, "bounds" (CHR_STAGE_BOUNDS) on at most CHR_BOUNDS_AUTO_MAX_IMAGES
 * images and "cascade" (CHR_STAGE_CASCADE) above; "hellinger" (CHR_STAGE_HELLINGER)
 * otherwise. An explicit stage is kept. */
void chr_search_options_resolve(chr_search_options *o, int64_t images);

/* 1 when the query's candidates are stage 1's Hellinger top-R (the hellinger stage, and fast
 * mode); 0 for the bounds and cascade stages, which find their own. */
int chr_search_uses_stage1(const chr_search_options *o);

/* 1 when the exact EMD rerank's pool is every image of the shard (the bounds stage), 0 when it
 * is the candidates a stage before it chose (hellinger, cascade). */
int chr_search_pools_every_image(const chr_search_options *o);

/* 1 when the cascade chooses the candidates (its pool replaces stage 1's), else 0. */
int chr_search_uses_cascade(const chr_search_options *o);

/* R = min(images, max(k, rerank_k)) for the whole dataset. */
int chr_search_candidates(const chr_search_options *o, int64_t images);

/* One ranked answer. distance is the stage-2 distance (or ann_score in fast mode). */
typedef struct {
  int64_t row;
  double distance;
  double ann_score;
} chr_match;

/* chr_order_value_row of two matches' (distance, row). */
int chr_match_compare(const chr_match *a, const chr_match *b);

/* How the Sinkhorn solves of a rerank ended (all zero for EMD and fast mode). Sums and maxima,
 * so the figures of several shards combine in any order to the same values. */
typedef struct {
  int64_t solved;      /* Sinkhorn problems solved */
  int64_t unconverged; /* of those, stopped by sinkhorn_max_iter before reaching sinkhorn_tol */
  double error_max;    /* the largest final row-marginal L1 error among them */
} chr_rerank_stats;

/* Adds b's figures to a. */
void chr_rerank_stats_add(chr_rerank_stats *a, const chr_rerank_stats *b);

/* Reranks n candidates (ann hits whose rows all lie in idx) into out[0..n) in the same
 * order: out[i] = {row, distance, ann_score}; distance by options->metric (Sinkhorn or exact
 * EMD). Work units of options->batch_size candidates. stats (may be NULL) receives how the
 * Sinkhorn solves ended. CHR_ENOMEM on allocation failure, CHR_EINVAL if a solve fails. */
chr_status chr_search_rerank(const chr_index *idx, const chr_qhist *q, const chr_search_options *o,
                             const chr_hit *candidates, int n, chr_match *out,
                             chr_rerank_stats *stats, chr_error *err);

/* Sorts n matches best-first and returns min(n, k). */
int chr_matches_rank(chr_match *matches, int n, int k);

/* The whole search of one query against one index holding every image: out must hold
 * options->k matches; *count receives how many were found. The optional times receive the
 * measured stage durations in milliseconds. */
chr_status chr_search_shard(const chr_index *idx, const chr_qhist *q, const chr_search_options *o,
                            chr_match *out, int *count, double *ann_ms, double *rerank_ms,
                            chr_error *err);

#endif
