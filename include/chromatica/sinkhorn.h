/* Stage-2 rerank distance on supports (spec section 5): entropic OT (Sinkhorn) between the
 * query histogram and one image's support, with the CIE76 ground cost between bin centres.
 * Standard-domain iterations while exp(-C/eps) stays representable, stabilised log-domain
 * iterations otherwise. Computes in double. Not collective; reentrant. */
#ifndef CHROMATICA_SINKHORN_H
#define CHROMATICA_SINKHORN_H

#include <stdint.h>
#include "chromatica/error.h"
#include "chromatica/query.h"

typedef struct {
  double epsilon;  /* relative: eps = epsilon * chr_grid_cost_max(); > 0 */
  double tol;      /* stop when the row-marginal L1 error is below this */
  int max_iter;    /* at most this many (u, v) updates; >= 1 */
} chr_sinkhorn_params;

typedef struct {
  double distance; /* sum_ij u_i K_ij v_j C_ij, in Delta E units */
  int iterations;  /* (u, v) updates performed */
  double error;    /* final row-marginal L1 error */
  int log_domain;  /* 1 if the stabilised log-domain path was used */
} chr_sinkhorn_result;

/* Distance between q and the image support (bins ascending, mass > 0, n >= 1). The image mass
 * is renormalised in double to sum to 1. CHR_ENOMEM or CHR_EINVAL on failure. */
chr_status chr_sinkhorn(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                        const chr_sinkhorn_params *params, chr_sinkhorn_result *out,
                        chr_error *err);

/* The query's side of all its (query, candidate) problems, made once and shared by every
 * candidate (and thread): the ground cost and the standard-domain kernel exp(-C/eps) from each
 * query bin to every grid bin, so a candidate's problem is filled by lookups instead of
 * count x n cost and exp evaluations. Read-only once made. */
typedef struct chr_sinkhorn_query chr_sinkhorn_query;

/* Copies q and params (checked as chr_sinkhorn does). The caller frees *out with
 * chr_sinkhorn_query_destroy. CHR_EINVAL or CHR_ENOMEM on failure. */
chr_status chr_sinkhorn_query_create(const chr_qhist *q, const chr_sinkhorn_params *params,
                                     chr_sinkhorn_query **out, chr_error *err);

/* Frees the tables and sets *p = NULL; accepts NULL. */
void chr_sinkhorn_query_destroy(chr_sinkhorn_query **p);

/* chr_sinkhorn for the query and parameters of sq: the same result, bit for bit. */
chr_status chr_sinkhorn_candidate(const chr_sinkhorn_query *sq, const uint16_t *bins,
                                  const float *mass, int n, chr_sinkhorn_result *out,
                                  chr_error *err);

#endif
