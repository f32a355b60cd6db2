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
/* Rows per chunk of the many-query scan: small, so every query's sums stay in cache at once. */
#define CHR_SCAN_MANY_CHUNK 64
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

/* acc[r] += w * sqrt((double)col[r]): the scan's inner loop. Compiled for AVX-512, AVX2 and
 * the baseline and chosen at load time by the CPU (GCC function multi-versioning), so the
 * default build runs the widest vectors the machine has without -march=native. Square root,
 * multiply and add are correctly rounded IEEE operations at every width and FMA contraction is
 * off (-ffp-contract=off), so every version gives the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void accumulate_column(double *restrict acc, const float *restrict col, double w,
                              int len) {
  for (int r = 0; r < len; ++r) acc[r] += w * sqrt((double)col[r]);
}

/* One query's sums over a chunk: acc[r] = sum_k w[k] * roots[slot[k]][r], k ascending, from
 * square roots computed once per chunk and shared by every query of the batch. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void accumulate_query(double *restrict acc, const double *restrict roots,
                             const int *restrict slot, const double *restrict w, int count,
                             int len, int stride) {
  for (int r = 0; r < len; ++r) acc[r] = 0.0;
  for (int k = 0; k < count; ++k) {
    const double *root = roots + (size_t)slot[k] * (size_t)stride;
    const double wk = w[k];
    for (int r = 0; r < len; ++r) acc[r] += wk * root[r];
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void column_roots(double *restrict root, const float *restrict col, int len) {
  for (int r = 0; r < len; ++r) root[r] = sqrt((double)col[r]);
}

/* Offers rows first_row.. with sums acc[0..len) to top. A full list's worst entry rejects most
 * rows with one comparison; equal scores still go through the push, whose row tie-break
 * decides. */
static void push_scores(chr_topk *top, const double *acc, int len, int64_t first_row) {
  for (int r = 0; r < len; ++r) {
    double score = 2.0 - 2.0 * acc[r];
    if (top->count == top->cap && (top->cap == 0 || score > chr_topk_worst(top)->score)) continue;
    chr_topk_push(top, score, first_row + r);
  }
}

static void scan_range(const chr_index *idx, const chr_qhist *q, const double *sqrt_q,
                       int64_t begin, int64_t end, chr_topk *top) {
  double acc[CHR_SCAN_CHUNK];
  for (int64_t c0 = begin; c0 < end; c0 += CHR_SCAN_CHUNK) {
    int len = (int)(end - c0 < CHR_SCAN_CHUNK ? end - c0 : CHR_SCAN_CHUNK);
    for (int r = 0; r < len; ++r) acc[r] = 0.0;
    for (int k = 0; k < q->count; ++k) {
      const float *col = idx->columns + (size_t)q->bin[k] * (size_t)idx->capacity + (size_t)c0;
      accumulate_column(acc, col, sqrt_q[k], len);
    }
    push_scores(top, acc, len, idx->first_row + c0);
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


/* The union of the queries' bins (ascending) and, per query, where each of its bins sits in
 * that union, with its weight sqrt(q_k). */
typedef struct {
  int n_bins;
  int bin[CHR_BINS];
  int (*slot)[CHR_QUERY_MAX_BINS];
  double (*weight)[CHR_QUERY_MAX_BINS];
} bin_union;

static int union_build(const chr_qhist *const *qs, int nq, bin_union *u) {
  int index[CHR_BINS];
  for (int b = 0; b < CHR_BINS; ++b) index[b] = 0;
  for (int i = 0; i < nq; ++i)
    for (int k = 0; k < qs[i]->count; ++k) index[qs[i]->bin[k]] = 1;
  u->n_bins = 0;
  for (int b = 0; b < CHR_BINS; ++b)
    if (index[b]) {
      index[b] = u->n_bins;
      u->bin[u->n_bins++] = b;
    }
  u->slot = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *u->slot);
  u->weight = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *u->weight);
  if (u->slot == NULL || u->weight == NULL) return 0;
  for (int i = 0; i < nq; ++i)
    for (int k = 0; k < qs[i]->count; ++k) {
      u->slot[i][k] = index[qs[i]->bin[k]];
      u->weight[i][k] = sqrt(qs[i]->mass[k]);
    }
  return 1;
}

/* One row block for every query: the block's square roots per union bin and chunk, then each
 * query's sums and top. Returns 0 when its buffers cannot be allocated. */
