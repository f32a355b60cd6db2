#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "environment.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/mpi_collect.h"
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

static int is_set(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0';
}

/* SLURM_CPUS_PER_TASK as a whole number from 1 to CHR_THREADS_MAX. */
static chr_status slurm_cpus(int *out, chr_error *err) {
  const char *v = getenv("SLURM_CPUS_PER_TASK");
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < 1 || n > CHR_THREADS_MAX)
    return chr_error_set(err, CHR_EINVAL,
                         "SLURM_CPUS_PER_TASK '%.32s': expected a whole number from 1 to %d", v,
                         CHR_THREADS_MAX);
  *out = (int)n;
  return CHR_OK;
}

chr_status chr_threads_decide(MPI_Comm comm, chr_threads *out, chr_error *err) {
  chr_status st = CHR_OK;
  /* Every rank takes part in the node count whatever its environment says, so the collective
   * never depends on per-rank variables. */
  cpu_set_t mask;
  CPU_ZERO(&mask);
  int cpus = 0;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    cpus = CPU_COUNT(&mask);
  } else { /* no affinity interface: every online CPU, and a key all ranks share */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = online > 0 ? (int)online : 1;
    CPU_ZERO(&mask);
  }
  int node_ranks = 1, sharing = 1;
  st = chr_mpi_node_peers(comm, &mask, (int)sizeof mask, &node_ranks, &sharing, err);
  if (st != CHR_OK) return st;
  out->node_ranks = node_ranks;
  out->cpus = cpus;
  out->sharing = sharing;
  if (is_set("OMP_NUM_THREADS")) {
    /* OpenMP has read it already; its value (checked by chr_environment_check) stands. */
    out->threads = 1;
#ifdef _OPENMP
    out->threads = omp_get_max_threads();
#endif
    snprintf(out->source, sizeof out->source, "OMP_NUM_THREADS");
  } else if (is_set("SLURM_CPUS_PER_TASK")) {
    st = slurm_cpus(&out->threads, err);
    snprintf(out->source, sizeof out->source, "SLURM_CPUS_PER_TASK");
  } else {
    /* Ranks bound to CPUs of their own keep them all; ranks that share a set split it. */
    out->threads = cpus / sharing > 0 ? cpus / sharing : 1;
    if (out->threads > CHR_THREADS_MAX) out->threads = CHR_THREADS_MAX;
    snprintf(out->source, sizeof out->source,
             "affinity: %d CPU(s) shared by %d of %d rank(s) on the node", cpus, sharing,
             node_ranks);
  }
  return st;
}

void chr_threads_apply(const chr_threads *t) {
#ifdef _OPENMP
  if (strcmp(t->source, "OMP_NUM_THREADS") != 0) omp_set_num_threads(t->threads);
#else
  (void)t;
#endif
}
