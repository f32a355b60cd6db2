#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/grid.h"
#include "chromatica/mpi_layout.h"

enum { CHUNK_ROWS = 4096, TAG_HEADER = 101, TAG_ROWS = 102 };

/* A number of bytes from the first line of a file, or -1 (missing, "max", unreadable). */
static double file_bytes(const char *path) {
  FILE *f = fopen(path, "r");
  double v = -1.0;
  if (f != NULL && fscanf(f, "%lf", &v) != 1) v = -1.0;
  if (f != NULL) fclose(f);
  return v;
}

static double mem_available_bytes(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[256];
  double kb = -1.0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  if (f != NULL) fclose(f);
  if (kb > 0) return kb * 1024.0;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (double)pages * (double)page : 1e9;
}

/* A positive number from an environment variable, with what follows it in *rest; -1 when unset
 * or not a positive number. */
static double env_number(const char *name, const char **rest) {
  const char *v = getenv(name);
  char *end = NULL;
  double x = v != NULL ? strtod(v, &end) : -1.0;
  *rest = end;
  return v != NULL && end != v && x > 0 && x < 1e15 ? x : -1.0;
}

/* A size in megabytes from an environment variable: a number, optionally followed by one of
 * Slurm's unit suffixes K, M, G, T (Slurm writes plain megabytes, but sites set these by hand
 * too); -1 when unset or anything else, so the other limits apply. */
static double env_mb(const char *name) {
  static const char units[] = "KMGT";
  static const double in_mb[] = {1.0 / 1024.0, 1.0, 1024.0, 1048576.0};
  const char *rest = NULL;
  double mb = env_number(name, &rest);
  if (mb < 0 || *rest == '\0') return mb;
  const char *unit = strchr(units, *rest);
  return unit != NULL && rest[1] == '\0' ? mb * in_mb[unit - units] : -1.0;
}

/* What this node lets the job use, before sharing among its ranks. */
static double node_budget_bytes(void) {
  double budget = mem_available_bytes();
  double limits[3] = {file_bytes("/sys/fs/cgroup/memory.max"),
                      file_bytes("/sys/fs/cgroup/memory/memory.limit_in_bytes"), -1.0};
  double per_node = env_mb("SLURM_MEM_PER_NODE"), per_cpu = env_mb("SLURM_MEM_PER_CPU");
  const char *rest = NULL;
  double cpus = env_number("SLURM_CPUS_ON_NODE", &rest);
  if (per_node > 0)
    limits[2] = per_node * 1048576.0;
  else if (per_cpu > 0 && cpus > 0)
    limits[2] = per_cpu * cpus * 1048576.0;
  for (int i = 0; i < 3; ++i)
    if (limits[i] > 0 && limits[i] < budget) budget = limits[i];
  return budget;
}

chr_status chr_layout_rank_memory(MPI_Comm comm, double override_mb, double *bytes,
                                  chr_error *err) {
  int rank = 0, size = 1, node_ranks = 1;
  MPI_Comm node = MPI_COMM_NULL;
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
                       err, "MPI_Comm_split_type (ranks sharing a node)");
  if (st == CHR_OK) st = chr_mpi_check(MPI_Comm_size(node, &node_ranks), err, "MPI_Comm_size");
  if (node != MPI_COMM_NULL) (void)MPI_Comm_free(&node); /* only its size was needed */
  *bytes = override_mb > 0 ? override_mb * 1048576.0 : node_budget_bytes() / node_ranks;
  return chr_mpi_agree(comm, st, err);
}

double chr_layout_shard_bytes(int64_t rows) {
  return (double)rows * (CHR_BINS * (2.0 + 6.0) + CHR_INDEX_SUMMARY_BYTES) +
         (double)CHUNK_ROWS * CHR_BINS * 4.0;
}

