/* The batch search across query groups and shards (spec section 10). Collective on comm. */
#ifndef CHROMATICA_MPI_SEARCH_H
#define CHROMATICA_MPI_SEARCH_H

#include <mpi.h>
#include <signal.h>

#include "chromatica/batch.h"
#include "chromatica/mpi_layout.h"
#include "chromatica/results.h"

/* Sends rank 0's n queries to every rank; on other ranks *queries is malloc'd (caller frees)
 * and *n set. Collective on comm. */
chr_status chr_mpi_bcast_queries(MPI_Comm comm, chr_batch_query **queries, int *n, chr_error *err);

/* How the batch is run; none of it changes an answer. */
typedef struct {
  int max_concurrent; /* queries in flight across the job (the batch's max_concurrent) */
  int progress;       /* 1: each group leader reports on stderr, at most once a second */
  /* May be NULL; a signal number, 0 while none came. Read between waves: once it is non-zero on
   * any rank of a group, that group answers no further queries (its ranks agree with an
   * all-reduce) and its leader sends a stop notice to every other group's leader, so each other
   * group stops at its own next wave boundary (groups never wait for one another). */
  const volatile sig_atomic_t *stop;
} chr_mpi_search_options;

/* What a search run did, beside its answers. */
typedef struct {
  int queries_answered; /* by this rank's group */
  int stopped;          /* on every rank: the largest signal that stopped a group (0: none) */
} chr_mpi_search_outcome;

/* Answers every valid query (unless stopped). Group g answers a share of the queries, at most its
 * part of max_concurrent at a time; per query: exact stage 1 on every shard, merge of the shards'
 * top-R in the group, rerank on the owning shard, merge of the shards' top-k on the group leader.
 * On rank 0, results (n entries, one per query, in batch order) receive every answer, the
 * answers so far when stopped (unanswered queries have answered == 0); query times are measured
 * against a common clock started at a barrier. Collective on comm. */
chr_status chr_mpi_search(MPI_Comm comm, const chr_layout *layout, const chr_index *idx,
                          const chr_batch_query *queries, int n, const chr_mpi_search_options *o,
                          chr_query_result *results, chr_mpi_search_outcome *outcome,
                          chr_error *err);

#endif
