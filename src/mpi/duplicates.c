/* Duplicate groups across shards: all hashes to every rank, the lowest rows of matching
 * hashes from their owners to every rank, exact comparison by each row's owner, the collapsed
 * (row, representative) pairs to every rank. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_duplicates.h"

/* Every rank's bytes, in rank order, on every rank: *all (malloc'd, caller frees) and
 * displs[r] (size entries) where rank r's part starts. Totals stay below INT_MAX. */
static chr_status allgather_bytes(MPI_Comm comm, const void *mine, int64_t size, char **all,
                                  int *displs, int *counts, chr_error *err) {
  int ranks = 1, rank = 0;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  int64_t *sizes = malloc((size_t)ranks * sizeof *sizes);
  *all = NULL;
  if (st == CHR_OK && sizes == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold %d sizes", ranks);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  if ((st = chr_mpi_allgather_int64(comm, size, sizes, err)) != CHR_OK) goto cleanup;
  int64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    displs[r] = (int)total;
    counts[r] = (int)sizes[r];
    total += sizes[r];
    if (total >= INT_MAX) break;
  }
  if (total >= INT_MAX)
    st = chr_error_set(err, CHR_EINVAL, "duplicates: %lld bytes to share; expected fewer than %d",
                       (long long)total, INT_MAX);
  else if ((*all = malloc((size_t)(total > 0 ? total : 1))) == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold %lld bytes", (long long)total);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  st = chr_mpi_agree(
      comm,
      chr_mpi_check(MPI_Allgatherv(mine, (int)size, MPI_BYTE, *all, counts, displs, MPI_BYTE, comm),
                    err, "MPI_Allgatherv of %lld bytes", (long long)size),
      err);
cleanup:
  if (st != CHR_OK) {
    free(*all);
    *all = NULL;
  }
  free(sizes);
  return st;
}

/* A lowest row's sparse row as it travels: row, support size, then bins and masses. */
typedef struct {
  int64_t row;
  int32_t n;
} head_header;

static size_t packed_size(int n) {
  return sizeof(head_header) + (size_t)n * (sizeof(uint16_t) + sizeof(float));
}

/* This rank's rows that lead a hash group of two or more, packed. */
static chr_status pack_heads(const chr_index *idx, const int64_t *head, const uint8_t *shared,
                             char **buf, int64_t *size, chr_error *err) {
  int64_t first = chr_index_first_row(idx), rows = chr_index_rows(idx), bytes = 0;
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  for (int64_t r = 0; r < rows; ++r)
    if (shared[first + r] && head[first + r] == first + r)
      bytes += (int64_t)packed_size(chr_index_support(idx, r, &bins, &mass));
  *size = bytes;
  *buf = malloc((size_t)(bytes > 0 ? bytes : 1));
  if (*buf == NULL)
    return chr_error_set(err, CHR_ENOMEM, "duplicates: cannot pack %lld bytes", (long long)bytes);
  char *at = *buf;
  for (int64_t r = 0; r < rows; ++r) {
    if (!shared[first + r] || head[first + r] != first + r) continue;
    head_header h = {first + r, chr_index_support(idx, r, &bins, &mass)};
    memcpy(at, &h, sizeof h);
    memcpy(at + sizeof h, bins, (size_t)h.n * sizeof *bins);
    memcpy(at + sizeof h + (size_t)h.n * sizeof *bins, mass, (size_t)h.n * sizeof *mass);
    at += packed_size(h.n);
  }
  return CHR_OK;
}

/* Compares this rank's rows with their hash group's lowest row (found in the gathered heads)
 * and appends the equal ones to pairs (row, representative). Returns how many. */
static int64_t settle(const chr_index *idx, const int64_t *head, const char *heads, int64_t total,
                      int64_t images, int64_t *pairs) {
  int64_t first = chr_index_first_row(idx), rows = chr_index_rows(idx), n = 0;
  /* Where each lead row's packed copy starts: one pass over the gathered bytes. */
  int64_t *where = malloc((size_t)(images > 0 ? images : 1) * sizeof *where);
  if (where == NULL) return -1;
  for (int64_t at = 0; at < total;) {
    head_header h;
    memcpy(&h, heads + at, sizeof h);
    where[h.row] = at;
    at += (int64_t)packed_size(h.n);
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t g = first + r, lead = head[g];
    if (lead == g) continue;
    head_header h;
    memcpy(&h, heads + where[lead], sizeof h);
    const char *p = heads + where[lead] + sizeof h;
    uint16_t *hb = malloc((size_t)(h.n > 0 ? h.n : 1) * sizeof *hb);
    float *hm = malloc((size_t)(h.n > 0 ? h.n : 1) * sizeof *hm);
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int m = chr_index_support(idx, r, &bins, &mass);
    int same = 0;
    if (hb != NULL && hm != NULL) { /* copied out: the packed bytes need not be aligned */
      memcpy(hb, p, (size_t)h.n * sizeof *hb);
      memcpy(hm, p + (size_t)h.n * sizeof *hb, (size_t)h.n * sizeof *hm);
      same = chr_dup_rows_equal(hb, hm, h.n, bins, mass, m);
    }
    free(hb);
    free(hm);
    if (hb == NULL || hm == NULL) {
      free(where);
      return -1;
    }
    if (same) {
      pairs[2 * n] = g;
      pairs[2 * n + 1] = lead;
      n++;
    }
  }
  free(where);
  return n;
}

