/* Private to src/core/sinkhorn.c (and its unit test): one Sinkhorn problem on the supports, the
 * standard-domain iteration compiled for several x86 vector widths, and the log-domain one.
 *
 * Every level performs the same floating-point operations in the same order as the scalar
 * loop of sinkhorn.c's header comment (no FMA: chr_core builds with -ffp-contract=off), so the
 * level changes the speed only, never a bit of a result. The speed comes from independence, not
 * reordering: K v sums each row over j in order but many rows at once (from K transposed), and
 * K^T u adds four rows of K per pass, written left to right. */
#ifndef CHROMATICA_CORE_SINKHORN_KERNELS_H
#define CHROMATICA_CORE_SINKHORN_KERNELS_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"
#include "chromatica/sinkhorn.h"
#include "scan_kernels.h" /* chr_kernel_level */

/* Rows of K transposed are padded to a multiple of this (the smallest row block of K v). */
#define CHR_SINKHORN_ROW_PAD 8

typedef struct {
  int nq, nx;
  int nqp; /* nq rounded up to CHR_SINKHORN_ROW_PAD: the row stride of mt */
  const double *a, *b;
  double *m;   /* standard: K_ij; log domain: -C_ij / eps */
  double *mt;  /* standard only: K transposed, mt[j * nqp + i] = K_ij, zero for i >= nq */
  double *c;   /* C_ij */
  double *u;   /* standard: u; log domain: alpha = log u */
  double *v;   /* standard: v; log domain: beta = log v */
  double *kv;  /* standard: K v; log domain: log(K v) */
  double *ktu; /* standard: K^T u; log domain: log(K^T u) */
} chr_sinkhorn_problem;

/* The standard-domain iteration on p (m, mt, a, b filled; v, u, kv, ktu scratch), at most
 * params->max_iter updates; sets *iterations and returns the final row-marginal L1 error.
 * The level must be supported (chr_scan_kernels_supported). */
double chr_sinkhorn_iterate_standard(chr_kernel_level level, chr_sinkhorn_problem *p,
                                     const chr_sinkhorn_params *params, int *iterations);

/* The log-domain iteration on p (m = -C/eps, a, b filled; v, u, kv, ktu scratch, holding
 * logarithms): the same loop and stopping rule as the standard one, scalar. */
double chr_sinkhorn_iterate_log(chr_sinkhorn_problem *p, const chr_sinkhorn_params *params,
                                int *iterations);

/* The widest level this CPU runs. */
chr_kernel_level chr_sinkhorn_level_best(void);

/* chr_sinkhorn with the standard-domain iteration at `level` (supported): the same bits at
 * every level. For the unit test. */
chr_status chr_sinkhorn_at(chr_kernel_level level, const chr_qhist *q, const uint16_t *bins,
                           const float *mass, int n, const chr_sinkhorn_params *params,
                           chr_sinkhorn_result *out, chr_error *err);

#endif
