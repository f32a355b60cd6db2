#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/clock.h"
#include "chromatica/mpi_collect.h"

chr_status chr_mpi_check(int rc, chr_error *err, const char *fmt, ...) {
  if (rc == MPI_SUCCESS) return CHR_OK;
  char what[CHR_ERROR_MESSAGE_MAX / 2], text[MPI_MAX_ERROR_STRING] = "";
  int length = 0;
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error code %d", rc);
  return chr_error_set(err, CHR_EMPI, "%s failed: %.200s", what, text);
}

chr_status chr_mpi_duplicate(MPI_Comm parent, MPI_Comm *out, chr_error *err) {
  *out = MPI_COMM_NULL;
  chr_status st = chr_mpi_check(MPI_Comm_dup(parent, out), err, "MPI_Comm_dup");
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN), err,
                       "MPI_Comm_set_errhandler (MPI_ERRORS_RETURN)");
  if (st != CHR_OK && *out != MPI_COMM_NULL) MPI_Comm_free(out);
  return st;
}

/* When the agreement itself fails, no rank can know where the others stand, and a rank that
 * returned would leave the rest waiting in their next collective: the one place to abort. */
static void agreement_lost(MPI_Comm comm, const chr_error *why) {
  fprintf(stderr, "chromatica: ranks can no longer agree (%s); aborting the job\n", why->message);
  MPI_Abort(comm, 1);
}

chr_status chr_mpi_agree(MPI_Comm comm, chr_status local, chr_error *err) {
  int rank = 0, size = 1, first_failing = 0;
  chr_error mpi_err;
  if (chr_mpi_place(comm, &rank, &size, &mpi_err) != CHR_OK) agreement_lost(comm, &mpi_err);
  int candidate = local != CHR_OK ? rank : size;
  if (chr_mpi_check(MPI_Allreduce(&candidate, &first_failing, 1, MPI_INT, MPI_MIN, comm), &mpi_err,
                    "MPI_Allreduce while ranks agreed on status") != CHR_OK)
    agreement_lost(comm, &mpi_err);
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
  if (chr_mpi_check(MPI_Bcast(&verdict, (int)sizeof verdict, MPI_BYTE, first_failing, comm),
                    &mpi_err, "MPI_Bcast while ranks agreed on status") != CHR_OK)
    agreement_lost(comm, &mpi_err);
  verdict.message[sizeof verdict.message - 1] = '\0';
  return chr_error_set(err, (chr_status)verdict.code, "%s", verdict.message);
}

chr_status chr_mpi_max_int64(MPI_Comm comm, int64_t local, int64_t *out, chr_error *err) {
  return chr_mpi_check(MPI_Allreduce(&local, out, 1, MPI_INT64_T, MPI_MAX, comm), err,
                       "MPI_Allreduce (max)");
}

chr_status chr_mpi_bcast_int64s(MPI_Comm comm, int64_t *values, int n, chr_error *err) {
  return chr_mpi_check(MPI_Bcast(values, n, MPI_INT64_T, 0, comm), err,
                       "MPI_Bcast of %d integers from rank 0", n);
}

chr_status chr_mpi_gather_rank_stats(MPI_Comm comm, const chr_rank_stats *mine, chr_rank_stats *all,
                                     chr_error *err) {
  int rc = MPI_Gather(mine, (int)sizeof *mine, MPI_BYTE, all, (int)sizeof *mine, MPI_BYTE, 0, comm);
  return chr_mpi_agree(comm, chr_mpi_check(rc, err, "MPI_Gather of per-rank figures"), err);
}

chr_status chr_mpi_place(MPI_Comm comm, int *rank, int *size, chr_error *err) {
  chr_status st = chr_mpi_check(MPI_Comm_rank(comm, rank), err, "MPI_Comm_rank");
  return st == CHR_OK ? chr_mpi_check(MPI_Comm_size(comm, size), err, "MPI_Comm_size") : st;
}

double chr_mpi_seconds(void) {
  return chr_clock_seconds();
}

chr_status chr_mpi_barrier(MPI_Comm comm, chr_error *err) {
  return chr_mpi_check(MPI_Barrier(comm), err, "MPI_Barrier");
}

chr_status chr_mpi_bcast_bytes(MPI_Comm comm, char **data, int64_t *size, chr_error *err) {
  int rank = 0, ranks = 1;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  if (st != CHR_OK) return st;
  int64_t n = rank == 0 ? *size : 0;
  st = rank == 0 && (n < 0 || n > INT_MAX)
           ? chr_error_set(err, CHR_EINVAL, "broadcast of %lld bytes (limit %d)", (long long)n,
                           INT_MAX)
           : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  st = chr_mpi_check(MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm), err, "MPI_Bcast of a buffer size");
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  char *buf = rank == 0 ? *data : malloc(n > 0 ? (size_t)n : 1);
  st = buf == NULL
           ? chr_error_set(err, CHR_ENOMEM, "out of memory for a %lld-byte broadcast", (long long)n)
           : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    if (rank != 0) free(buf);
    return st;
  }
  st = chr_mpi_check(MPI_Bcast(buf, (int)n, MPI_BYTE, 0, comm), err, "MPI_Bcast of %lld bytes",
                     (long long)n);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    if (rank != 0) free(buf);
    return st;
  }
  if (rank != 0) {
    *data = buf;
    *size = n;
  }
  return CHR_OK;
}