/* The group's (row, representative) pairs, interleaved as every rank gathered them, as *out. */
static chr_status dups_from_pairs(const int64_t *got, int64_t total, chr_dups *out,
                                  chr_error *err) {
  int64_t *row = malloc((size_t)(total > 0 ? total : 1) * sizeof *row);
  int64_t *rep = malloc((size_t)(total > 0 ? total : 1) * sizeof *rep);
  for (int64_t i = 0; row && rep && i < total; ++i) {
    row[i] = got[2 * i];
    rep[i] = got[2 * i + 1];
  }
  chr_status st = row && rep ? chr_dups_create(row, rep, total, out, err)
                             : chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold %lld pairs",
                                             (long long)total);
  free(row);
  free(rep);
  return st;
}

chr_status chr_mpi_duplicates(MPI_Comm group_comm, chr_index *idx, int64_t images, chr_dups *out,
                              chr_error *err) {
  int ranks = 1, rank = 0;
  int64_t first = chr_index_first_row(idx), rows = chr_index_rows(idx), n_pairs = 0;
  memset(out, 0, sizeof *out);
  chr_status st = chr_mpi_place(group_comm, &rank, &ranks, err);
  uint64_t *mine = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *mine);
  int64_t *head = malloc((size_t)(images > 0 ? images : 1) * sizeof *head);
  uint8_t *shared = calloc((size_t)(images > 0 ? images : 1), 1);
  uint8_t *mask = calloc((size_t)(rows > 0 ? rows : 1), 1);
  int64_t *pairs = malloc((size_t)(rows > 0 ? rows : 1) * 2 * sizeof *pairs);
  int *displs = malloc((size_t)ranks * sizeof *displs),
      *counts = malloc((size_t)ranks * sizeof *counts);
  char *hashes = NULL, *heads = NULL, *packed = NULL, *all_pairs = NULL;
  int64_t packed_bytes = 0;
  if (st == CHR_OK && !(mine && head && shared && mask && pairs && displs && counts))
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold the hashes of %lld images",
                       (long long)images);
  if ((st = chr_mpi_agree(group_comm, st, err)) != CHR_OK) goto cleanup;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int m = chr_index_support(idx, r, &bins, &mass);
    mine[r] = chr_dup_row_hash(bins, mass, m);
  }
  st =
      allgather_bytes(group_comm, mine, rows * (int64_t)sizeof *mine, &hashes, displs, counts, err);
  if (st != CHR_OK) goto cleanup;
  /* The hashes are indexed by global row: the shards must follow the group's rank order. */
  int64_t hashed = ((int64_t)displs[ranks - 1] + counts[ranks - 1]) / (int64_t)sizeof *mine;
  if (displs[rank] != first * (int64_t)sizeof *mine || hashed != images)
    st = chr_error_set(err, CHR_EINVAL,
                       "duplicates: rank %d holds rows from %lld, %lld hashed of %lld images "
                       "(expected shards in rank order covering every image)",
                       rank, (long long)first, (long long)hashed, (long long)images);
  if ((st = chr_mpi_agree(group_comm, st, err)) != CHR_OK) goto cleanup;
  uint64_t *all = (uint64_t *)(void *)hashes; /* malloc'd: aligned for any type */
  st = chr_dup_hash_heads(all, images, head, err);
  for (int64_t r = 0; st == CHR_OK && r < images; ++r)
    if (head[r] != r) shared[r] = shared[head[r]] = 1;
  if (st == CHR_OK) st = pack_heads(idx, head, shared, &packed, &packed_bytes, err);
  if ((st = chr_mpi_agree(group_comm, st, err)) != CHR_OK) goto cleanup;
  st = allgather_bytes(group_comm, packed, packed_bytes, &heads, displs, counts, err);
  if (st != CHR_OK) goto cleanup;
  int64_t heads_total = (int64_t)displs[ranks - 1] + counts[ranks - 1];
  n_pairs = settle(idx, head, heads, heads_total, images, pairs);
  if (n_pairs < 0)
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot compare rows with their group's");
  if ((st = chr_mpi_agree(group_comm, st, err)) != CHR_OK) goto cleanup;
  for (int64_t i = 0; i < n_pairs; ++i) mask[pairs[2 * i] - first] = 1;
  st = allgather_bytes(group_comm, pairs, n_pairs * 2 * (int64_t)sizeof *pairs, &all_pairs, displs,
                       counts, err);
  if (st != CHR_OK) goto cleanup;
  int64_t total = ((int64_t)displs[ranks - 1] + counts[ranks - 1]) / (2 * (int64_t)sizeof *pairs);
  st = dups_from_pairs((const int64_t *)(const void *)all_pairs, total, out, err);
  if (st == CHR_OK) st = chr_index_set_excluded(idx, total > 0 ? mask : NULL, err);
  st = chr_mpi_agree(group_comm, st, err);
  if (st != CHR_OK) chr_dups_free(out);
cleanup:
  free(mine);
  free(head);
  free(shared);
  free(mask);
  free(pairs);
  free(displs);
  free(counts);
  free(hashes);
  free(heads);
  free(packed);
  free(all_pairs);
  return st;
}
