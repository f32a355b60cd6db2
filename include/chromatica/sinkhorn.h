/* Stage-2 rerank distance on supports (spec section 5): entropic OT (Sinkhorn) between the
 * query histogram and one image's support, with the CIE76 ground cost between bin centres.
 * Standard-domain iterations while exp(-C/eps) stays representable, stabilised log-domain
 * iterations otherwise. Computes in double. Not collective; reentrant. */
#ifndef CHROMATICA_SINKHORN_H
#define CHROMATICA_SINKHORN_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"

/* The accepted range of the relative epsilon, for the solver and for every command that takes
 * one (search's sinkhorn_epsilon, eval's --epsilons). Below the minimum, max C / eps exceeds
 * 1e4: the log-domain potentials grow past 1e4 (so double keeps fewer than 12 significant
 * digits of the plan's exponents), and the iteration needs far more than any useful cap to
 * reach its tolerance (README, "Decisions where the spec is silent"). */
#ifndef CHR_SINKHORN_EPSILON_MIN /* only tests/bench/sinkhorn_epsilon.c lowers it, to look below \
                                  */
#define CHR_SINKHORN_EPSILON_MIN 1e-4
#endif
#define CHR_SINKHORN_EPSILON_MAX 10.0

typedef struct {
  double epsilon; /* relative: eps = epsilon * chr_grid_cost_max(); in [MIN, MAX] above */
  double tol;     /* stop when the row-marginal L1 error is below this */
  int max_iter;   /* at most this many (u, v) updates; >= 1 */
} chr_sinkhorn_params;

typedef struct {
  double distance; /* sum_ij u_i K_ij v_j C_ij, in Delta E units: the cost of the final plan */
  int iterations;  /* (u, v) updates performed */
  double error;    /* final row-marginal L1 error */
  int converged;   /* 1: error < tol; 0: max_iter ran out first (distance is then the cost of
                      a plan whose row marginals are off by error, and may lie below the EMD) */
  int log_domain;  /* 1 if the stabilised log-domain path was used */
} chr_sinkhorn_result;

/* Distance between q and the image support (bins ascending, mass > 0, n >= 1). The image mass
 * is renormalised in double to sum to 1. The final plan's columns always carry the image's
 * masses, so distance lies in [0, max C] whether or not the iteration converged.
 * CHR_ENOMEM or CHR_EINVAL on failure (also if rounding ever made distance or error
 * non-finite or distance fall outside [0, max C]: never returned as an answer). */
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

/* Scratch memory for chr_sinkhorn_candidate_with, grown to the largest problem it has held:
 * one per thread, reused across candidates, so a search makes no allocation per candidate
 * (a ~30 KB malloc and free per pair cost as much as the solve itself once the heap of a
 * loaded index started trimming and faulting pages back in). Not shared between threads. */
typedef struct chr_sinkhorn_work chr_sinkhorn_work;

/* An empty workspace (it grows on use). The caller frees *out with chr_sinkhorn_work_destroy.
 * CHR_ENOMEM on failure. */
chr_status chr_sinkhorn_work_create(chr_sinkhorn_work **out, chr_error *err);

/* Frees the workspace and sets *p = NULL; accepts NULL. */
void chr_sinkhorn_work_destroy(chr_sinkhorn_work **p);

/* chr_sinkhorn_candidate with its scratch from work (NULL: allocated for this call alone):
 * the same result, bit for bit. */
chr_status chr_sinkhorn_candidate_with(const chr_sinkhorn_query *sq, chr_sinkhorn_work *work,
                                       const uint16_t *bins, const float *mass, int n,
                                       chr_sinkhorn_result *out, chr_error *err);

#endif
