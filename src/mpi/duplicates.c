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

/* The rows a rank compares: a loaded shard's (idx), or a block of sparse rows being indexed
 * (offsets relative to bins and mass). */
typedef struct {
  const chr_index *idx;
  int64_t first, rows;
  const int64_t *offsets;
  const uint16_t *bins;
  const float *mass;
} row_view;

static int support(const row_view *v, int64_t r, const uint16_t **bins, const float **mass) {
  if (v->idx != NULL) return chr_index_support(v->idx, r, bins, mass);
  *bins = v->bins + v->offsets[r];
  *mass = v->mass + v->offsets[r];
  return (int)(v->offsets[r + 1] - v->offsets[r]);
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
static chr_status pack_heads(const row_view *v, const int64_t *head, const uint8_t *shared,
                             char **buf, int64_t *size, chr_error *err) {
  int64_t first = v->first, rows = v->rows, bytes = 0;
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  for (int64_t r = 0; r < rows; ++r)
    if (shared[first + r] && head[first + r] == first + r)
      bytes += (int64_t)packed_size(support(v, r, &bins, &mass));
  *size = bytes;
  *buf = malloc((size_t)(bytes > 0 ? bytes : 1));
  if (*buf == NULL)
    return chr_error_set(err, CHR_ENOMEM, "duplicates: cannot pack %lld bytes", (long long)bytes);
  char *at = *buf;
  for (int64_t r = 0; r < rows; ++r) {
    if (!shared[first + r] || head[first + r] != first + r) continue;
    head_header h = {first + r, support(v, r, &bins, &mass)};
    memcpy(at, &h, sizeof h);
    memcpy(at + sizeof h, bins, (size_t)h.n * sizeof *bins);
    memcpy(at + sizeof h + (size_t)h.n * sizeof *bins, mass, (size_t)h.n * sizeof *mass);
    at += packed_size(h.n);
  }
  return CHR_OK;
}

/* 1 when this rank's row r equals the packed row at p (n entries), 0 when not, -1 when out of
 * memory. */
static int equals_packed(const row_view *v, int64_t r, const char *p, int n) {
  uint16_t *hb = malloc((size_t)(n > 0 ? n : 1) * sizeof *hb);
  float *hm = malloc((size_t)(n > 0 ? n : 1) * sizeof *hm);
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  int m = support(v, r, &bins, &mass), same = -1;
  if (hb != NULL && hm != NULL) { /* copied out: the packed bytes need not be aligned */
    memcpy(hb, p, (size_t)n * sizeof *hb);
    memcpy(hm, p + (size_t)n * sizeof *hb, (size_t)n * sizeof *hm);
    same = chr_dup_rows_equal(hb, hm, n, bins, mass, m);
  }
  free(hb);
  free(hm);
  return same;
}

/* Compares this rank's rows with their hash group's lowest row (found in the gathered heads)
 * and appends the equal ones to pairs (row, representative). Returns how many. */
static int64_t settle(const row_view *v, const int64_t *head, const char *heads, int64_t total,
                      int64_t images, int64_t *pairs) {
  int64_t first = v->first, rows = v->rows, n = 0;
  /* Where each lead row's packed copy starts: one pass over the gathered bytes. */
  int64_t *where = malloc((size_t)(images > 0 ? images : 1) * sizeof *where);
  if (where == NULL) return -1;
  memset(where, 0xff, (size_t)(images > 0 ? images : 1) * sizeof *where); /* -1: not sent */
  for (int64_t at = 0; at < total;) {
    head_header h;
    memcpy(&h, heads + at, sizeof h);
    where[h.row] = at;
    at += (int64_t)packed_size(h.n);
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t g = first + r, lead = head[g];
    /* A lead no rank sent (a shard layout that misses rows) settles nothing: the row stays
     * apart, and a stored list that claimed it fails its count. */
    if (lead == g || where[lead] < 0) continue;
    head_header h;
    memcpy(&h, heads + where[lead], sizeof h);
    int same = equals_packed(v, r, heads + where[lead] + sizeof h, h.n);
    if (same < 0) {
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

/* head[g] for every row g of the dataset from the hashes of every rank's rows: the lowest row
 * of the same hash. */
static chr_status hashed_heads(MPI_Comm comm, const row_view *v, int64_t images, int64_t *head,
                               chr_error *err) {
  int ranks = 1, rank = 0;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  uint64_t *mine = malloc((size_t)(v->rows > 0 ? v->rows : 1) * sizeof *mine);
  int *displs = malloc((size_t)ranks * sizeof *displs),
      *counts = malloc((size_t)ranks * sizeof *counts);
  char *hashes = NULL;
  if (st == CHR_OK && !(mine && displs && counts))
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold the hashes of %lld images",
                       (long long)images);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < v->rows; ++r) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int m = support(v, r, &bins, &mass);
    mine[r] = chr_dup_row_hash(bins, mass, m);
  }
  st = allgather_bytes(comm, mine, v->rows * (int64_t)sizeof *mine, &hashes, displs, counts, err);
  if (st != CHR_OK) goto cleanup;
  /* The hashes are indexed by global row: the shards must follow the group's rank order. */
  int64_t hashed = ((int64_t)displs[ranks - 1] + counts[ranks - 1]) / (int64_t)sizeof *mine;
  if (displs[rank] != v->first * (int64_t)sizeof *mine || hashed != images)
    st = chr_error_set(err, CHR_EINVAL,
                       "duplicates: rank %d holds rows from %lld, %lld hashed of %lld images "
                       "(expected shards in rank order covering every image)",
                       rank, (long long)v->first, (long long)hashed, (long long)images);
  if (st == CHR_OK) /* malloc'd: aligned for any type */
    st = chr_dup_hash_heads((const uint64_t *)(const void *)hashes, images, head, err);
  st = chr_mpi_agree(comm, st, err);
cleanup:
  free(mine);
  free(displs);
  free(counts);
  free(hashes);
  return st;
}

/* Settles every row g with head[g] != g by an exact comparison with row head[g] (sent by its
 * owner to all); *out receives the equal pairs of every rank, mask (v->rows) marks this rank's.
 * expect >= 0: this rank's rows with head[g] != g must all be equal (stored groups), else
 * CHR_EFORMAT. */
static chr_status settle_groups(MPI_Comm comm, const row_view *v, int64_t images,
                                const int64_t *head, int64_t expect, chr_dups *out, uint8_t *mask,
                                chr_error *err) {
  int ranks = 1, rank = 0;
  int64_t n_pairs = 0, packed_bytes = 0;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  uint8_t *shared = calloc((size_t)(images > 0 ? images : 1), 1);
  int64_t *pairs = malloc((size_t)(v->rows > 0 ? v->rows : 1) * 2 * sizeof *pairs);
  int *displs = malloc((size_t)ranks * sizeof *displs),
      *counts = malloc((size_t)ranks * sizeof *counts);
  char *heads = NULL, *packed = NULL, *all_pairs = NULL;
  if (st == CHR_OK && !(shared && pairs && displs && counts))
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold the groups of %lld images",
                       (long long)images);
  for (int64_t r = 0; st == CHR_OK && r < images; ++r)
    if (head[r] != r) shared[r] = shared[head[r]] = 1;
  if (st == CHR_OK) st = pack_heads(v, head, shared, &packed, &packed_bytes, err);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  st = allgather_bytes(comm, packed, packed_bytes, &heads, displs, counts, err);
  if (st != CHR_OK) goto cleanup;
  int64_t heads_total = (int64_t)displs[ranks - 1] + counts[ranks - 1];
  n_pairs = settle(v, head, heads, heads_total, images, pairs);
  if (n_pairs < 0)
    st = chr_error_set(err, CHR_ENOMEM, "duplicates: cannot compare rows with their group's");
  else if (expect >= 0 && n_pairs != expect)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index/duplicates: %lld of the %lld rows it collapses in rows %lld..%lld "
                       "are not identical to their representative (expected all: the index was "
                       "modified; rebuild it with `chromatica index FILE`)",
                       (long long)(expect - n_pairs), (long long)expect, (long long)v->first,
                       (long long)(v->first + v->rows - 1));
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  for (int64_t i = 0; i < n_pairs; ++i) mask[pairs[2 * i] - v->first] = 1;
  st = allgather_bytes(comm, pairs, n_pairs * 2 * (int64_t)sizeof *pairs, &all_pairs, displs,
                       counts, err);
  if (st != CHR_OK) goto cleanup;
  int64_t total = ((int64_t)displs[ranks - 1] + counts[ranks - 1]) / (2 * (int64_t)sizeof *pairs);
  st = chr_mpi_agree(
      comm, dups_from_pairs((const int64_t *)(const void *)all_pairs, total, out, err), err);
