/* Private to src/core (scan.c, and cascade.c for chr_half_to_float) and its unit tests: the
 * binary16 square-root columns of the index and the SIMD kernels of the approximate stage-1 sum.
 *
 * The index stores sqrt(x) of every histogram entry as an IEEE binary16 ("half"), column by
 * column. The scan sums w_k * half_k in float for 64 rows at a time and keeps only rows whose
 * approximate sum could still reach the block's top; scan.c re-scores those exactly from the
 * CSR rows, so the kernels may differ in rounding (FMA or not, vector width) without changing
 * any result. Kernels exist for AVX-512, AVX2+FMA+F16C and portable C, chosen by the CPU at run
 * time (no -march=native needed). */
#ifndef CHROMATICA_CORE_SCAN_KERNELS_H
#define CHROMATICA_CORE_SCAN_KERNELS_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"

/* Rows per kernel call; the roots buffer's stride is a multiple of it. */
#define CHR_SCAN_GROUP 64

/* Round to nearest, ties to even; beyond the binary16 range gives infinity, NaN stays NaN.
 * For a finite f in [0, 65504]: |half - f| <= 2^-11 * f + 2^-25. */
uint16_t chr_half_from_float(float f);

/* Exact. */
float chr_half_to_float(uint16_t h);

/* How far below the keep-th best approximate sum a row can be and still be in the exact top:
 * twice the bound on |approximate sum - chr_scan_score's double sum| for query q on rows that
 * are non-negative and sum to at most max_row_sum, plus 2^-50 so the rounded scores of rows
 * rejected are strictly worse (the derivation is at the definition). */
double chr_scan_margin(const chr_qhist *q, double max_row_sum);

typedef enum { CHR_KERNELS_PORTABLE, CHR_KERNELS_AVX2, CHR_KERNELS_AVX512 } chr_kernel_level;

typedef struct {
  chr_kernel_level level;
  /* dst[i] = chr_half_to_float(src[i]) for i < len. */
  void (*widen)(float *dst, const uint16_t *src, int len);
  /* For rows r < CHR_SCAN_GROUP: acc[r] = sum over k < count of w[k] * roots[slot[k] * stride + r]
   * in float (any rounding order); returns the mask whose bit r is set when acc[r] >= admit. */
  uint64_t (*group)(const float *roots, int stride, const int *slot, const float *w, int count,
                    float admit, float *acc);
} chr_scan_kernels;

/* 1 if this CPU (and this build) can run the kernels of `level`. */
int chr_scan_kernels_supported(chr_kernel_level level);

/* The kernels of `level`, which must be supported. */
chr_scan_kernels chr_scan_kernels_at(chr_kernel_level level);

/* The kernels the environment variable CHR_SCAN_KERNELS names (portable, avx2, avx512), or the
 * widest supported when it is unset or empty. CHR_EINVAL naming the value when it is unknown or
 * not supported here. Results never depend on the choice; it exists to test and time each. */
chr_status chr_scan_kernels_choose(chr_scan_kernels *out, chr_error *err);

#endif
