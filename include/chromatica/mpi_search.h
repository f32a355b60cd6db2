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

/* Answers every valid query (unless stopped, below). Group g answers a share of the queries, at most its part of
 * max_concurrent at a time; per query: exact stage 1 on every shard, merge of the shards' top-R
 * in the group, rerank on the owning shard, merge of the shards' top-k on the group leader.
 * On rank 0, results (n entries, one per query, in batch order) receive every answer; query
 * times are measured against a common clock started at a barrier. *queries_answered receives
 * this rank's group's count. With progress set, each group leader reports on stderr, at most once
 * a second and when done, how many of its queries are answered. Collective on comm. */
/* stop (may be NULL; a signal number, 0 while none came) is read between waves: once it is
 * non-zero on any rank of a group, that group answers no further queries (its ranks agree with
 * an all-reduce) and its leader sends a stop notice to every other group's leader, so each other
 * group stops at its own next wave boundary (groups never wait for one another). The answers so
 * far are still gathered, and *stopped (may be NULL) receives, on every rank, the largest signal
 * number that stopped a group (0: the search ran to the end). Unanswered queries have
 * answered == 0 in results. */
chr_status chr_mpi_search(MPI_Comm comm, const chr_layout *layout, const chr_index *idx,
                          const chr_batch_query *queries, int n, int max_concurrent, int progress,
                          const volatile sig_atomic_t *stop, chr_query_result *results,
                          int *queries_answered, int *stopped, chr_error *err);

#endif
