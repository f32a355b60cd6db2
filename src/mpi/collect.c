#include "chromatica/mpi_collect.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

chr_status chr_mpi_agree(MPI_Comm comm, chr_status local, chr_error *err) {
  int rank = 0, size = 1, first_failing = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int candidate = local != CHR_OK ? rank : size;
  if (MPI_Allreduce(&candidate, &first_failing, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Allreduce failed while ranks agreed on status");
  if (first_failing == size) return CHR_OK;
  /* The code travels with its message, so both come from the same rank. */
  struct {
    int code;
    char message[CHR_ERROR_MESSAGE_MAX];
  } verdict = {0};
  if (rank == first_failing) {
    verdict.code = (int)local;
    memcpy(verdict.message, err->message, sizeof verdict.message);
  }
  if (MPI_Bcast(&verdict, (int)sizeof verdict, MPI_BYTE, first_failing, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Bcast failed while ranks agreed on status");
  verdict.message[sizeof verdict.message - 1] = '\0';
  return chr_error_set(err, (chr_status)verdict.code, "%s", verdict.message);
}

chr_status chr_mpi_max_int64(MPI_Comm comm, int64_t local, int64_t *out, chr_error *err) {
  if (MPI_Allreduce(&local, out, 1, MPI_INT64_T, MPI_MAX, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Allreduce (max) failed");
  return CHR_OK;
}

chr_status chr_mpi_bcast_int64s(MPI_Comm comm, int64_t *values, int n, chr_error *err) {
  if (MPI_Bcast(values, n, MPI_INT64_T, 0, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Bcast of %d integers from rank 0 failed", n);
  return CHR_OK;
}

chr_status chr_mpi_gather_rank_stats(MPI_Comm comm, const chr_rank_stats *mine,
                                     chr_rank_stats *all, chr_error *err) {
  int rc = MPI_Gather(mine, (int)sizeof *mine, MPI_BYTE, all, (int)sizeof *mine, MPI_BYTE, 0, comm);
  chr_status st = rc == MPI_SUCCESS ? CHR_OK
                                    : chr_error_set(err, CHR_EMPI, "MPI_Gather of per-rank figures failed");
  return chr_mpi_agree(comm, st, err);
}

chr_status chr_mpi_place(MPI_Comm comm, int *rank, int *size, chr_error *err) {
  if (MPI_Comm_rank(comm, rank) != MPI_SUCCESS || MPI_Comm_size(comm, size) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  return CHR_OK;
}

double chr_mpi_seconds(void) { return MPI_Wtime(); }

chr_status chr_mpi_barrier(MPI_Comm comm, chr_error *err) {
  if (MPI_Barrier(comm) != MPI_SUCCESS) return chr_error_set(err, CHR_EMPI, "MPI_Barrier failed");
  return CHR_OK;
}

chr_status chr_mpi_bcast_bytes(MPI_Comm comm, char **data, int64_t *size, chr_error *err) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int64_t n = rank == 0 ? *size : 0;
  chr_status st = rank == 0 && (n < 0 || n > INT_MAX)
                      ? chr_error_set(err, CHR_EINVAL, "broadcast of %lld bytes (limit %d)",
                                      (long long)n, INT_MAX)
                      : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  if (MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Bcast of a buffer size failed");
  char *buf = rank == 0 ? *data : malloc(n > 0 ? (size_t)n : 1);
  st = buf == NULL ? chr_error_set(err, CHR_ENOMEM, "out of memory for a %lld-byte broadcast",
                                   (long long)n)
                   : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    if (rank != 0) free(buf);
    return st;
  }
  if (MPI_Bcast(buf, (int)n, MPI_BYTE, 0, comm) != MPI_SUCCESS) {
    if (rank != 0) free(buf);
    return chr_error_set(err, CHR_EMPI, "MPI_Bcast of %lld bytes failed", (long long)n);
  }
  if (rank != 0) {
    *data = buf;
    *size = n;
  }
  return CHR_OK;
}

chr_status chr_mpi_allgather_int64(MPI_Comm comm, int64_t local, int64_t *all, chr_error *err) {
  if (MPI_Allgather(&local, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm) != MPI_SUCCESS)
    return chr_error_set(err, CHR_EMPI, "MPI_Allgather of one integer per rank failed");
  return CHR_OK;
}

chr_status chr_mpi_gather_bytes(MPI_Comm comm, const char *mine, int64_t size, char **all,
                                int64_t *all_size, chr_error *err) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  *all = NULL;
  *all_size = 0;
  int64_t *sizes = malloc((size_t)ranks * sizeof *sizes);
  int *counts = malloc((size_t)ranks * sizeof *counts), *displs = malloc((size_t)ranks * sizeof *displs);
  chr_status st = sizes && counts && displs ? CHR_OK
                                            : chr_error_set(err, CHR_ENOMEM, "out of memory for a gather");
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  if ((st = chr_mpi_agree(comm, chr_mpi_allgather_int64(comm, size, sizes, err), err)) != CHR_OK)
    goto cleanup;
  int64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    displs[r] = (int)(total < INT_MAX ? total : 0);
    counts[r] = (int)sizes[r];
    total += sizes[r];
  }
  st = total >= INT_MAX ? chr_error_set(err, CHR_EINVAL, "gather of %lld bytes (limit %d)",
                                        (long long)total, INT_MAX - 1)
                        : CHR_OK;
  char *buf = NULL;
  if (st == CHR_OK && rank == 0 && (buf = malloc(total > 0 ? (size_t)total : 1)) == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "out of memory for %lld gathered bytes", (long long)total);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    free(buf);
    goto cleanup;
  }
  st = MPI_Gatherv(mine, (int)size, MPI_BYTE, buf, counts, displs, MPI_BYTE, 0, comm) == MPI_SUCCESS
           ? CHR_OK
           : chr_error_set(err, CHR_EMPI, "MPI_Gatherv of %lld bytes failed", (long long)total);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    free(buf);
    goto cleanup;
  }
  *all = buf;
  *all_size = rank == 0 ? total : 0;
cleanup:
  free(sizes);
  free(counts);
  free(displs);
  return st;
}
