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

#endif
