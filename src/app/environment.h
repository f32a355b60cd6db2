/* Private to src/app: the checks of the environment variables that steer the computation,
 * made by every rank before any command runs. */
#ifndef CHROMATICA_APP_ENVIRONMENT_H
#define CHROMATICA_APP_ENVIRONMENT_H

#include "chromatica/error.h"

/* Most OpenMP threads a rank may run (OMP_NUM_THREADS, or the OpenMP default). */
#define CHR_THREADS_MAX 1024

/* CHR_EINVAL naming the variable and its value when OMP_NUM_THREADS asks for more than
 * CHR_THREADS_MAX threads or CHR_SCAN_KERNELS names no kernel level this CPU runs. Local to
 * the calling rank; main() agrees on the outcome across ranks. */
chr_status chr_environment_check(chr_error *err);

#endif
