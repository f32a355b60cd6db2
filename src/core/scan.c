/* The shard index (bin-major columns + CSR rows) and the exact stage-1 scan (spec section 4).
 *
 * Bit-identity: every path sums the same double terms sqrt(q_k) * sqrt((double)x_b) in the
 * query's ascending bin order, starting from 0.0. A bin where x is zero adds +0.0 to a sum
 * that is >= 0, which is exact, so the CSR walk (which skips zeros) and the column scan (which
 * does not) give the same bits. This relies on no FMA contraction (-ffp-contract=off, the
 * default for -std=c11 in GCC) and no -ffast-math. */
#include "chromatica/scan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows per stack buffer of per-row sums inside chr_scan_block. */
#define CHR_SCAN_CHUNK 1024
/* Rows per independent work unit of chr_scan_topk; fixed so results never depend on threads. */
#define CHR_SCAN_BLOCK 16384

struct chr_index {
  int64_t capacity;
  int64_t first_row;
  int64_t rows;
  float *columns;   /* CHR_BINS x capacity; column b starts at columns + b * capacity */
  int64_t *offsets; /* capacity + 1; row r's support is [offsets[r], offsets[r+1]) */
  uint16_t *bins;   /* CSR bin indices, ascending within a row */
  float *mass;      /* CSR masses, parallel to bins */
  int64_t nnz_cap;  /* allocated length of bins and mass */
};

chr_status chr_index_create(int64_t capacity, int64_t first_row, chr_index **out, chr_error *err) {
  chr_status st = CHR_OK;
  chr_index *idx = NULL;
  *out = NULL;
  if (capacity < 0 || first_row < 0)
    return chr_error_set(err, CHR_EINVAL,
                         "index: capacity %lld and first_row %lld must both be >= 0",
                         (long long)capacity, (long long)first_row);
  if ((uint64_t)capacity > SIZE_MAX / sizeof(float) / CHR_BINS - 1)
    return chr_error_set(err, CHR_ENOMEM, "index: capacity %lld rows is too large",
                         (long long)capacity);
  idx = calloc(1, sizeof *idx);
  if (idx == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "index: out of memory allocating the handle");
    goto cleanup;
  }
  idx->capacity = capacity;
  idx->first_row = first_row;
  /* +1 keeps malloc(0) out of the picture for an empty shard. */
  idx->columns = malloc(((size_t)capacity * CHR_BINS + 1) * sizeof(float));
  idx->offsets = malloc(((size_t)capacity + 1) * sizeof(int64_t));
  if (idx->columns == NULL || idx->offsets == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "index: out of memory for %lld rows",
                       (long long)capacity);
    goto cleanup;
  }
  idx->offsets[0] = 0;
  *out = idx;
  idx = NULL;
cleanup:
  chr_index_destroy(&idx);
  return st;
}

void chr_index_destroy(chr_index **p) {
  if (p == NULL || *p == NULL) return;
  chr_index *idx = *p;
  free(idx->columns);
  free(idx->offsets);
  free(idx->bins);
  free(idx->mass);
  free(idx);
  *p = NULL;
}

static chr_status reserve_nnz(chr_index *idx, int64_t need, chr_error *err) {
  if (need <= idx->nnz_cap) return CHR_OK;
  int64_t cap = idx->nnz_cap > 0 ? idx->nnz_cap : 1024;
  while (cap < need) cap *= 2;
  uint16_t *bins = realloc(idx->bins, (size_t)cap * sizeof *bins);
  if (bins == NULL) goto fail;
  idx->bins = bins;
  float *mass = realloc(idx->mass, (size_t)cap * sizeof *mass);
  if (mass == NULL) goto fail;
  idx->mass = mass;
  idx->nnz_cap = cap;
  return CHR_OK;
fail:
  return chr_error_set(err, CHR_ENOMEM, "index: out of memory for %lld sparse entries",
                       (long long)cap);
}

chr_status chr_index_append(chr_index *idx, const float *rows, int64_t count, chr_error *err) {
  if (count < 0 || count > idx->capacity - idx->rows)
    return chr_error_set(err, CHR_EINVAL,
                         "index: appending %lld rows to %lld of capacity %lld; expected at most "
                         "%lld",
                         (long long)count, (long long)idx->rows, (long long)idx->capacity,
                         (long long)(idx->capacity - idx->rows));
  int64_t nnz = 0;
  for (int64_t i = 0; i < count * CHR_BINS; ++i) nnz += rows[i] != 0.0f;
  int64_t base = idx->offsets[idx->rows];
  chr_status st = reserve_nnz(idx, base + nnz, err);
  if (st != CHR_OK) return st;

  int64_t at = base;
  for (int64_t r = 0; r < count; ++r) {
    const float *x = rows + r * CHR_BINS;
    for (int b = 0; b < CHR_BINS; ++b) {
      if (x[b] != 0.0f) {
        idx->bins[at] = (uint16_t)b;
        idx->mass[at] = x[b];
        ++at;
      }
    }
    idx->offsets[idx->rows + r + 1] = at;
  }
  /* Transpose in small row groups so the strided column writes stay cache friendly. */
  for (int64_t r0 = 0; r0 < count; r0 += 64) {
    int64_t r1 = r0 + 64 < count ? r0 + 64 : count;
    for (int b = 0; b < CHR_BINS; ++b) {
      float *col = idx->columns + (size_t)b * (size_t)idx->capacity + (size_t)idx->rows;
      for (int64_t r = r0; r < r1; ++r) col[r] = rows[r * CHR_BINS + b];
    }
  }
  idx->rows += count;
  return CHR_OK;
}