chr_status chr_layout_default_shards(MPI_Comm comm, int64_t images, double rank_bytes, int *shards,
                                     chr_error *err) {
  int rank = 0, size = 1;
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st != CHR_OK) return st;
  /* Rank 0 decides for everyone, so nodes of different sizes cannot disagree. */
  *shards = size;
  for (int s = size; s >= 1; --s)
    if (size % s == 0 && s <= images &&
        chr_layout_shard_bytes((images + s - 1) / s) <= 0.5 * rank_bytes)
      *shards = s;
  st = chr_mpi_check(MPI_Bcast(shards, 1, MPI_INT, 0, comm), err, "MPI_Bcast of the shard count");
  return chr_mpi_agree(comm, st, err);
}

chr_status chr_layout_check_memory(MPI_Comm comm, const chr_layout *L, double rank_bytes,
                                   chr_error *err) {
  double need = chr_layout_shard_bytes(L->rows);
  chr_status st = CHR_OK;
  if (need > rank_bytes) {
    char host[256] = "?";
    int rank = -1, size = 0;
    chr_error ignored; /* a rank number is only part of the message */
    chr_mpi_place(comm, &rank, &size, &ignored);
    gethostname(host, sizeof host - 1);
    st = chr_error_set(err, CHR_ENOMEM,
                       "shard %d of %d (%lld images) needs up to %.0f MB, but rank %d on %s may "
                       "use %.0f MB (node memory shared by its ranks); use more shards "
                       "(--shards), more nodes or fewer ranks per node",
                       L->shard, L->shards, (long long)L->rows, need / 1048576.0, rank, host,
                       rank_bytes / 1048576.0);
  }
  return chr_mpi_agree(comm, st, err);
}

chr_status chr_layout_create(MPI_Comm comm, int shards, int64_t images, chr_layout *out,
                             chr_error *err) {
  int rank = 0, size = 1;
  memset(out, 0, sizeof *out);
  out->group_comm = MPI_COMM_NULL;
  chr_status placed = chr_mpi_place(comm, &rank, &size, err);
  if (placed != CHR_OK) return placed;
  if (shards < 1 || size % shards != 0 || shards > images)
    return chr_error_set(err, CHR_EINVAL,
                         "--shards %d: invalid for %d ranks and %lld images (expected a divisor "
                         "of the rank count, at most the number of images)",
                         shards, size, (long long)images);
  out->ranks = size;
  out->shards = shards;
  out->groups = size / shards;
  out->group = rank / shards;
  out->shard = rank % shards;
  out->images = images;
  out->first_row = images * out->shard / shards;
  out->rows = images * (out->shard + 1) / shards - out->first_row;
  chr_status st = chr_mpi_check(MPI_Comm_split(comm, out->group, out->shard, &out->group_comm), err,
                                "MPI_Comm_split into query groups");
  /* The group communicator inherits comm's error handler (MPI_ERRORS_RETURN). */
  if (st != CHR_OK) out->group_comm = MPI_COMM_NULL;
  return st;
}

void chr_layout_free(chr_layout *layout) {
  /* Nothing is left to do if freeing fails; MPI_Finalize reclaims it. */
  if (layout->group_comm != MPI_COMM_NULL) (void)MPI_Comm_free(&layout->group_comm);
}

/* Tells every rank of shards [shard, S) that has not received all its rows to stop waiting
 * (finished may be NULL: then nobody has). */
static void scatter_abort(MPI_Comm comm, const chr_layout *L, int shard, const int *finished) {
  int64_t header = -1;
  for (int s = shard; s < L->shards; ++s)
    for (int g = 0; g < L->groups; ++g) {
      int dest = g * L->shards + s;
      /* Best effort: a rank this send cannot reach fails its own receive. */
      if (dest != 0 && !(s == shard && finished != NULL && finished[g]))
        (void)MPI_Send(&header, 1, MPI_INT64_T, dest, TAG_HEADER, comm);
    }
}

