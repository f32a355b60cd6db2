/* The full check of a stored index by `chromatica info` (see info_index.h). */
#include "info_index.h"

#include <stdlib.h>
#include <string.h>

#include "chromatica/csr.h"
#include "chromatica/duplicates.h"
#include "chromatica/grid.h"
#include "chromatica/scan.h"

#define REBUILD "rebuild it with `chromatica index FILE`"

/* One block of rows in index form: CSR row ends (block_rows + 1), the sparse entries and the
 * bins-major roots (block_rows x CHR_BINS each). The check holds two: one rebuilt from
 * /histograms, one read from /index. */
typedef struct {
  int64_t *ends;
  uint16_t *bins;
  float *mass;
  uint16_t *roots;
  float *centroid; /* 3 x block_rows */
  uint8_t *cdf;    /* CHR_INDEX_CDF x block_rows */
} index_block;

struct info_index {
  chr_dataset *ds;
  chr_index_meta meta;
  index_block built, stored;
  uint64_t sum;
  uint64_t *hash; /* index_version 3: every row's chr_dup_row_hash, for the stored groups */
};

/* One allocation holds the whole block, widest elements first so each part stays aligned. */
static int block_alloc(index_block *b, int64_t block_rows) {
  size_t rows = (size_t)block_rows, cells = rows * CHR_BINS;
  size_t bytes = (rows + 1) * sizeof *b->ends + cells * sizeof *b->mass +
                 rows * 3 * sizeof *b->centroid + cells * sizeof *b->bins +
                 cells * sizeof *b->roots + rows * CHR_INDEX_CDF;
  unsigned char *at = malloc(bytes);
  if (at == NULL) return 0;
  b->ends = (int64_t *)at;
  b->mass = (float *)(at += (rows + 1) * sizeof *b->ends);
  b->centroid = (float *)(at += cells * sizeof *b->mass);
  b->bins = (uint16_t *)(at += rows * 3 * sizeof *b->centroid);
  b->roots = (uint16_t *)(at += cells * sizeof *b->bins);
  b->cdf = at + cells * sizeof *b->roots;
  return 1;
}

static void release(info_index *x) {
  if (x == NULL) return;
  free(x->built.ends); /* each block is one allocation (block_alloc) */
  free(x->stored.ends);
  free(x->hash);
  free(x);
}

chr_status chr_info_index_begin(chr_dataset *ds, const chr_index_meta *meta, int64_t block_rows,
                                info_index **out, chr_error *err) {
  info_index *x = calloc(1, sizeof *x);
  *out = NULL;
  if (x != NULL) {
    x->ds = ds;
    x->meta = *meta;
  }
  /* Both blocks allocated before testing either, so release frees whatever was allocated. */
  int built = x != NULL && block_alloc(&x->built, block_rows);
  int stored = x != NULL && block_alloc(&x->stored, block_rows);
  int64_t n = chr_dataset_images(ds);
  if (x != NULL && meta->duplicates) x->hash = malloc((size_t)(n > 0 ? n : 1) * sizeof *x->hash);
  if (!built || !stored || (meta->duplicates && x->hash == NULL)) {
    release(x);
    return chr_error_set(err, CHR_ENOMEM, "out of memory checking /index");
  }
  *out = x;
  return CHR_OK;
}

/* The first row of the block whose sparse entries differ from the stored ones, or -1. */
static int64_t first_sparse_difference(const index_block *b, const index_block *s, int64_t count) {
  for (int64_t r = 0; r < count; ++r) {
    int64_t lo = b->ends[r], n = b->ends[r + 1] - lo, slo = s->ends[r] - s->ends[0];
    if (s->ends[r + 1] - s->ends[r] != n ||
        memcmp(b->bins + lo, s->bins + slo, (size_t)n * sizeof *b->bins) != 0 ||
        memcmp(b->mass + lo, s->mass + slo, (size_t)n * sizeof *b->mass) != 0)
      return r;
  }
  return -1;
}

/* The stored summaries of the block (index_version 2) against those of its rows. */
/* The first of n elements of `size` bytes where a and b differ bit for bit, or n. */
static size_t first_mismatch(const void *a, const void *b, size_t n, size_t size) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; ++i)
    if (memcmp(x + i * size, y + i * size, size) != 0) return i;
  return n;
}

/* Element i of a [columns, count] block of summaries differs from the one rebuilt. */
static chr_status mismatch(const char *what, size_t i, int64_t first, int64_t count, double stored,
                           double built, chr_error *err) {
  return chr_error_set(err, CHR_EFORMAT, "%s %lld, row %lld: %g (expected %g from /histograms; %s)",
                       what, (long long)(i / (size_t)count),
                       (long long)(first + (int64_t)(i % (size_t)count)), stored, built, REBUILD);
}

