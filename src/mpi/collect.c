#include "chromatica/mpi_collect.h"

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
