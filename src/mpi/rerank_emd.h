/* The exact EMD rerank with lower-bound pruning across the shards of one query group (issues 5
 * and 14; private to src/mpi). A query's pool is its stage-1 candidates (the hellinger stage) or
 * every image (the bounds stage, rerank_scope "all"), spread over the shards that own them, each
 * entry starting with the pool bound (max of centroid and dot). The pool is evaluated in
 * rounds, in the global order of (lower bound, row): each round takes the next
 * max(k, CHR_EMD_ROUND) entries of the whole pool whose bound does not already exceed the
 * current k-th best distance; their owners solve the EMD unless the ICT bound already rules
 * the entry out, and every shard learns the round's distances and duals, which tighten the
 * bounds of the entries left (CHR_EMD_DUALS). The round size is a constant, so
 * which candidates are evaluated, and hence the pruned count, never depends on the number of
 * ranks, shards or threads. A pruned candidate's distance is provably larger than the final
 * k-th best, so pruning never changes the answer. */
#ifndef CHROMATICA_MPI_RERANK_EMD_H
#define CHROMATICA_MPI_RERANK_EMD_H

#include <mpi.h>

#include "chromatica/batch.h"
#include "chromatica/bounds.h"
#include "chromatica/scan.h"
#include "chromatica/search.h"

#define CHR_EMD_ROUND 16

/* After each round, the optimal duals of the round's best CHR_EMD_DUALS solves raise the lower
 * bounds of the rest of the pool (chr_emd_bound_dual): images like the ones just solved get
 * bounds close to their distances, so most of the pool is pruned without being solved. */
#define CHR_EMD_DUALS 8
_Static_assert(CHR_EMD_DUALS <= CHR_EMD_DUAL_MAX, "chr_emd_bound_dual_max takes them all at once");

typedef struct {
  /* in */
  const chr_batch_query *query;
  const chr_hit *merged; /* scope "candidates": the group's stage-1 top-R (score = ann_score) */
  int n_merged;
  /* out: top holds this shard's best matches (k slots, best-first) among those it solved */
  chr_match *top;
  int n_top;
  int64_t candidates, pruned; /* pool size and how many were never solved; same on all shards */
  double bound_ms, rerank_ms; /* this shard: building its pool; the rounds */
  int failed;                 /* 1 on every shard when some shard failed the query */
  char error[CHR_ERROR_MESSAGE_MAX]; /* the failure, on the shard where it happened */
} chr_emd_job;

/* Runs n jobs (the same queries, in the same order, on every rank of gcomm). Returns an error
 * only for failures of the whole group (memory, MPI), agreed by all ranks; a query whose EMD
 * fails is marked failed and the others go on. Collective on gcomm. */
chr_status chr_mpi_emd_rerank(MPI_Comm gcomm, const chr_index *idx, chr_emd_job *jobs, int n,
                              chr_error *err);

#endif