cleanup:
  free(shared);
  free(pairs);
  free(displs);
  free(counts);
  free(heads);
  free(packed);
  free(all_pairs);
  return st;
}

/* Finds (stored == NULL: by hashing) or checks (the stored groups) the groups of v's rows. */
static chr_status find_groups(MPI_Comm comm, const row_view *v, int64_t images,
                              const chr_dups *stored, chr_dups *out, uint8_t *mask,
                              chr_error *err) {
  int64_t *head = malloc((size_t)(images > 0 ? images : 1) * sizeof *head), expect = -1;
  chr_status st = head == NULL ? chr_error_set(err, CHR_ENOMEM,
                                               "duplicates: cannot hold the groups of %lld images",
                                               (long long)images)
                               : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) goto cleanup;
  if (stored == NULL) {
    st = hashed_heads(comm, v, images, head, err);
  } else {
    expect = 0;
    for (int64_t g = 0; g < images; ++g) head[g] = g;
    for (int64_t i = 0; i < stored->n; ++i) {
      head[stored->row[i]] = stored->rep[i];
      expect += stored->row[i] >= v->first && stored->row[i] < v->first + v->rows;
    }
  }
  if (st == CHR_OK) st = settle_groups(comm, v, images, head, expect, out, mask, err);
cleanup:
  free(head);
  return st;
}