static chr_status check_summaries(info_index *x, int64_t first, int64_t count, chr_error *err) {
  index_block *b = &x->built, *s = &x->stored;
  chr_index_summary_block(b->ends, b->bins, b->mass, count, b->centroid, b->cdf);
  chr_status st = chr_dataset_index_read_summaries(x->ds, first, count, s->centroid, s->cdf, err);
  if (st != CHR_OK) return st;
  size_t n = (size_t)count * 3, i = first_mismatch(b->centroid, s->centroid, n, sizeof(float));
  if (i < n)
    return mismatch("/index/centroid axis", i, first, count, s->centroid[i], b->centroid[i], err);
  n = (size_t)count * CHR_INDEX_CDF;
  i = first_mismatch(b->cdf, s->cdf, n, sizeof *b->cdf);
  if (i < n) return mismatch("/index/cdf column", i, first, count, s->cdf[i], b->cdf[i], err);
  return CHR_OK;
}

chr_status chr_info_index_block(info_index *x, const float *rows, int64_t first, int64_t count,
                                chr_error *err) {
  index_block *b = &x->built, *s = &x->stored;
  int64_t nnz = 0;
  b->ends[0] = 0;
  chr_csr_from_dense(rows, count, b->bins, b->mass, &nnz, b->ends + 1);
  for (int64_t r = 0; r < count; ++r) {
    int n = (int)(b->ends[r + 1] - b->ends[r]);
    x->sum += chr_csr_row_term(first + r, b->bins + b->ends[r], b->mass + b->ends[r], n);
    if (x->hash != NULL)
      x->hash[first + r] = chr_dup_row_hash(b->bins + b->ends[r], b->mass + b->ends[r], n);
  }
  chr_status st = chr_dataset_index_read_offsets(x->ds, first, count, s->ends, H5P_DEFAULT, err);
  if (st != CHR_OK) return st;
  int64_t n = s->ends[count] - s->ends[0];
  if (s->ends[0] < 0 || n != nnz || s->ends[count] > x->meta.nnz)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/offsets rows %lld..%lld: %lld entries (expected %lld from "
                         "/histograms: stale index; %s)",
                         (long long)first, (long long)(first + count), (long long)n, (long long)nnz,
                         REBUILD);
  st = chr_dataset_index_read_entries(x->ds, s->ends[0], n, s->bins, s->mass, H5P_DEFAULT, err);
  if (st != CHR_OK) return st;
  int64_t bad = first_sparse_difference(b, s, count);
  if (bad >= 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index row %lld differs from /histograms row %lld (stale index; %s)",
                         (long long)(first + bad), (long long)(first + bad), REBUILD);
  chr_index_roots_block(b->ends, b->bins, b->mass, count, b->roots);
  st = chr_dataset_index_read_roots(x->ds, first, count, s->roots, err);
  if (st != CHR_OK) return st;
  for (size_t i = 0; i < (size_t)count * CHR_BINS; ++i)
    if (b->roots[i] != s->roots[i])
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/roots bin %lld, row %lld: %u (expected %u from /histograms; "
                           "%s)",
                           (long long)(i / (size_t)count),
                           (long long)(first + (int64_t)(i % (size_t)count)), (unsigned)s->roots[i],
                           (unsigned)b->roots[i], REBUILD);
  return x->meta.summaries ? check_summaries(x, first, count, err) : CHR_OK;
}

/* The stored duplicate groups (checked by their fingerprint) against the rows' hashes: every
 * row whose hash an earlier row has must be stored as collapsed onto the first such row, and
 * no other (a hash match stands for equal rows here: a 2^-64 event aside). */
static chr_status check_groups(info_index *x, chr_error *err) {
  int64_t n = chr_dataset_images(x->ds), expected = 0;
  chr_dups d = {0};
  int64_t *head = malloc((size_t)(n > 0 ? n : 1) * sizeof *head);
  chr_status st = head == NULL ? chr_error_set(err, CHR_ENOMEM, "out of memory checking groups")
                               : chr_dataset_index_read_duplicates(x->ds, &x->meta, &d, err);
  if (st == CHR_OK) st = chr_dup_hash_heads(x->hash, n, head, err);
  for (int64_t r = 0; st == CHR_OK && r < n; ++r) expected += head[r] != r;
  int64_t bad = -1;
  for (int64_t i = 0; st == CHR_OK && bad < 0 && i < d.n; ++i)
    if (head[d.row[i]] != d.rep[i]) bad = i;
  if (st == CHR_OK && (bad >= 0 || expected != d.n))
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index/duplicates: %lld pairs%s (expected the %lld copies /histograms "
                       "holds; stale index; %s)",
                       (long long)d.n, bad >= 0 ? ", one of rows that differ" : "",
                       (long long)expected, REBUILD);
  chr_dups_free(&d);
  free(head);
  return st;
}

chr_status chr_info_index_end(info_index **p, chr_error *err) {
  info_index *x = *p;
  chr_status st = CHR_OK;
  if (x->sum != x->meta.checksum)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: checksum attribute %016llx (expected %016llx from /histograms; "
                       "%s)",
                       (unsigned long long)x->meta.checksum, (unsigned long long)x->sum, REBUILD);
  if (st == CHR_OK && x->hash != NULL) st = check_groups(x, err);
  release(x);
  *p = NULL;
  return st;
}
