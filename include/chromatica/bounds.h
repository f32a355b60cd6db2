/* Lower bounds on the exact EMD (metric "emd", spec section 5) between a query and an image,
 * used to skip candidates that cannot enter the top-k (issue 5). Each holds because the ground
 * cost is the Euclidean distance between Lab bin centres:
 * - centroid: |mean_q - mean_x|, since sum T_ij |c_i - c_j| >= |sum T_ij (c_i - c_j)|;
 * - relaxed (RWMD): every unit of mass travels at least to the nearest bin of the other side:
 *   max(sum_i a_i min_j C_ij, sum_j b_j min_i C_ij);
 * - ICT, query side: the relaxed bound with each transfer capped at min(a_i, b_j);
 * - all-N, one dot per image: the image half of the relaxed bound, sum_j b_j d_q(j), with
 *   d_q(t) = min_i C(q_i, t) tabulated once per query over all 1152 bins.
 * Image masses are renormalised in double exactly as chr_emd does, so a bound exceeds the
 * distance chr_emd computes only by rounding; chr_emd_bound_prunes allows for it. Pure; not
 * collective; thread-safe. */
#ifndef CHROMATICA_BOUNDS_H
#define CHROMATICA_BOUNDS_H

#include <stdint.h>

#include "chromatica/grid.h"
#include "chromatica/query.h"
#include "chromatica/scan.h"

typedef struct {
  chr_qhist q;
  double cost[CHR_QUERY_MAX_BINS][CHR_BINS];      /* chr_grid_cost(q.bin[i], t), made once */
  uint16_t by_cost[CHR_QUERY_MAX_BINS][CHR_BINS]; /* every bin, nearest to q.bin[i] first */
  double nearest[CHR_BINS]; /* d_q(t): distance from bin t to the query's nearest support bin */
  chr_lab centroid;         /* mass-weighted mean of the query's bin centres */
  chr_lab centre[CHR_BINS]; /* chr_grid_bin_centre of every bin, looked up per image bin */
} chr_emd_bounds;

/* Tabulates the per-query parts of the bounds. */
void chr_emd_bounds_init(const chr_qhist *q, chr_emd_bounds *b);

/* The all-N (one dot) bound of an image support (n >= 1 bins with mass > 0). */
double chr_emd_bound_dot(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n);

/* The centroid bound. */
double chr_emd_bound_centroid(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                              int n);

/* The relaxed (RWMD) bound; never below chr_emd_bound_dot. */
double chr_emd_bound_relaxed(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                             int n);

/* The query side of the iterative-constrained-transfers bound (ICT): each query bin i sends
 * its mass a_i to the image bins in order of cost, at most b_j to bin j, since an optimal plan
 * has T_ij <= min(a_i, b_j) and row sums a_i; the cheapest such rows cost at most the plan.
 * Never below the query half of the relaxed bound. O(m n) per image, plus a few scans. */
double chr_emd_bound_ict_query(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                               int n);

/* max(centroid, dot): the bound every pool entry starts with, O(n) per image. (The relaxed
 * query side and ICT cost O(m n) each; measured on real images, ordering a pool by them costs
 * more than the EMDs they spare, so ICT is checked only just before a solve.) */
double chr_emd_bound_pool(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n);

/* max(centroid, dot, ICT query side): the tightest bound here, for a candidate about to be
 * evaluated. It is never below the relaxed bound in exact arithmetic, since the ICT query side
 * dominates the relaxed query side (in floating point it may be an ulp below). */
double chr_emd_bound_best(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n);

/* The dual bound of one feasible dual of the query side (issue 14). For any u in R^m,
 * v_j = min_i (C(q_i, t_j) - u_i) makes (u, v) dual feasible, so by weak duality
 *   sum_i a_i u_i + sum_j b_j min_i (C(q_i, t_j) - u_i)  <=  EMD(q, b)
 * for every image b; it is a sparse dot with a per-u table over the 1152 bins, exact for the
 * image whose optimal dual u is (chr_emd_dual), and tight for images that look like it. With
 * u = 0 it is the image half of the relaxed bound. */
typedef struct {
  double offset;      /* sum_i a_i u_i */
  double g[CHR_BINS]; /* min_i (C(q_i, t) - u_i) */
} chr_emd_dual_bound;

/* Tabulates the dual bound of u[0 .. b->q.count) for the query of b. */
void chr_emd_dual_bound_init(const chr_emd_bounds *b, const double *u, chr_emd_dual_bound *d);

/* The dual bound of an image support (n >= 1 bins with mass > 0). */
double chr_emd_bound_dual(const chr_emd_dual_bound *d, const uint16_t *bins, const float *mass,
                          int n);

/* The most dual bounds chr_emd_bound_dual_max takes at once. */
#define CHR_EMD_DUAL_MAX 8

/* max(floor, the dual bounds d[0 .. count) of one image support), count <= CHR_EMD_DUAL_MAX:
 * each bound has exactly the bits chr_emd_bound_dual gives, with the support's total and
 * normalised masses computed once for all of them. */
double chr_emd_bound_dual_max(const chr_emd_dual_bound *d, int count, const uint16_t *bins,
                              const float *mass, int n, double floor);

/* The pool bound of every local row of idx into out[0 .. rows), OpenMP over rows when called
 * outside a parallel region. */
void chr_emd_bound_rows(const chr_emd_bounds *b, const chr_index *idx, double *out);

/* 1 when a candidate with this lower bound cannot enter a top-k whose current k-th distance is
 * threshold: bound > threshold by more than rounding (relative 1e-9, absolute 1e-12 Delta E),
 * so its computed distance would be strictly larger and no tie could let it in. */
int chr_emd_bound_prunes(double bound, double threshold);

#endif
