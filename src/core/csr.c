/* Sparse rows of histograms for the stored index (see include/chromatica/csr.h). */
#include "chromatica/csr.h"

#include <math.h>
#include <string.h>

#include "chromatica/grid.h"
#include "chromatica/mix.h"

void chr_csr_from_dense(const float *rows, int64_t count, uint16_t *bins, float *mass, int64_t *nnz,
                        int64_t *ends) {
  int64_t at = *nnz;
  for (int64_t r = 0; r < count; ++r) {
    const float *x = rows + r * CHR_BINS;
    for (int b = 0; b < CHR_BINS; ++b)
      if (x[b] != 0.0f) {
        bins[at] = (uint16_t)b;
        mass[at] = x[b];
        ++at;
      }
    ends[r] = at;
  }
  *nnz = at;
}

uint64_t chr_csr_row_term(int64_t row, const uint16_t *bins, const float *mass, int n) {
  uint64_t key = chr_mix64((uint64_t)row + 0x9e3779b97f4a7c15ULL);
  /* The entry count too, so a row cut short by a truncated /index/bins never matches. */
  uint64_t h = chr_mix64(key ^ (uint64_t)n);
  /* A sum of independent mixes (not a chain): the entries hash in parallel in the pipeline. */
  for (int j = 0; j < n; ++j) {
    uint32_t bits;
    memcpy(&bits, &mass[j], sizeof bits);
    h += chr_mix64(key ^ (((uint64_t)bins[j] << 32) | bits));
  }
  return h;
}

/* check_row's test without the message, for the parallel pass; *total: the row's double sum. */
static int row_ok(const uint16_t *bins, const float *mass, int64_t n, double *total) {
  double sum = 0.0;
  int ok = 1;
  for (int64_t j = 0; j < n; ++j) {
    ok &= bins[j] < CHR_BINS && (j == 0 || bins[j] > bins[j - 1]) && mass[j] > 0.0f &&
          !isinf(mass[j]);
    sum += mass[j];
  }
  *total = sum;
  return ok && fabs(sum - 1.0) <= 1e-3;
}

static chr_status check_row(const uint16_t *bins, const float *mass, int64_t n, int64_t row,
                            chr_error *err) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    if (bins[j] >= CHR_BINS || (j > 0 && bins[j] <= bins[j - 1]))
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/bins row %lld: entry %lld is bin %d (expected ascending bins "
                           "< %d)",
                           (long long)row, (long long)j, (int)bins[j], CHR_BINS);
    if (!(mass[j] > 0.0f) || isinf(mass[j]))
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/mass row %lld: entry %lld is %g (expected finite, > 0)",
                           (long long)row, (long long)j, (double)mass[j]);
    sum += mass[j];
  }
  if (fabs(sum - 1.0) > 1e-3)
    return chr_error_set(err, CHR_EFORMAT, "/index row %lld: sums to %.6g (expected 1 within 1e-3)",
                         (long long)row, sum);
  return CHR_OK;
}

chr_status chr_csr_check(const int64_t *offsets, const uint16_t *bins, const float *mass,
                         int64_t first, int64_t count, int64_t nnz, uint64_t *sum, chr_error *err) {
  double max_row_sum = 0.0;
  return chr_csr_check_summed(offsets, bins, mass, first, count, nnz, sum, &max_row_sum, err);
}

chr_status chr_csr_check_summed(const int64_t *offsets, const uint16_t *bins, const float *mass,
                                int64_t first, int64_t count, int64_t nnz, uint64_t *sum,
                                double *max_row_sum, chr_error *err) {
  for (int64_t r = 0; r < count; ++r) {
    int64_t lo = offsets[r], hi = offsets[r + 1];
    if (lo < 0 || hi < lo || hi > nnz || hi - lo > CHR_BINS)
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/offsets rows %lld..%lld: %lld, %lld (expected non-decreasing, "
                           "within [0, %lld], at most %d apart)",
                           (long long)(first + r), (long long)(first + r + 1), (long long)lo,
                           (long long)hi, (long long)nnz, CHR_BINS);
  }
  /* Rows are checked in parallel; the first bad row (lowest number) is the one reported, and
   * the sum mod 2^64 does not depend on the order. */
  uint64_t total = 0;
  int64_t bad = count;
  double max_sum = 0.0; /* a max: the same whatever the threads' order */
#pragma omp parallel for schedule(static) reduction(+ : total) reduction(min : bad) \
    reduction(max : max_sum)
  for (int64_t r = 0; r < count; ++r) {
    const uint16_t *b = bins + (offsets[r] - offsets[0]);
    const float *m = mass + (offsets[r] - offsets[0]);
    int n = (int)(offsets[r + 1] - offsets[r]);
    double row_total = 0.0;
    if (!row_ok(b, m, n, &row_total)) bad = r < bad ? r : bad;
    if (row_total > max_sum) max_sum = row_total;
    total += chr_csr_row_term(first + r, b, m, n);
  }
  *max_row_sum = max_sum;
  if (bad < count)
    return check_row(bins + (offsets[bad] - offsets[0]), mass + (offsets[bad] - offsets[0]),
                     offsets[bad + 1] - offsets[bad], first + bad, err);
  *sum += total;
  return CHR_OK;
}
