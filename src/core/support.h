/* Private to src/core: the checks both rerank solvers make on an image support, and the two
 * OpenMP questions the row scans ask (answered without OpenMP too). */
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

/* Threads for a parallel region opened here: OpenMP's maximum outside any parallel region, 1
 * inside one (regions do not nest) or without OpenMP. */
int chr_region_threads(void);

/* The calling thread's number in its team; 0 outside a parallel region or without OpenMP. */
int chr_thread_num(void);

#endif