/* Rank 0's side of --io scatter: read, validate, send chunk by chunk. */
static chr_status scatter_send(MPI_Comm comm, const chr_layout *L, chr_dataset *ds, float *buf,
                               chr_index *own, double *read_ms, chr_error *err) {
  chr_status st = CHR_OK;
  int *finished = calloc((size_t)L->groups, sizeof *finished); /* got the shard's last chunk */
  if (finished == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "cannot track %d query groups", L->groups);
  int s = 0;
  for (; s < L->shards && st == CHR_OK; ++s) {
    int64_t begin = L->images * s / L->shards, end = L->images * (s + 1) / L->shards;
    memset(finished, 0, (size_t)L->groups * sizeof *finished);
    for (int64_t c = begin; c < end && st == CHR_OK; c += CHUNK_ROWS) {
      int64_t count = end - c < CHUNK_ROWS ? end - c : CHUNK_ROWS;
      double t = chr_mpi_seconds();
      st = chr_dataset_read_rows(ds, c, count, buf, H5P_DEFAULT, err);
      if (st == CHR_OK) st = chr_dataset_check_rows(buf, c, count, err);
      *read_ms += (chr_mpi_seconds() - t) * 1e3;
      for (int g = 0; g < L->groups && st == CHR_OK; ++g) {
        int dest = g * L->shards + s;
        if (dest == 0) {
          st = chr_index_append(own, buf, count, err);
        } else {
          st = chr_mpi_check(MPI_Send(&count, 1, MPI_INT64_T, dest, TAG_HEADER, comm), err,
                             "MPI_Send of a row header to rank %d", dest);
          if (st == CHR_OK)
            st = chr_mpi_check(
                MPI_Send(buf, (int)(count * CHR_BINS), MPI_FLOAT, dest, TAG_ROWS, comm), err,
                "MPI_Send of rows to rank %d", dest);
        }
        finished[g] = st == CHR_OK && c + count == end;
      }
    }
    if (st != CHR_OK) scatter_abort(comm, L, s, finished);
  }
  if (finished == NULL) scatter_abort(comm, L, 0, NULL);
  free(finished);
  return st;
}

static chr_status scatter_receive(MPI_Comm comm, const chr_layout *L, float *buf, chr_index *own,
                                  chr_error *err) {
  int64_t received = 0;
  while (received < L->rows) {
    int64_t header = 0;
    chr_status st =
        chr_mpi_check(MPI_Recv(&header, 1, MPI_INT64_T, 0, TAG_HEADER, comm, MPI_STATUS_IGNORE),
                      err, "MPI_Recv of a row header from rank 0");
    if (st != CHR_OK) return st;
    if (header < 0) return chr_error_set(err, CHR_EIO, "rank 0 stopped sending rows");
    st = chr_mpi_check(
        MPI_Recv(buf, (int)(header * CHR_BINS), MPI_FLOAT, 0, TAG_ROWS, comm, MPI_STATUS_IGNORE),
        err, "MPI_Recv of rows from rank 0");
    if (st == CHR_OK) st = chr_index_append(own, buf, header, err);
    if (st != CHR_OK) return st;
    received += header;
  }
  return CHR_OK;
}

chr_status chr_mpi_io_lists(MPI_Comm comm, hid_t *fapl, hid_t *dxpl, chr_error *err) {
  *fapl = H5Pcreate(H5P_FILE_ACCESS);
  *dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (*fapl < 0 || *dxpl < 0 || H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL) < 0 ||
      H5Pset_dxpl_mpio(*dxpl, H5FD_MPIO_COLLECTIVE) < 0)
    return chr_error_set(err, CHR_EIO, "cannot set up MPI-IO property lists");
  return CHR_OK;
}