/* Groups of a loaded shard (stored or found), and idx's exclusion mask from them. */
static chr_status shard_groups(MPI_Comm comm, chr_index *idx, int64_t images,
                               const chr_dups *stored, chr_dups *out, chr_error *err) {
  int64_t rows = chr_index_rows(idx);
  row_view v = {idx, chr_index_first_row(idx), rows, NULL, NULL, NULL};
  uint8_t *mask = calloc((size_t)(rows > 0 ? rows : 1), 1);
  memset(out, 0, sizeof *out);
  chr_status st =
      mask == NULL ? chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold a mask") : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) == CHR_OK)
    st = find_groups(comm, &v, images, stored, out, mask, err);
  if (st == CHR_OK) st = chr_index_set_excluded(idx, out->n > 0 ? mask : NULL, err);
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) chr_dups_free(out);
  free(mask);
  return st;
}

chr_status chr_mpi_duplicates(MPI_Comm group_comm, chr_index *idx, int64_t images, chr_dups *out,
                              chr_error *err) {
  return shard_groups(group_comm, idx, images, NULL, out, err);
}

chr_status chr_mpi_duplicates_stored(MPI_Comm group_comm, chr_index *idx, int64_t images,
                                     const chr_dups *stored, chr_dups *out, chr_error *err) {
  /* No stored pairs (every rank read the same checked list): nothing to compare or share, so
   * no collective at all; each is a wait for the slowest rank on a busy machine. */
  if (stored->n == 0) {
    memset(out, 0, sizeof *out);
    return chr_index_set_excluded(idx, NULL, err);
  }
  return shard_groups(group_comm, idx, images, stored, out, err);
}

chr_status chr_mpi_duplicates_rows(MPI_Comm comm, int64_t first, int64_t rows,
                                   const int64_t *offsets, const uint16_t *bins, const float *mass,
                                   int64_t images, chr_dups *out, chr_error *err) {
  row_view v = {NULL, first, rows, offsets, bins, mass};
  uint8_t *mask = calloc((size_t)(rows > 0 ? rows : 1), 1);
  memset(out, 0, sizeof *out);
  chr_status st =
      mask == NULL ? chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold a mask") : CHR_OK;
  if ((st = chr_mpi_agree(comm, st, err)) == CHR_OK)
    st = find_groups(comm, &v, images, NULL, out, mask, err);
  if (st != CHR_OK) chr_dups_free(out);
  free(mask);
  return st;
}
