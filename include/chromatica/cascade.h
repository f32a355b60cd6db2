/* The cheap first step of the "cascade" candidate stage (issue 14): an EMD-aware bound of every
 * image, streamed like the stage-1 scan from the binary16 root columns and the index's
 * per-image summaries, and the shard's top rows by it. The cascade as a whole
 * (src/mpi/cascade.c) keeps the best CHR_CASCADE_WIDEN x pool-size rows by this bound, orders
 * those by max(this, chr_cascade_bound_tight), and hands the best pool-size rows to the exact
 * EMD rerank. It is not certified: the cheap bound is a lower bound of the EMD only up to
 * rounding (binary16 roots, marginals in 1/255), and an image outside the pool is never looked
 * at again.
 *
 * The cheap bound of image x (masses b_t summing to 1) for query q is the largest of
 * - the centroid bound |mean_q - mean_x| (chr_emd_bound_centroid; the image means are kept by
 *   the index, chr_index_centroid_column);
 * - the 1-D EMD of the L, a and b marginals: sum over levels of |F_q - F_x| x the bin width
 *   (projecting a plan onto an axis gives a 1-D plan costing no more; the image CDFs are kept by
 *   the index in units of 1/255, chr_index_cdf_column); the term that sees mass far from the
 *   query, which the next one cannot;
 * - the clipped dot sum_t b_t min(d_q(t), c) = c - sum_t b_t (c - d_q(t))_+, where d_q(t) is
 *   the distance from bin t to the query's nearest support bin and c the (K + 1)-th smallest
 *   d_q, K = min(CHR_CASCADE_BINS_MAX, CHR_CASCADE_BINS_PER_QUERY_BIN x the query's bins): only
 *   the K bins nearest the query have (c - d_q)_+ > 0, so it reads K root columns, not the
 *   image's whole support (b_t is read as the square of the stored root); it equals the all-N
 *   dot bound for images whose mass lies within c of the query.
 * Every row's value is computed by the same float and integer operations in the same order, so
 * it never depends on threads, shards or vector width. Not collective. */
#ifndef CHROMATICA_CASCADE_H
#define CHROMATICA_CASCADE_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/grid.h"
#include "chromatica/query.h"
#include "chromatica/scan.h"
#include "chromatica/topk.h"

/* Columns the cheap bound reads: this many per query bin, at most CHR_CASCADE_BINS_MAX. With 1
 * they are the query's own bins, the columns stage 1 reads, and c is the distance to the
 * nearest other bin. Measured on the real collections (50 random palettes), 2 per query bin
 * gave the same recall (0.998 openclipart, 0.974 Twemoji) at twice the cost of the column
 * reads: far mass is seen by the marginal term, not by wider clipping. */
#define CHR_CASCADE_BINS_PER_QUERY_BIN 1
#define CHR_CASCADE_BINS_MAX 64

/* Rows kept by the cheap bound, as a multiple of the final pool size max(k, rerank_k). */
#define CHR_CASCADE_WIDEN 4

typedef struct {
  int count; /* bins with weight > 0, ascending */
  int bin[CHR_CASCADE_BINS_MAX];
  float weight[CHR_CASCADE_BINS_MAX]; /* c - d_q(bin) */
  float clip;                         /* c */
  float centroid[3];                  /* the query's mean L, a, b */
  uint8_t cdf[CHR_INDEX_CDF];         /* its marginals' cumulative distributions (as the index) */
  float spacing[3];                   /* the bin width along L, a, b, per 1/255 of mass */
  chr_qhist q;
  double nearest[CHR_BINS]; /* d_q(t) */
} chr_cascade_query;

/* Tabulates the cheap bound of query q. */
void chr_cascade_init(const chr_qhist *q, chr_cascade_query *c);

/* The tighter bound of step (2): the relaxed (RWMD) bound of include/chromatica/bounds.h with
 * the centroid bound, max(centroid, sum_j b_j d_q(j), sum_i a_i min_j C(q_i, t_j)), from the
 * image's support in double; O(n m) with a cost table laid out for the inner minimum. */
typedef struct {
  double cost[CHR_BINS][CHR_QUERY_MAX_BINS]; /* C(q_i, t), image bin first */
  chr_lab centre[CHR_BINS];
} chr_cascade_tight;

/* Tabulates the tighter bound of c's query. */
void chr_cascade_tight_init(const chr_cascade_query *c, chr_cascade_tight *t);

/* The tighter bound of an image support (n >= 1 bins with mass > 0). */
double chr_cascade_bound_tight(const chr_cascade_query *c, const chr_cascade_tight *t,
                               const uint16_t *bins, const float *mass, int n);

/* Step (2) for n of c's rows (hits: global rows, score = their cheap bound): tight[e] =
 * max(hits[e].score, chr_cascade_bound_tight of the row's support) and ann[e] = its
 * chr_scan_score, bit for bit as one call each would give, while later rows' sparse entries are
 * fetched (the rows are scattered: waiting for each in turn was most of the time). OpenMP over
 * the rows when called outside a parallel region. */
void chr_cascade_finish(const chr_index *idx, const chr_cascade_query *c,
                        const chr_cascade_tight *t, const chr_hit *hits, int n, double *tight,
                        double *ann);

/* The cheap bound of local row r, one row at a time: the reference of chr_cascade_select. */
double chr_cascade_bound_row(const chr_index *idx, const chr_cascade_query *c, int64_t r);

/* For each of nq queries, the shard's best min(want[i], rows) rows by (cheap bound, global row)
 * into out[i] (want[i] slots, best-first, score = the bound), count in counts[i]. One pass over
 * the rows in blocks for all nq queries (a block's columns are read from memory once and stay in
 * the cache while every query bounds it), OpenMP over blocks when called outside a parallel
 * region. Once a query's list is full, a row whose centroid term (computed for the whole block)
 * or one of whose marginal terms is already above its worst kept bound cannot enter and is not
 * bounded further: the bound is the largest of its terms. Every row that is offered has the
 * value chr_cascade_bound_row gives it, so the result is the exact top by that order whatever
 * the thread count or the other queries of the wave. CHR_ENOMEM. */
chr_status chr_cascade_select(const chr_index *idx, const chr_cascade_query *const *cs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err);

#endif
