/* Stage-2 rerank distance on supports (spec section 5, metric "emd"): the exact Earth Mover's
 * Distance (W1) between the query histogram and one image's support, with the CIE76 ground
 * cost between bin centres. Transportation simplex in double. Not collective; reentrant. */
#ifndef CHROMATICA_EMD_H
#define CHROMATICA_EMD_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/grid.h"
#include "chromatica/query.h"

/* Writes sum_ij T_ij C_ij of an optimal transport plan T between q (masses sum to 1) and the
 * image support (bins < CHR_BINS, mass finite and > 0, n >= 1; the image mass is renormalised
 * in double to sum to 1) to *distance, in Delta E units. Deterministic: the same inputs give a
 * bit-identical result. CHR_EINVAL on bad input or if the simplex does not converge within its
 * iteration cap, CHR_ENOMEM if the one work buffer cannot be allocated. */
chr_status chr_emd(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                   double *distance, chr_error *err);

/* chr_emd, and when dual is not NULL it receives the query side's optimal dual potentials
 * u[0 .. q->count) (u_i + v_j <= C_ij with equality on the plan's cells). Any u gives a lower
 * bound on the EMD of every other image (chr_emd_dual_bound_init in bounds.h), exact for this
 * one. */
chr_status chr_emd_dual(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                        double *distance, double *dual, chr_error *err);

/* chr_emd_dual with the query's ground-cost rows given: cost[i][t] must be
 * chr_grid_cost(q->bin[i], t) (chr_emd_bounds.cost holds them, made once per query), so the
 * solve looks costs up instead of computing them; the same bits as chr_emd_dual. cost NULL
 * computes them. */
chr_status chr_emd_dual_table(const chr_qhist *q, const double (*cost)[CHR_BINS],
                              const uint16_t *bins, const float *mass, int n, double *distance,
                              double *dual, chr_error *err);

#endif