static chr_status parallel_read(MPI_Comm comm, const chr_layout *L, const char *path, float *buf,
                                chr_index *own, int *independent_io, chr_error *err) {
  chr_dataset *ds = NULL;
  hid_t fapl = -1, dxpl = -1;
  chr_error inner;
  chr_status st = chr_mpi_io_lists(comm, &fapl, &dxpl, &inner);
  if (st != CHR_OK) chr_error_set(err, st, "%s: %s", path, inner.message);
  if (st == CHR_OK) st = chr_dataset_open(path, fapl, &ds, err);
  st = chr_mpi_agree(comm, st, err);
  /* Every rank makes the same number of collective reads; ranks with fewer rows read none. */
  int64_t mine = (L->rows + CHUNK_ROWS - 1) / CHUNK_ROWS, calls = 0;
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_mpi_max_int64(comm, mine, &calls, err), err);
  if (st != CHR_OK) goto cleanup;
  chr_status local = CHR_OK;
  for (int64_t c = 0; c < calls; ++c) {
    int64_t first = L->first_row + c * CHUNK_ROWS;
    int64_t count = c < mine ? L->rows - c * CHUNK_ROWS : 0;
    if (count > CHUNK_ROWS) count = CHUNK_ROWS;
    if (local != CHR_OK) count = 0; /* keep joining the collective reads after a failure */
    chr_error read_err;
    chr_status s = chr_dataset_read_rows(ds, count ? first : 0, count, buf, dxpl, &read_err);
    H5D_mpio_actual_io_mode_t io_mode = H5D_MPIO_NO_COLLECTIVE;
    if (s == CHR_OK && count > 0 && H5Pget_mpio_actual_io_mode(dxpl, &io_mode) >= 0 &&
        io_mode == H5D_MPIO_NO_COLLECTIVE)
      *independent_io = 1;
    if (s == CHR_OK && count > 0) s = chr_dataset_check_rows(buf, first, count, &read_err);
    if (s == CHR_OK && count > 0) s = chr_index_append(own, buf, count, &read_err);
    if (s != CHR_OK && local == CHR_OK) {
      local = s;
      *err = read_err;
    }
  }
  st = local;
cleanup:
  chr_dataset_close(&ds);
  if (fapl >= 0) H5Pclose(fapl);
  if (dxpl >= 0) H5Pclose(dxpl);
  return st;
}

chr_status chr_shard_load(MPI_Comm comm, const chr_layout *layout, chr_io_mode mode,
                          const char *path, chr_dataset *ds, chr_index **out, double *read_ms,
                          double *distribute_ms, int *independent_io, chr_error *err) {
  int rank = 0, size = 1;
  *out = NULL;
  *read_ms = *distribute_ms = 0.0;
  *independent_io = 0;
  chr_index *idx = NULL;
  float *buf = malloc((size_t)CHUNK_ROWS * CHR_BINS * sizeof *buf);
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st == CHR_OK)
    st = buf == NULL ? chr_error_set(err, CHR_ENOMEM, "cannot hold a chunk of %d rows", CHUNK_ROWS)
                     : chr_index_create(layout->rows, layout->first_row, &idx, err);
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) goto cleanup;
  double t0 = chr_mpi_seconds();
  if (mode == CHR_IO_SCATTER && rank == 0) {
    st = scatter_send(comm, layout, ds, buf, idx, read_ms, err);
    *distribute_ms = (chr_mpi_seconds() - t0) * 1e3 - *read_ms;
  } else if (mode == CHR_IO_SCATTER) {
    st = scatter_receive(comm, layout, buf, idx, err);
    *distribute_ms = (chr_mpi_seconds() - t0) * 1e3;
  } else {
    st = parallel_read(comm, layout, path, buf, idx, independent_io, err);
    *read_ms = (chr_mpi_seconds() - t0) * 1e3;
  }
  st = chr_mpi_agree(comm, st, err);
  int any_independent = 0;
  chr_status reduced =
      chr_mpi_check(MPI_Allreduce(independent_io, &any_independent, 1, MPI_INT, MPI_MAX, comm), err,
                    "MPI_Allreduce of the independent-I/O flags");
  if (st == CHR_OK) st = chr_mpi_agree(comm, reduced, err);
  *independent_io = any_independent;
cleanup:
  free(buf);
  if (st != CHR_OK) chr_index_destroy(&idx);
  *out = idx;
  return st;
}
