/* Small MPI helpers every subcommand needs: where a rank stands and the clock (local), and the
 * collectives: agreeing on failure, a max, a broadcast of a few integers, and gathering
 * per-rank figures. Each checks its MPI return codes; all but the first two are collective on
 * comm. */
#ifndef CHROMATICA_MPI_COLLECT_H
#define CHROMATICA_MPI_COLLECT_H

#include <mpi.h>
#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/results.h"

/* CHR_OK when rc is MPI_SUCCESS; otherwise CHR_EMPI with "<what> failed: <MPI_Error_string>",
 * what being printf-formatted (e.g. "MPI_Bcast of 3 integers from rank 0 failed: MPI_ERR_COUNT:
 * invalid count argument"). Local. */
chr_status chr_mpi_check(int rc, chr_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* *out = a duplicate of parent whose errors come back as return codes (MPI_ERRORS_RETURN), so
 * every check of an MPI return code below can run; the caller frees it with MPI_Comm_free
 * before MPI_Finalize. MPI_COMM_NULL on failure. Collective on parent. */
chr_status chr_mpi_duplicate(MPI_Comm parent, MPI_Comm *out, chr_error *err);

/* This rank's number in comm and comm's size. Local. */
chr_status chr_mpi_place(MPI_Comm comm, int *rank, int *size, chr_error *err);

/* Seconds on MPI's wall clock (MPI_Wtime), the one clock every timing figure uses. Local. */
double chr_mpi_seconds(void);

/* Agrees on failure at a phase boundary: every rank passes its own status; all return the
 * status of the lowest failing rank, and err then holds that rank's message. If the agreement's
 * own collectives fail, no rank can know where the others stand: it prints why and calls
 * MPI_Abort (exit code 1), rather than leave ranks waiting. */
chr_status chr_mpi_agree(MPI_Comm comm, chr_status local, chr_error *err);

/* *out = the largest `local` over all ranks. */
chr_status chr_mpi_max_int64(MPI_Comm comm, int64_t local, int64_t *out, chr_error *err);

/* Broadcasts n integers from rank 0. */
chr_status chr_mpi_bcast_int64s(MPI_Comm comm, int64_t *values, int n, chr_error *err);

/* Waits until every rank has arrived, so the next phase's timing starts together. */
chr_status chr_mpi_barrier(MPI_Comm comm, chr_error *err);

/* Broadcasts a byte buffer from rank 0: rank 0 passes *data and *size; on the other ranks
 * *data is replaced by a malloc'd copy (caller frees) and *size set. Sizes up to INT_MAX. */
chr_status chr_mpi_bcast_bytes(MPI_Comm comm, char **data, int64_t *size, chr_error *err);

/* all[r] = rank r's `local`, on every rank (all has comm size entries). */
chr_status chr_mpi_allgather_int64(MPI_Comm comm, int64_t local, int64_t *all, chr_error *err);

/* Concatenates every rank's bytes, in rank order, on rank 0: *all becomes a malloc'd buffer
 * (caller frees) of *all_size bytes there, NULL elsewhere. The total must stay below INT_MAX.
 * All ranks agree on the outcome. */
chr_status chr_mpi_gather_bytes(MPI_Comm comm, const char *mine, int64_t size, char **all,
                                int64_t *all_size, chr_error *err);

/* Gathers every rank's figures on rank 0 into all (comm size entries; ignored elsewhere).
 * Rank 0 passes the array; all ranks agree on the outcome. */
chr_status chr_mpi_gather_rank_stats(MPI_Comm comm, const chr_rank_stats *mine,
                                     chr_rank_stats *all, chr_error *err);

/* The calling rank's node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED): *node_ranks = how many
 * ranks of comm run there, *same_key = how many of them, itself included, passed the same
 * key_bytes bytes at key (for example a CPU affinity mask: the ranks that share those CPUs).
 * Collective on comm; all ranks agree on the outcome. */
chr_status chr_mpi_node_peers(MPI_Comm comm, const void *key, int key_bytes, int *node_ranks,
                              int *same_key, chr_error *err);

#endif