int64_t chr_index_rows(const chr_index *idx) { return idx->rows; }
int64_t chr_index_first_row(const chr_index *idx) { return idx->first_row; }

int chr_index_support(const chr_index *idx, int64_t r, const uint16_t **bins, const float **mass) {
  int64_t lo = idx->offsets[r];
  *bins = idx->bins + lo;
  *mass = idx->mass + lo;
  return (int)(idx->offsets[r + 1] - lo);
}

double chr_scan_score(const chr_index *idx, const chr_qhist *q, int64_t r) {
  const uint16_t *bins;
  const float *mass;
  int n = chr_index_support(idx, r, &bins, &mass);
  double s = 0.0;
  int j = 0;
  /* Merge walk of two ascending supports; only common bins contribute a non-zero term. */
  for (int k = 0; k < q->count; ++k) {
    while (j < n && bins[j] < q->bin[k]) ++j;
    if (j < n && bins[j] == q->bin[k]) s += sqrt(q->mass[k]) * sqrt((double)mass[j]);
  }
  return 2.0 - 2.0 * s;
}

static void scan_range(const chr_index *idx, const chr_qhist *q, const double *sqrt_q,
                       int64_t begin, int64_t end, chr_topk *top) {
  double acc[CHR_SCAN_CHUNK];
  for (int64_t c0 = begin; c0 < end; c0 += CHR_SCAN_CHUNK) {
    int len = (int)(end - c0 < CHR_SCAN_CHUNK ? end - c0 : CHR_SCAN_CHUNK);
    for (int r = 0; r < len; ++r) acc[r] = 0.0;
    for (int k = 0; k < q->count; ++k) {
      const float *col = idx->columns + (size_t)q->bin[k] * (size_t)idx->capacity + (size_t)c0;
      const double w = sqrt_q[k];
      for (int r = 0; r < len; ++r) acc[r] += w * sqrt((double)col[r]);
    }
    for (int r = 0; r < len; ++r) chr_topk_push(top, 2.0 - 2.0 * acc[r], idx->first_row + c0 + r);
  }
}

void chr_scan_block(const chr_index *idx, const chr_qhist *q, int64_t begin, int64_t end,
                    chr_topk *top) {
  double sqrt_q[CHR_QUERY_MAX_BINS];
  for (int k = 0; k < q->count; ++k) sqrt_q[k] = sqrt(q->mass[k]);
  scan_range(idx, q, sqrt_q, begin, end, top);
}

int chr_scan_topk(const chr_index *idx, const chr_qhist *q, int want, chr_hit *out, chr_error *err) {
  int result = -1;
  chr_hit *lists = NULL, *tmp = NULL;
  int *counts = NULL;
  int64_t rows = idx->rows;
  if (want <= 0 || rows == 0) return 0;
  int n = (int64_t)want < rows ? want : (int)rows;
  int64_t nblocks = (rows + CHR_SCAN_BLOCK - 1) / CHR_SCAN_BLOCK;
  int per = n < CHR_SCAN_BLOCK ? n : CHR_SCAN_BLOCK; /* a block never yields more */
  double sqrt_q[CHR_QUERY_MAX_BINS];
  for (int k = 0; k < q->count; ++k) sqrt_q[k] = sqrt(q->mass[k]);

  lists = malloc((size_t)nblocks * (size_t)per * sizeof *lists);
  counts = malloc((size_t)nblocks * sizeof *counts);
  tmp = malloc((size_t)n * sizeof *tmp);
  if (lists == NULL || counts == NULL || tmp == NULL) {
    chr_error_set(err, CHR_ENOMEM, "scan: out of memory for %lld block lists of %d hits",
                  (long long)nblocks, per);
    goto cleanup;
  }

#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel())
#endif
  for (int64_t blk = 0; blk < nblocks; ++blk) {
    chr_topk top;
    chr_topk_init(&top, lists + blk * per, per);
    int64_t begin = blk * CHR_SCAN_BLOCK;
    int64_t end = begin + CHR_SCAN_BLOCK < rows ? begin + CHR_SCAN_BLOCK : rows;
    scan_range(idx, q, sqrt_q, begin, end, &top);
    counts[blk] = chr_topk_finish(&top);
  }

  int have = counts[0];
  memcpy(out, lists, (size_t)have * sizeof *out);
  for (int64_t blk = 1; blk < nblocks; ++blk) {
    have = chr_hits_merge(out, have, lists + blk * per, counts[blk], tmp, n);
    memcpy(out, tmp, (size_t)have * sizeof *out);
  }
  result = have;
cleanup:
  free(lists);
  free(counts);
  free(tmp);
  return result;
}
