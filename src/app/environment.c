#include "environment.h"

#include <stdlib.h>

#include "chromatica/scan.h"

#ifdef _OPENMP
#include <omp.h>
#endif

chr_status chr_environment_check(chr_error *err) {
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  if (threads > CHR_THREADS_MAX) {
    const char *asked = getenv("OMP_NUM_THREADS");
    return chr_error_set(err, CHR_EINVAL,
                         "OMP_NUM_THREADS '%.32s' gives %d threads per rank; expected at most %d",
                         asked != NULL ? asked : "(unset)", threads, CHR_THREADS_MAX);
  }
  return chr_scan_check_environment(err);
}
