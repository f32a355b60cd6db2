/* The pre-issue-14 exact EMD solver, kept as the tests' bit-for-bit reference
 * (emd_reference.c). Same contract as chr_emd_dual. */
#ifndef CHROMATICA_TEST_EMD_REFERENCE_H
#define CHROMATICA_TEST_EMD_REFERENCE_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"

chr_status emd_reference_dual(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                              double *distance, double *dual, chr_error *err);

#endif