static int scan_block_many(const chr_index *idx, const chr_qhist *const *qs, int nq,
                           const bin_union *u, int64_t begin, int64_t end, chr_topk *top) {
  double *roots = malloc(((size_t)u->n_bins + 1) * CHR_SCAN_MANY_CHUNK * sizeof *roots);
  double acc[CHR_SCAN_MANY_CHUNK];
  if (roots == NULL) return 0;
  for (int64_t c0 = begin; c0 < end; c0 += CHR_SCAN_MANY_CHUNK) {
    int len = (int)(end - c0 < CHR_SCAN_MANY_CHUNK ? end - c0 : CHR_SCAN_MANY_CHUNK);
    for (int b = 0; b < u->n_bins; ++b)
      column_roots(roots + (size_t)b * CHR_SCAN_MANY_CHUNK,
                   idx->columns + (size_t)u->bin[b] * (size_t)idx->capacity + (size_t)c0, len);
    for (int i = 0; i < nq; ++i) {
      accumulate_query(acc, roots, u->slot[i], u->weight[i], qs[i]->count, len,
                       CHR_SCAN_MANY_CHUNK);
      push_scores(&top[i], acc, len, idx->first_row + c0);
    }
  }
  free(roots);
  return 1;
}

chr_status chr_scan_topk_many(const chr_index *idx, const chr_qhist *const *qs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err) {
  chr_status st = CHR_OK;
  int64_t rows = idx->rows, nblocks = (rows + CHR_SCAN_BLOCK - 1) / CHR_SCAN_BLOCK;
  bin_union u = {0};
  chr_hit *lists = NULL, *tmp = NULL;
  int *per = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *per), *cap = NULL, *got = NULL;
  size_t *base = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *base), slots = 0;
  int longest = 1, failed = 0;
  cap = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *cap);
  if (per == NULL || base == NULL || cap == NULL || !union_build(qs, nq, &u)) goto nomem;
  for (int i = 0; i < nq; ++i) {
    cap[i] = want[i] <= 0 ? 0 : ((int64_t)want[i] < rows ? want[i] : (int)rows);
    per[i] = cap[i] < CHR_SCAN_BLOCK ? cap[i] : CHR_SCAN_BLOCK; /* a block never yields more */
    base[i] = slots;
    slots += (size_t)nblocks * (size_t)per[i];
    longest = cap[i] > longest ? cap[i] : longest;
  }
  lists = malloc((slots > 0 ? slots : 1) * sizeof *lists);
  got = malloc((size_t)(nblocks > 0 ? nblocks : 1) * (size_t)(nq > 0 ? nq : 1) * sizeof *got);
  tmp = malloc((size_t)longest * sizeof *tmp);
  if (lists == NULL || got == NULL || tmp == NULL) goto nomem;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel())
#endif
  for (int64_t blk = 0; blk < nblocks; ++blk) {
    chr_topk *top = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *top);
    int64_t begin = blk * CHR_SCAN_BLOCK;
    int64_t end = begin + CHR_SCAN_BLOCK < rows ? begin + CHR_SCAN_BLOCK : rows;
    for (int i = 0; top != NULL && i < nq; ++i)
      chr_topk_init(&top[i], lists + base[i] + (size_t)blk * (size_t)per[i], per[i]);
    if (top == NULL || !scan_block_many(idx, qs, nq, &u, begin, end, top)) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    } else {
      for (int i = 0; i < nq; ++i) got[blk * nq + i] = chr_topk_finish(&top[i]);
    }
    free(top);
  }
  if (failed) goto nomem;
  /* Block lists merge in block order, as chr_scan_topk does. */
  for (int i = 0; i < nq; ++i) {
    int have = 0;
    for (int64_t blk = 0; blk < nblocks; ++blk) {
      have = chr_hits_merge(out[i], have, lists + base[i] + (size_t)blk * (size_t)per[i],
                            got[blk * nq + i], tmp, cap[i]);
      memcpy(out[i], tmp, (size_t)have * sizeof *tmp);
    }
    counts[i] = have;
  }
  goto cleanup;
nomem:
  st = chr_error_set(err, CHR_ENOMEM, "scan: out of memory for a batch of %d queries", nq);
cleanup:
  free(u.slot);
  free(u.weight);
  free(lists);
  free(got);
  free(tmp);
  free(per);
  free(cap);
  free(base);
  return st;
}
