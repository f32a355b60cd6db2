/* What the benchmarks share: a median, and a whole dataset loaded into one index shard (one
 * process, no MPI). Not part of the library. */
#ifndef CHROMATICA_BENCH_DATA_H
#define CHROMATICA_BENCH_DATA_H

#include "chromatica/error.h"
#include "chromatica/scan.h"

/* The median of v[0 .. n) (sorted in place); 0 for n == 0. */
double bench_median(double *v, int n);

/* Every row of the dataset at path in one index (caller destroys it), read in chunks of 4096
 * rows; NULL with err set on failure. */
chr_index *bench_load_index(const char *path, chr_error *err);

#endif