chr_status chr_mpi_allgather_int64(MPI_Comm comm, int64_t local, int64_t *all, chr_error *err) {
  return chr_mpi_check(MPI_Allgather(&local, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm), err,
                       "MPI_Allgather of one integer per rank");
}

chr_status chr_mpi_gatherv(MPI_Comm comm, int root, const void *mine, int64_t size,
                           chr_mpi_gathered *out, chr_error *err, const char *what, ...) {
  char name[CHR_ERROR_MESSAGE_MAX / 4];
  va_list args;
  va_start(args, what);
  vsnprintf(name, sizeof name, what, args);
  va_end(args);
  int rank = 0;
  *out = (chr_mpi_gathered){0};
  /* Only a broken comm fails here, and then on every rank alike. */
  chr_status st = chr_mpi_place(comm, &rank, &out->ranks, err);
  if (st != CHR_OK) return st;
  int receives = root == CHR_MPI_EVERY_RANK || rank == root;
  int64_t *sizes = malloc((size_t)out->ranks * sizeof *sizes);
  out->bytes = malloc((size_t)out->ranks * sizeof *out->bytes);
  out->displs = malloc((size_t)out->ranks * sizeof *out->displs);
  if (sizes == NULL || out->bytes == NULL || out->displs == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "cannot hold the sizes of a gather of %s", name);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  /* One agreement covers the size exchange, the size limit and the receive buffer. */
  st = chr_mpi_allgather_int64(comm, size, sizes, err);
  for (int r = 0; st == CHR_OK && r < out->ranks; ++r) {
    if (sizes[r] < 0 || sizes[r] >= INT_MAX - out->total) {
      st = chr_error_set(err, CHR_EINVAL, "gather of %s: more than %d bytes", name, INT_MAX - 1);
      break; /* every rank sees the same sizes, so all fail alike */
    }
    out->displs[r] = (int)out->total;
    out->bytes[r] = (int)sizes[r];
    out->total += sizes[r];
  }
  if (st == CHR_OK && receives &&
      (out->data = malloc(out->total > 0 ? (size_t)out->total : 1)) == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "cannot hold %s (%lld bytes)", name, (long long)out->total);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  int rc = root == CHR_MPI_EVERY_RANK ? MPI_Allgatherv(mine, (int)size, MPI_BYTE, out->data,
                                                       out->bytes, out->displs, MPI_BYTE, comm)
                                      : MPI_Gatherv(mine, (int)size, MPI_BYTE, out->data,
                                                    out->bytes, out->displs, MPI_BYTE, root, comm);
  st = chr_mpi_check(rc, err, "%s of %s",
                     root == CHR_MPI_EVERY_RANK ? "MPI_Allgatherv" : "MPI_Gatherv", name);
  st = chr_mpi_agree(comm, st, err);
cleanup:
  free(sizes);
  if (st != CHR_OK) chr_mpi_gathered_free(out);
  return st;
}

void chr_mpi_gathered_free(chr_mpi_gathered *g) {
  free(g->bytes);
  free(g->displs);
  free(g->data);
  *g = (chr_mpi_gathered){0};
}

chr_status chr_mpi_gather_bytes(MPI_Comm comm, const char *mine, int64_t size, char **all,
                                int64_t *all_size, chr_error *err) {
  chr_mpi_gathered g;
  chr_status st = chr_mpi_gatherv(comm, 0, mine, size, &g, err, "per-rank bytes");
  *all = st == CHR_OK ? g.data : NULL;
  *all_size = st == CHR_OK && g.data != NULL ? g.total : 0;
  g.data = NULL; /* now the caller's */
  chr_mpi_gathered_free(&g);
  return st;
}

chr_status chr_mpi_node_peers(MPI_Comm comm, const void *key, int key_bytes, int *node_ranks,
                              int *same_key, chr_error *err) {
  int rank = 0, ranks = 1, size = 1;
  MPI_Comm node = MPI_COMM_NULL;
  unsigned char *all = NULL;
  *node_ranks = *same_key = 1;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
                       err, "MPI_Comm_split_type (MPI_COMM_TYPE_SHARED)");
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Comm_size(node, &size), err, "MPI_Comm_size of the node");
  if (st == CHR_OK && (all = malloc((size_t)size * (size_t)key_bytes + 1)) == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "out of memory for %d ranks' keys", size);
  /* The node communicator's ranks all reach this point together: each either has one or the
   * split failed for all of comm, which the agreement below reports. */
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  st = chr_mpi_check(MPI_Allgather(key, key_bytes, MPI_BYTE, all, key_bytes, MPI_BYTE, node), err,
                     "MPI_Allgather of %d-byte keys on the node", key_bytes);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  *node_ranks = size;
  *same_key = 0;
  for (int r = 0; r < size; ++r)
    *same_key += memcmp(all + (size_t)r * (size_t)key_bytes, key, (size_t)key_bytes) == 0;
cleanup:
  free(all);
  if (node != MPI_COMM_NULL) (void)MPI_Comm_free(&node); /* local; nothing to undo */
  return st;
}
