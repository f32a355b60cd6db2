/* Duplicate histograms: row hashes, exact comparison, and the row -> representative map. */
#include "chromatica/duplicates.h"

#include <stdlib.h>
#include <string.h>

#include "chromatica/mix.h"

uint64_t chr_dup_row_hash(const uint16_t *bins, const float *mass, int n) {
  uint64_t h = chr_mix64(0x9e3779b97f4a7c15ull ^ (uint64_t)n);
  for (int j = 0; j < n; ++j) {
    uint32_t bits;
    memcpy(&bits, &mass[j], sizeof bits);
    h = chr_mix64(h ^ (((uint64_t)bins[j] << 32) | bits));
  }
  return h;
}

int chr_dup_rows_equal(const uint16_t *bins_a, const float *mass_a, int n_a, const uint16_t *bins_b,
                       const float *mass_b, int n_b) {
  /* Bit patterns, not float ==, so "equal" means the same bytes in the file. */
  return n_a == n_b && memcmp(bins_a, bins_b, (size_t)n_a * sizeof *bins_a) == 0 &&
         memcmp(mass_a, mass_b, (size_t)n_a * sizeof *mass_a) == 0;
}

typedef struct {
  uint64_t hash;
  int64_t row;
} keyed_row;

static int keyed_compare(const void *pa, const void *pb) {
  const keyed_row *a = pa, *b = pb;
  if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

chr_status chr_dup_hash_heads(const uint64_t *hash, int64_t n, int64_t *head, chr_error *err) {
  keyed_row *k = malloc((size_t)(n > 0 ? n : 1) * sizeof *k);
  if (k == NULL)
    return chr_error_set(err, CHR_ENOMEM, "duplicates: cannot sort the hashes of %lld rows",
                         (long long)n);
  for (int64_t r = 0; r < n; ++r) k[r] = (keyed_row){hash[r], r};
  qsort(k, (size_t)n, sizeof *k, keyed_compare);
  for (int64_t i = 0, lead = 0; i < n; ++i) {
    if (i > 0 && k[i].hash != k[i - 1].hash) lead = i;
    head[k[i].row] = k[lead].row; /* sorted by row within a hash: the first is the lowest */
  }
  free(k);
  return CHR_OK;
}

typedef struct {
  int64_t rep, row;
} pair;

static int pair_compare(const void *pa, const void *pb) {
  const pair *a = pa, *b = pb;
  if (a->rep != b->rep) return (a->rep > b->rep) - (a->rep < b->rep);
  return (a->row > b->row) - (a->row < b->row);
}

chr_status chr_dups_create(const int64_t *row, const int64_t *rep, int64_t n, chr_dups *d,
                           chr_error *err) {
  chr_status st = CHR_OK;
  memset(d, 0, sizeof *d);
  size_t count = (size_t)(n > 0 ? n : 1);
  pair *p = malloc(count * sizeof *p);
  d->row = malloc(count * sizeof *d->row);
  d->rep = malloc(count * sizeof *d->rep);
  if (p == NULL || d->row == NULL || d->rep == NULL) {
    st =
        chr_error_set(err, CHR_ENOMEM, "duplicates: cannot hold %lld collapsed rows", (long long)n);
    chr_dups_free(d);
    goto cleanup;
  }
  for (int64_t i = 0; i < n; ++i) p[i] = (pair){rep[i], row[i]};
  qsort(p, (size_t)n, sizeof *p, pair_compare);
  for (int64_t i = 0; i < n; ++i) {
    d->row[i] = p[i].row;
    d->rep[i] = p[i].rep;
    d->groups += i == 0 || p[i].rep != p[i - 1].rep;
  }
  d->n = n;
cleanup:
  free(p);
  return st;
}

void chr_dups_free(chr_dups *d) {
  free(d->row);
  free(d->rep);
  memset(d, 0, sizeof *d);
}

int64_t chr_dups_members(const chr_dups *d, int64_t rep, const int64_t **rows) {
  int64_t lo = 0, hi = d->n;
  while (lo < hi) { /* the first entry whose rep is >= rep */
    int64_t mid = lo + (hi - lo) / 2;
    if (d->rep[mid] < rep)
      lo = mid + 1;
    else
      hi = mid;
  }
  int64_t end = lo;
  while (end < d->n && d->rep[end] == rep) end++;
  *rows = d->row != NULL ? d->row + lo : NULL;
  return end - lo;
}

uint64_t chr_dups_checksum(const int64_t *row, const int64_t *rep, int64_t n,
                           uint64_t index_checksum) {
  uint64_t h = chr_mix64(index_checksum ^ 0x6475706c69636174ull); /* "duplicat" */
  h = chr_mix64(h ^ (uint64_t)n);
  for (int64_t i = 0; i < n; ++i) h = chr_mix64(chr_mix64(h ^ (uint64_t)row[i]) ^ (uint64_t)rep[i]);
  return h;
}

chr_status chr_dups_check_pairs(const int64_t *row, const int64_t *rep, int64_t n, int64_t images,
                                const char *what, chr_error *err) {
  /* 1: collapsed, 2: a representative; a row must never be both or collapsed twice. */
  uint8_t *role = calloc((size_t)(images > 0 ? images : 1), 1);
  if (role == NULL)
    return chr_error_set(err, CHR_ENOMEM, "%s: cannot check %lld pairs", what, (long long)n);
  chr_status st = CHR_OK;
  for (int64_t i = 0; i < n && st == CHR_OK; ++i) {
    int in_range = rep[i] >= 0 && rep[i] < row[i] && row[i] < images;
    int ordered = i == 0 || rep[i] > rep[i - 1] || (rep[i] == rep[i - 1] && row[i] > row[i - 1]);
    if (!in_range || !ordered || role[row[i]] != 0 || role[rep[i]] == 1)
      st = chr_error_set(err, CHR_EFORMAT,
                         "%s pair %lld: row %lld, representative %lld (expected 0 <= "
                         "representative < row < %lld, pairs ordered by (representative, row), "
                         "each row collapsed once onto a row not itself collapsed)",
                         what, (long long)i, (long long)row[i], (long long)rep[i],
                         (long long)images);
    else {
      role[row[i]] = 1;
      role[rep[i]] = 2;
    }
  }
  free(role);
  return st;
}
