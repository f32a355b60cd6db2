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

/* The one clock every timing figure uses, chr_clock_seconds (chromatica/clock.h), under the
 * name the MPI layer and the subcommands have always used. Local. */
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

/* The outcome of chr_mpi_gatherv: every rank's bytes, concatenated in rank order. */
typedef struct {
  int ranks;
  int *bytes;    /* ranks entries: how many bytes each rank sent (known on every rank) */
  int *displs;   /* ranks entries: where each rank's bytes start in data */
  int64_t total; /* the sum of bytes */
  char *data;    /* the gathered bytes where they were received, NULL elsewhere */
} chr_mpi_gathered;

/* chr_mpi_gatherv's root for an allgatherv: every rank receives. */
#define CHR_MPI_EVERY_RANK (-1)

/* The one gather of unequal byte counts: every rank sends `size` bytes from mine; root (a rank
 * of comm, or CHR_MPI_EVERY_RANK) receives them all in rank order. The counts, displacements
 * and receive buffer are built here; what (printf-formatted) names the data in messages
 * ("cannot hold <what>", "MPI_Gatherv of <what>"). The total must stay below INT_MAX. Ranks
 * agree on the outcome; on failure *out holds nothing, on success the caller releases it with
 * chr_mpi_gathered_free. Collective on comm. */
chr_status chr_mpi_gatherv(MPI_Comm comm, int root, const void *mine, int64_t size,
                           chr_mpi_gathered *out, chr_error *err, const char *what, ...)
    __attribute__((format(printf, 7, 8)));

/* Frees what chr_mpi_gatherv allocated and zeroes *g; accepts a zeroed record. Local. */
void chr_mpi_gathered_free(chr_mpi_gathered *g);

/* Concatenates every rank's bytes, in rank order, on rank 0 (chr_mpi_gatherv): *all becomes a
 * malloc'd buffer (caller frees) of *all_size bytes there, NULL elsewhere. The total must stay
 * below INT_MAX. All ranks agree on the outcome. */
chr_status chr_mpi_gather_bytes(MPI_Comm comm, const char *mine, int64_t size, char **all,
                                int64_t *all_size, chr_error *err);

/* Gathers every rank's figures on rank 0 into all (comm size entries; ignored elsewhere).
 * Rank 0 passes the array; all ranks agree on the outcome. */
chr_status chr_mpi_gather_rank_stats(MPI_Comm comm, const chr_rank_stats *mine, chr_rank_stats *all,
                                     chr_error *err);

/* The calling rank's node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED): *node_ranks = how many
 * ranks of comm run there, *same_key = how many of them, itself included, passed the same
 * key_bytes bytes at key (for example a CPU affinity mask: the ranks that share those CPUs).
 * Collective on comm; all ranks agree on the outcome. */
chr_status chr_mpi_node_peers(MPI_Comm comm, const void *key, int key_bytes, int *node_ranks,
                              int *same_key, chr_error *err);

#endif
