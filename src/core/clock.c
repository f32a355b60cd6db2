#include "chromatica/clock.h"

#include <omp.h>

/* OpenMP's wall clock: core's only runtime besides C11, monotonic in every implementation we
 * build with (libgomp reads CLOCK_MONOTONIC). */
double chr_clock_seconds(void) {
  return omp_get_wtime();
}
