/* Private to src/core: the checks both rerank solvers make on an image support. */
#ifndef CHROMATICA_CORE_SUPPORT_H
#define CHROMATICA_CORE_SUPPORT_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"

/* Checks q (1..CHR_QUERY_MAX_BINS bins) and the image support (n >= 1 entries, each a bin below
 * CHR_BINS with finite mass > 0) and returns the support's total mass in *total (double).
 * Errors start with `solver` ("sinkhorn", "emd") and name the offending entry. */
chr_status chr_support_check(const char *solver, const chr_qhist *q, const uint16_t *bins,
                             const float *mass, int n, double *total, chr_error *err);

#endif
