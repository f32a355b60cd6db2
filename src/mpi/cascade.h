/* The "cascade" candidate stage across the shards of one query group (issue 14; private to
 * src/mpi): an EMD-aware, non-certified pool for collections too large for the bounds stage.
 * (1) Every shard bounds each of its images cheaply (chr_cascade_select, include/chromatica/
 * cascade.h) and keeps its best R1 = min(images, CHR_CASCADE_WIDEN x pool size) by (bound, row);
 * (2) it computes max(cheap, chr_cascade_bound_tight) and the ann_score of those rows; (3) the
 * shards' lists are allgathered, the global best R1 by (cheap bound, row) chosen, and of them the
 * best pool-size rows by (tight bound, row) form the pool that the exact EMD rerank then ranks
 * (chr_mpi_emd_rerank, candidates path). A shard's best R1 holds every row of the global best
 * R1 that it owns, so the pool is the same for any number of ranks, shards or threads. */
#ifndef CHROMATICA_MPI_CASCADE_H
#define CHROMATICA_MPI_CASCADE_H

#include <mpi.h>

#include "chromatica/batch.h"
#include "chromatica/scan.h"
#include "chromatica/topk.h"

typedef struct {
  const chr_batch_query *query; /* in */
  int want;                     /* in: the pool size, min(images, max(k, rerank_k)) */
  chr_hit *pool;                /* out (want slots): the pool, score = ann_score, by tight bound */
  int *n_pool;                  /* out: its size */
  double *ms;                   /* out: this shard's time on the stage of the wave is added */
} chr_cascade_job;

/* Builds the pools of n jobs (the same queries, in the same order, on every rank of gcomm) on
 * a dataset of `images` images. Errors (memory, MPI, CHR_SCAN_KERNELS) are agreed by all ranks.
 * Collective on gcomm. */
chr_status chr_mpi_cascade(MPI_Comm gcomm, const chr_index *idx, int64_t images,
                           chr_cascade_job *jobs, int n, chr_error *err);

#endif
