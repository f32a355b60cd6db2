/* Private to src/app: the checks of the environment variables that steer the computation,
 * made by every rank before any command runs. */
#ifndef CHROMATICA_APP_ENVIRONMENT_H
#define CHROMATICA_APP_ENVIRONMENT_H

#include <mpi.h>

#include "chromatica/error.h"

/* Most OpenMP threads a rank may run (OMP_NUM_THREADS, or the OpenMP default). */
#define CHR_THREADS_MAX 1024

/* CHR_EINVAL naming the variable and its value when OMP_NUM_THREADS asks for more than
 * CHR_THREADS_MAX threads or CHR_SCAN_KERNELS names no kernel level this CPU runs. Local to
 * the calling rank; main() agrees on the outcome across ranks. */
chr_status chr_environment_check(chr_error *err);

/* How many OpenMP threads a rank runs, and why. */
typedef struct {
  int threads;
  char source[96]; /* "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK" or "affinity: ..." */
  int cpus;        /* CPUs in this rank's affinity mask (online CPUs without one) */
  int sharing;     /* ranks on this node with the same mask, itself included */
  int node_ranks;  /* ranks of comm on this node (MPI_COMM_TYPE_SHARED) */
} chr_threads;

/* The threads per rank when nothing else says: an explicit OMP_NUM_THREADS always stands;
 * else Slurm's SLURM_CPUS_PER_TASK; else this rank's share of the CPUs its affinity mask
 * allows (cgroup and launcher binding included), split evenly among the ranks of the node that
 * share the same mask (MPI_COMM_TYPE_SHARED), at least 1. CHR_EINVAL naming
 * SLURM_CPUS_PER_TASK when it is not a whole number from 1 to CHR_THREADS_MAX. Collective on
 * comm (the node count); the caller agrees on the outcome. */
chr_status chr_threads_decide(MPI_Comm comm, chr_threads *out, chr_error *err);

/* Sets OpenMP's thread count to t->threads unless OMP_NUM_THREADS chose it. */
void chr_threads_apply(const chr_threads *t);

#endif
