#include "support.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "chromatica/grid.h"

chr_status chr_support_check(const char *solver, const chr_qhist *q, const uint16_t *bins,
                             const float *mass, int n, double *total, chr_error *err) {
  if (n < 1 || q->count < 1 || q->count > CHR_QUERY_MAX_BINS)
    return chr_error_set(err, CHR_EINVAL,
                         "%s: support sizes %d (query) and %d (image); expected 1..%d and >= 1",
                         solver, q->count, n, CHR_QUERY_MAX_BINS);
  double sum = 0.0;
  for (int j = 0; j < n; ++j) {
    if (bins[j] >= CHR_BINS || !(mass[j] > 0.0f) || !isfinite(mass[j]))
      return chr_error_set(err, CHR_EINVAL,
                           "%s: image support entry %d (bin %d, mass %g); expected a bin < %d "
                           "with finite mass > 0",
                           solver, j, (int)bins[j], (double)mass[j], CHR_BINS);
    sum += (double)mass[j];
  }
  *total = sum;
  return CHR_OK;
}

int chr_region_threads(void) {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

int chr_thread_num(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
