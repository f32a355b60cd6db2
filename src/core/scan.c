/* The shard index (binary16 square-root columns + CSR rows) and the exact stage-1 scan (spec
 * section 4).
 *
 * Exactness: the score of a row is defined by chr_scan_score, a double sum over the CSR row in
 * the query's ascending bin order. The scan never reports anything else. It first sums the
 * binary16 square roots of the columns in float (scan_kernels.c), which is within a proven
 * bound eps of the exact sum (chr_scan_margin); a row whose approximate sum is more than 2 eps
 * below the approximate sum of `keep` other rows has an exact score strictly worse than theirs
 * and cannot be in the top `keep`. Each thread keeps, per query, the rows it could not rule
 * out; the lists of all threads are then cut once more at the keep-th best approximate sum, the
 * survivors are re-scored exactly and the top is chosen from exact scores with the row
 * tie-break, so the result is the exact top whatever the kernel, the vector width, the thread
 * count or which thread saw which rows. */
#include "chromatica/scan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "scan_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows per unit of work handed to a thread. The result does not depend on it. */
#define CHR_SCAN_BLOCK 16384
/* Floats of widened roots per chunk (all bins the batch needs x the chunk's rows): 512 KiB, so
 * a chunk stays in the L2 cache while every query of the batch sums it (measured best of
 * 128 KiB to 1 MiB on a 2 MiB L2: 256 random palettes, 1M images). */
#define CHR_SCAN_ROOTS_FLOATS 131072
#define CHR_SCAN_CHUNK_MAX 4096
/* Rows per group when chr_index_append fills the root columns. */
#define CHR_APPEND_GROUP 256

struct chr_index {
  int64_t capacity;
  int64_t first_row;
  int64_t rows;
  uint16_t *roots;    /* CHR_BINS x capacity binary16 sqrt(x); column b at roots + b * stride */
  int64_t stride;     /* capacity, or the row count of adopted roots (chr_index_adopt_roots) */
  void *roots_owner;  /* adopted roots: released with release_roots(roots_owner) */
  void (*release_roots)(void *);
  void *sparse_owner; /* adopted sparse rows: released with release_sparse(sparse_owner) */
  void (*release_sparse)(void *);
  double max_row_sum; /* the largest row sum appended (bounds every sum, chr_scan_margin) */
  int64_t *offsets;   /* capacity + 1; row r's support is [offsets[r], offsets[r+1]) */
  uint16_t *bins;     /* CSR bin indices, ascending within a row */
  float *mass;        /* CSR masses, parallel to bins */
  int64_t nnz_cap;    /* allocated length of bins and mass */
  uint8_t *excluded;  /* NULL, or 1 per row the searches that collapse duplicates skip */
  float *centroid;    /* 3 x capacity, column-major (chr_index_centroid_column) */
  uint8_t *cdf;       /* CHR_INDEX_CDF x capacity, column-major (chr_index_cdf_column) */
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
  idx->stride = capacity;
  idx->first_row = first_row;
  /* +1 keeps malloc(0) out of the picture for an empty shard. */
  idx->roots = malloc(((size_t)capacity * CHR_BINS + 1) * sizeof *idx->roots);
  idx->offsets = malloc(((size_t)capacity + 1) * sizeof(int64_t));
  idx->centroid = malloc(((size_t)capacity * 3 + 1) * sizeof *idx->centroid);
  idx->cdf = malloc((size_t)capacity * CHR_INDEX_CDF + 1);
  if (idx->roots == NULL || idx->offsets == NULL || idx->centroid == NULL || idx->cdf == NULL) {
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
  if (idx->release_roots != NULL)
    idx->release_roots(idx->roots_owner);
  else
    free(idx->roots);
  free(idx->offsets);
  if (idx->release_sparse != NULL) {
    idx->release_sparse(idx->sparse_owner);
  } else {
    free(idx->bins);
    free(idx->mass);
  }
  free(idx->excluded);
  free(idx->centroid);
  free(idx->cdf);
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

chr_status chr_index_reserve_entries(chr_index *idx, int64_t nnz, chr_error *err) {
  if (idx->nnz_cap > 0 || nnz < 0) return CHR_OK;
  idx->bins = malloc((size_t)(nnz + 1) * sizeof *idx->bins);
  idx->mass = malloc((size_t)(nnz + 1) * sizeof *idx->mass);
  if (idx->bins == NULL || idx->mass == NULL)
    return chr_error_set(err, CHR_ENOMEM, "index: out of memory for %lld sparse entries",
                         (long long)nnz);
  idx->nnz_cap = nnz + 1;
  return CHR_OK;
}

/* Row r's centroid and marginal distributions (chr_index_centroid_column, chr_index_cdf_column),
 * masses renormalised by their sum as the EMD does: kept once per image so the cascade's
 * centroid and marginal bounds cost 3 floats and 29 bytes per row. */
static void set_summary(chr_index *idx, int64_t r, double total) {
  double v[3 + CHR_INDEX_CDF] = {0.0}, marginal[CHR_GRID_NL + CHR_GRID_NA + CHR_GRID_NB] = {0.0};
  for (int64_t j = idx->offsets[r]; j < idx->offsets[r + 1] && total > 0.0; ++j) {
    chr_lab c = chr_grid_bin_centre(idx->bins[j]);
    int l, a, b;
    chr_grid_coords(idx->bins[j], &l, &a, &b);
    double w = (double)idx->mass[j] / total;
    v[0] += w * c.l, v[1] += w * c.a, v[2] += w * c.b;
    marginal[l] += w, marginal[CHR_GRID_NL + a] += w, marginal[CHR_GRID_NL + CHR_GRID_NA + b] += w;
  }
  const int n[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
  for (int axis = 0, in = 0, out = 3; axis < 3; in += n[axis++]) {
    double cdf = 0.0;
    for (int level = 0; level < n[axis] - 1; ++level) v[out++] = cdf += marginal[in + level];
  }
  size_t cap = (size_t)idx->capacity;
  for (int k = 0; k < 3; ++k) idx->centroid[(size_t)k * cap + (size_t)r] = (float)v[k];
  for (int k = 0; k < CHR_INDEX_CDF; ++k)
    idx->cdf[(size_t)k * cap + (size_t)r] = chr_index_cdf_quantize(v[3 + k]);
}

/* The sparse rows (CSR) of rows[0..n) as index rows first.. (offsets[first] already set). */
static chr_status append_sparse(chr_index *idx, const float *rows, int64_t first, int64_t n,
                                chr_error *err) {
  int64_t nnz = 0;
  for (int64_t i = 0; i < n * CHR_BINS; ++i) nnz += rows[i] != 0.0f;
  int64_t at = idx->offsets[first];
  /* One slot more than the entries: the branch-free copy below writes every bin at the next
   * free slot and only advances past the non-zero ones. */
  chr_status st = reserve_nnz(idx, at + nnz + 1, err);
  if (st != CHR_OK) return st;
  for (int64_t r = 0; r < n; ++r) {
    const float *x = rows + r * CHR_BINS;
    int64_t row_start = at;
    for (int b = 0; b < CHR_BINS; ++b) {
      idx->bins[at] = (uint16_t)b;
      idx->mass[at] = x[b];
      at += x[b] != 0.0f;
    }
    double sum = 0.0;
    for (int64_t j = row_start; j < at; ++j) sum += idx->mass[j];
    idx->offsets[first + r + 1] = at;
    set_summary(idx, first + r, sum);
    if (sum > idx->max_row_sum) idx->max_row_sum = sum;
  }
  return CHR_OK;
}

/* The root columns of index rows [first, last) from their sparse rows: zero each column's
 * segment (in cache for the group), then write the non-zero entries' binary16 roots. */
static void fill_roots(chr_index *idx, int64_t first, int64_t last) {
  for (int b = 0; b < CHR_BINS; ++b)
    memset(idx->roots + (size_t)b * (size_t)idx->capacity + (size_t)first, 0,
           (size_t)(last - first) * sizeof *idx->roots);
  for (int64_t r = first; r < last; ++r)
    for (int64_t j = idx->offsets[r]; j < idx->offsets[r + 1]; ++j)
      idx->roots[(size_t)idx->bins[j] * (size_t)idx->capacity + (size_t)r] =
          chr_half_from_float((float)sqrt((double)idx->mass[j]));
}

chr_status chr_index_append(chr_index *idx, const float *rows, int64_t count, chr_error *err) {
  if (count < 0 || count > idx->capacity - idx->rows)
    return chr_error_set(err, CHR_EINVAL,
                         "index: appending %lld rows to %lld of capacity %lld; expected at most "
                         "%lld",
                         (long long)count, (long long)idx->rows, (long long)idx->capacity,
                         (long long)(idx->capacity - idx->rows));
  /* Group by group, so a group's rows stay in cache from counting to copying; idx->rows moves
   * only at the end, so a failure leaves the index as it was. */
  for (int64_t r0 = 0; r0 < count; r0 += CHR_APPEND_GROUP) {
    int64_t r1 = r0 + CHR_APPEND_GROUP < count ? r0 + CHR_APPEND_GROUP : count;
    chr_status st = append_sparse(idx, rows + r0 * CHR_BINS, idx->rows + r0, r1 - r0, err);
    if (st != CHR_OK) return st;
    fill_roots(idx, idx->rows + r0, idx->rows + r1);
  }
  idx->rows += count;
  return CHR_OK;
}

chr_status chr_index_append_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                                   const float *mass, int64_t count, chr_error *err) {
  if (count < 0 || count > idx->capacity - idx->rows)
    return chr_error_set(err, CHR_EINVAL,
                         "index: appending %lld sparse rows to %lld of capacity %lld",
                         (long long)count, (long long)idx->rows, (long long)idx->capacity);
  int64_t at = idx->offsets[idx->rows], n = offsets[count] - offsets[0];
  chr_status st = reserve_nnz(idx, at + n + 1, err);
  if (st != CHR_OK) return st;
  memcpy(idx->bins + at, bins, (size_t)n * sizeof *bins);
  memcpy(idx->mass + at, mass, (size_t)n * sizeof *mass);
  for (int64_t r = 0; r < count; ++r) {
    int64_t lo = at + offsets[r] - offsets[0], hi = at + offsets[r + 1] - offsets[0];
    /* The same double sum in the same order as append_sparse, so max_row_sum is identical. */
    double sum = 0.0;
    for (int64_t j = lo; j < hi; ++j) sum += idx->mass[j];
    idx->offsets[idx->rows + r + 1] = hi;
    set_summary(idx, idx->rows + r, sum);
    if (sum > idx->max_row_sum) idx->max_row_sum = sum;
  }
  for (int64_t r0 = 0; r0 < count && idx->release_roots == NULL; r0 += CHR_APPEND_GROUP) {
    int64_t r1 = r0 + CHR_APPEND_GROUP < count ? r0 + CHR_APPEND_GROUP : count;
    fill_roots(idx, idx->rows + r0, idx->rows + r1);
  }
  idx->rows += count;
  return CHR_OK;
}

chr_status chr_index_adopt_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                                  const float *mass, int64_t count, void *owner,
                                  void (*release)(void *), chr_error *err) {
  if (idx->rows != 0 || idx->release_roots == NULL || idx->release_sparse != NULL ||
      count < 0 || count > idx->capacity || release == NULL)
    return chr_error_set(err, CHR_EINVAL,
                         "index: sparse rows can only be adopted once, after the roots and "
                         "before any row (%lld rows, capacity %lld)",
                         (long long)count, (long long)idx->capacity);
  free(idx->bins);
  free(idx->mass);
  idx->bins = (uint16_t *)bins; /* read only, like the adopted roots */
  idx->mass = (float *)mass;
  idx->nnz_cap = 0;
  idx->sparse_owner = owner;
  idx->release_sparse = release;
  memcpy(idx->offsets, offsets, ((size_t)count + 1) * sizeof *offsets);
  /* The same double sum per row as append_sparse, so max_row_sum is identical. */
  double max_sum = 0.0;
  /* The cascade's per-image summaries are not stored in the file: made here, as append does. */
#pragma omp parallel for schedule(static) reduction(max : max_sum)
  for (int64_t r = 0; r < count; ++r) {
    double sum = 0.0;
    for (int64_t j = offsets[r]; j < offsets[r + 1]; ++j) sum += mass[j];
    set_summary(idx, r, sum);
    if (sum > max_sum) max_sum = sum;
  }
  idx->max_row_sum = max_sum;
  idx->rows = count;
  return CHR_OK;
}

chr_status chr_index_adopt_roots(chr_index *idx, const uint16_t *roots, int64_t stride,
                                 void *owner, void (*release)(void *), chr_error *err) {
  if (idx->rows != 0 || idx->release_roots != NULL || stride < idx->capacity || release == NULL)
    return chr_error_set(err, CHR_EINVAL,
                         "index: roots can only be adopted once, before any row (stride %lld, "
                         "expected >= %lld)", (long long)stride, (long long)idx->capacity);
  free(idx->roots);
  idx->roots = (uint16_t *)roots; /* never written through: the scan only reads roots */
  idx->stride = stride;
  idx->roots_owner = owner;
  idx->release_roots = release;
  return CHR_OK;
}

void chr_index_roots_block(const int64_t *offsets, const uint16_t *bins, const float *mass,
                           int64_t count, uint16_t *out) {
  memset(out, 0, (size_t)count * CHR_BINS * sizeof *out);
  for (int64_t r = 0; r < count; ++r)
    for (int64_t j = offsets[r] - offsets[0]; j < offsets[r + 1] - offsets[0]; ++j)
      out[(size_t)bins[j] * (size_t)count + (size_t)r] =
          chr_half_from_float((float)sqrt((double)mass[j]));
}

int chr_index_check_roots(const chr_index *idx, int64_t r) {
  const uint16_t *bins;
  const float *mass;
  int n = chr_index_support(idx, r, &bins, &mass), j = 0;
  for (int b = 0; b < CHR_BINS; ++b) {
    uint16_t want = 0;
    if (j < n && bins[j] == b) want = chr_half_from_float((float)sqrt((double)mass[j++]));
    if (idx->roots[(size_t)b * (size_t)idx->stride + (size_t)r] != want) return b;
  }
  return -1;
}

int64_t chr_index_rows(const chr_index *idx) { return idx->rows; }

chr_status chr_index_set_excluded(chr_index *idx, const uint8_t *mask, chr_error *err) {
  free(idx->excluded);
  idx->excluded = NULL;
  if (mask == NULL) return CHR_OK;
  idx->excluded = malloc((size_t)(idx->capacity > 0 ? idx->capacity : 1));
  if (idx->excluded == NULL)
    return chr_error_set(err, CHR_ENOMEM, "index: out of memory for the mask of %lld rows",
                         (long long)idx->capacity);
  memset(idx->excluded, 0, (size_t)(idx->capacity > 0 ? idx->capacity : 1));
  memcpy(idx->excluded, mask, (size_t)idx->rows);
  return CHR_OK;
}

int chr_index_excluded(const chr_index *idx, int64_t r) {
  return idx->excluded != NULL && idx->excluded[r] != 0;
}
int64_t chr_index_first_row(const chr_index *idx) { return idx->first_row; }

int chr_index_support(const chr_index *idx, int64_t r, const uint16_t **bins, const float **mass) {
  int64_t lo = idx->offsets[r];
  *bins = idx->bins + lo;
  *mass = idx->mass + lo;
  return (int)(idx->offsets[r + 1] - lo);
}

const uint16_t *chr_index_root_column(const chr_index *idx, int bin) {
  return idx->roots + (size_t)bin * (size_t)idx->capacity;
}

const float *chr_index_centroid_column(const chr_index *idx, int axis) {
  return idx->centroid + (size_t)axis * (size_t)idx->capacity;
}

const uint8_t *chr_index_cdf_column(const chr_index *idx, int k) {
  return idx->cdf + (size_t)k * (size_t)idx->capacity;
}

uint8_t chr_index_cdf_quantize(double f) {
  double u = floor(f * 255.0 + 0.5);
  return (uint8_t)(u < 0.0 ? 0.0 : u > 255.0 ? 255.0 : u);
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

/* The largest float <= d. */
static float float_at_most(double d) {
  float f = (float)d;
  return (double)f > d ? nextafterf(f, -INFINITY) : f;
}

/* ---------------------------------------------------------------- candidate rows */

typedef struct {
  float sum;   /* approximate sum */
  int64_t row; /* local row */
} candidate;

/* The rows seen so far that may still be in one query's top `keep`. */
typedef struct {
  candidate *items;
  int count, cap;
  int keep;
  float admit;   /* rows whose approximate sum is below this cannot reach the top */
  double margin; /* chr_scan_margin */
} candidate_list;

static void swap_candidates(candidate *a, candidate *b) {
  candidate t = *a;
  *a = *b;
  *b = t;
}

static float median_of_three(float a, float b, float c) {
  if (a > b) {
    float t = a;
    a = b;
    b = t;
  }
  return c < a ? a : (c > b ? b : c);
}

/* Reorders a[0..count) so that a[n] holds the n-th largest sum, with larger-or-equal sums
 * before it and smaller-or-equal after (quickselect, three-way partitions so ties are fast). */
static void select_rank(candidate *a, int count, int n) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    float pivot = median_of_three(a[lo].sum, a[lo + (hi - lo) / 2].sum, a[hi].sum);
    int lt = lo, i = lo, gt = hi; /* [lo,lt) > pivot, [lt,i) == pivot, (gt,hi] < pivot */
    while (i <= gt) {
      if (a[i].sum > pivot)
        swap_candidates(&a[lt++], &a[i++]);
      else if (a[i].sum < pivot)
        swap_candidates(&a[i], &a[gt--]);
      else
        ++i;
    }
    if (n < lt)
      hi = lt - 1;
    else if (n > gt)
      lo = gt + 1;
    else
      return;
  }
}

/* Raises the admission threshold to the keep-th best sum minus the margin and drops the rows
 * below it; grows the list when near-ties keep it more than half full. 0 on ENOMEM. */
static int candidates_compact(candidate_list *c) {
  if (c->count > c->keep) {
    select_rank(c->items, c->count, c->keep - 1);
    float admit = float_at_most((double)c->items[c->keep - 1].sum - c->margin);
    if (admit > c->admit) c->admit = admit;
    int n = c->keep;
    for (int i = c->keep; i < c->count; ++i)
      if (c->items[i].sum >= c->admit) c->items[n++] = c->items[i];
    c->count = n;
  }
  if (c->count > c->cap / 2) {
    candidate *grown = realloc(c->items, (size_t)c->cap * 2 * sizeof *grown);
    if (grown == NULL) return 0;
    c->items = grown;
    c->cap *= 2;
  }
  return 1;
}

/* Appends the rows of `mask` (bit r: row row0 + r, approximate sum acc[r]) that are still
 * admissible. 0 on ENOMEM. */
static int candidates_admit(candidate_list *c, uint64_t mask, const float *acc, int64_t row0,
                            const uint8_t *skip) {
  while (mask != 0) {
    int r = __builtin_ctzll(mask);
    mask &= mask - 1;
    if (acc[r] < c->admit) continue;
    /* Before admission, so a skipped row never raises the bar for the rows that count. */
    if (skip != NULL && skip[row0 + r]) continue;
    if (c->count == c->cap && !candidates_compact(c)) return 0;
    if (acc[r] < c->admit) continue; /* the compaction may have raised the bar */
    c->items[c->count++] = (candidate){acc[r], row0 + r};
  }
  return 1;
}

/* ---------------------------------------------------------------- the scan */

/* What every thread of one scan shares: the union of the queries' bins (ascending) and, per
 * query, where each of its bins sits in that union, its float weights, margin and list length. */
typedef struct {
  int nq;
  const chr_qhist *const *qs;
  int n_bins;
  int bin[CHR_BINS];
  int (*slot)[CHR_QUERY_MAX_BINS];
  float (*weight)[CHR_QUERY_MAX_BINS];
  double *margin;
  int *keep;  /* how many rows each query wants: min(want, rows) */
  const uint8_t **skip; /* per query: the index's exclusion mask, or NULL to see every row */
  int chunk;  /* rows per chunk of widened roots, a multiple of CHR_SCAN_GROUP */
  chr_scan_kernels kernels;
} scan_plan;

static void plan_free(scan_plan *p) {
  free(p->slot);
  free(p->weight);
  free(p->margin);
  free(p->keep);
  free(p->skip);
}

static chr_status plan_build(const chr_index *idx, const chr_qhist *const *qs, int nq,
                             const int *cap, const int *exclude, scan_plan *p, chr_error *err) {
  size_t n = (size_t)(nq > 0 ? nq : 1);
  int index[CHR_BINS] = {0};
  p->nq = nq;
  p->qs = qs;
  p->slot = malloc(n * sizeof *p->slot);
  p->weight = malloc(n * sizeof *p->weight);
  p->margin = malloc(n * sizeof *p->margin);
  p->keep = malloc(n * sizeof *p->keep);
  p->skip = malloc(n * sizeof *p->skip);
  if (p->slot == NULL || p->weight == NULL || p->margin == NULL || p->keep == NULL ||
      p->skip == NULL)
    return chr_error_set(err, CHR_ENOMEM, "scan: out of memory for a batch of %d queries", nq);
  for (int i = 0; i < nq; ++i)
    for (int k = 0; cap[i] > 0 && k < qs[i]->count; ++k) index[qs[i]->bin[k]] = 1;
  p->n_bins = 0;
  for (int b = 0; b < CHR_BINS; ++b)
    if (index[b]) {
      index[b] = p->n_bins;
      p->bin[p->n_bins++] = b;
    }
  for (int i = 0; i < nq; ++i) {
    p->keep[i] = cap[i];
    p->skip[i] = exclude != NULL && exclude[i] ? idx->excluded : NULL;
    p->margin[i] = chr_scan_margin(qs[i], idx->max_row_sum);
    for (int k = 0; k < qs[i]->count; ++k) {
      p->slot[i][k] = index[qs[i]->bin[k]];
      p->weight[i][k] = (float)sqrt(qs[i]->mass[k]);
    }
  }
  int fit = CHR_SCAN_ROOTS_FLOATS / (p->n_bins > 0 ? p->n_bins : 1) / CHR_SCAN_GROUP * CHR_SCAN_GROUP;
  p->chunk = fit < CHR_SCAN_GROUP ? CHR_SCAN_GROUP : (fit > CHR_SCAN_CHUNK_MAX ? CHR_SCAN_CHUNK_MAX : fit);
  return chr_scan_kernels_choose(&p->kernels, err);
}

/* Widens the chunk [c0, c0 + len) of every union column into roots (stride p->chunk), with
 * zeros after len up to the next whole group. */
static void widen_chunk(const chr_index *idx, const scan_plan *p, int64_t c0, int len,
                        float *roots) {
  int padded = (len + CHR_SCAN_GROUP - 1) / CHR_SCAN_GROUP * CHR_SCAN_GROUP;
  for (int b = 0; b < p->n_bins; ++b) {
    float *dst = roots + (size_t)b * (size_t)p->chunk;
    p->kernels.widen(dst, idx->roots + (size_t)p->bin[b] * (size_t)idx->stride + (size_t)c0,
                     len);
    for (int r = len; r < padded; ++r) dst[r] = 0.0f;
  }
}

/* One query's approximate sums over a widened chunk, admitted into its candidate list. */
static int admit_chunk(const scan_plan *p, int i, const float *roots, int len, int64_t row0,
                       candidate_list *c) {
  float acc[CHR_SCAN_GROUP];
  for (int g = 0; g < len; g += CHR_SCAN_GROUP) {
    uint64_t mask = p->kernels.group(roots + g, p->chunk, p->slot[i], p->weight[i],
                                     p->qs[i]->count, c->admit, acc);
    if (len - g < CHR_SCAN_GROUP) mask &= (UINT64_C(1) << (len - g)) - 1;
    if (!candidates_admit(c, mask, acc, row0 + g, p->skip[i])) return 0;
  }
  return 1;
}

/* Admits the rows [begin, end) into every query's candidate list, chunk by chunk. roots holds
 * p->n_bins x p->chunk floats. */
static int scan_rows(const chr_index *idx, const scan_plan *p, int64_t begin, int64_t end,
                     float *roots, candidate_list *lists) {
  for (int64_t c0 = begin; c0 < end; c0 += p->chunk) {
    int len = (int)(end - c0 < p->chunk ? end - c0 : p->chunk);
    widen_chunk(idx, p, c0, len, roots);
    for (int i = 0; i < p->nq; ++i)
      if (lists[i].keep > 0 && !admit_chunk(p, i, roots, len, c0, &lists[i])) return 0;
  }
  return 1;
}

static void lists_free(candidate_list *lists, int n) {
  for (int i = 0; lists != NULL && i < n; ++i) free(lists[i].items);
  free(lists);
}

/* One empty candidate list per query. NULL on ENOMEM. */
static candidate_list *lists_create(const scan_plan *p) {
  candidate_list *lists = calloc((size_t)(p->nq > 0 ? p->nq : 1), sizeof *lists);
  for (int i = 0; lists != NULL && i < p->nq; ++i) {
    candidate_list *c = &lists[i];
    c->keep = p->keep[i];
    c->cap = (c->keep < 65536 ? 2 * c->keep : c->keep + 65536) + CHR_SCAN_GROUP;
    c->admit = -INFINITY;
    c->margin = p->margin[i];
    c->items = c->keep > 0 ? malloc((size_t)c->cap * sizeof *c->items) : NULL;
    if (c->keep > 0 && c->items == NULL) {
      lists_free(lists, p->nq);
      return NULL;
    }
  }
  return lists;
}

/* Query i's exact top from the candidate lists of every thread: one list of them all, the
 * keep-th best approximate sum sets the final bar, and the rows above it are scored exactly.
 * Returns the count, or -1 on ENOMEM. */
static int finish_query(const chr_index *idx, const scan_plan *p, int i,
                        candidate_list *const *per_thread, int threads, chr_hit *out) {
  candidate_list all = {.keep = p->keep[i], .admit = -INFINITY, .margin = p->margin[i]};
  if (all.keep == 0) return 0;
  for (int t = 0; t < threads; ++t) all.cap += per_thread[t][i].count;
  all.cap += 1;
  all.items = malloc((size_t)all.cap * sizeof *all.items);
  if (all.items == NULL) return -1;
  for (int t = 0; t < threads; ++t) {
    memcpy(all.items + all.count, per_thread[t][i].items,
           (size_t)per_thread[t][i].count * sizeof *all.items);
    all.count += per_thread[t][i].count;
  }
  int ok = candidates_compact(&all);
  chr_topk top;
  chr_topk_init(&top, out, all.keep);
  for (int j = 0; ok && j < all.count; ++j)
    chr_topk_push(&top, chr_scan_score(idx, p->qs[i], all.items[j].row),
                  idx->first_row + all.items[j].row);
  free(all.items);
  return ok ? chr_topk_finish(&top) : -1;
}

chr_status chr_scan_topk_many(const chr_index *idx, const chr_qhist *const *qs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err) {
  return chr_scan_topk_many_excluding(idx, qs, nq, want, NULL, out, counts, err);
}

chr_status chr_scan_topk_many_excluding(const chr_index *idx, const chr_qhist *const *qs, int nq,
                                        const int *want, const int *exclude, chr_hit *const *out,
                                        int *counts, chr_error *err) {
  chr_status st = CHR_OK;
  int64_t rows = idx->rows, nblocks = (rows + CHR_SCAN_BLOCK - 1) / CHR_SCAN_BLOCK;
  size_t n = (size_t)(nq > 0 ? nq : 1);
  scan_plan plan = {0};
  int *cap = malloc(n * sizeof *cap), failed = 0, threads = 1;
#ifdef _OPENMP
  threads = omp_in_parallel() ? 1 : omp_get_max_threads();
#endif
  candidate_list **per_thread = calloc((size_t)threads, sizeof *per_thread);
  if (cap == NULL || per_thread == NULL) goto nomem;
  for (int i = 0; i < nq; ++i)
    cap[i] = want[i] <= 0 ? 0 : ((int64_t)want[i] < rows ? want[i] : (int)rows);
  st = plan_build(idx, qs, nq, cap, exclude, &plan, err);
  if (st != CHR_OK) goto cleanup;
  /* Every thread admits its share of the row blocks into its own lists, whose bars rise as
   * they fill; which thread saw which rows cannot change the exact top chosen afterwards. */
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    float *roots = malloc(((size_t)plan.n_bins * (size_t)plan.chunk + 1) * sizeof *roots);
    candidate_list *mine = per_thread[t] = lists_create(&plan);
    int ok = roots != NULL && mine != NULL;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
    for (int64_t blk = 0; blk < nblocks; ++blk) {
      int64_t begin = blk * CHR_SCAN_BLOCK;
      int64_t end = begin + CHR_SCAN_BLOCK < rows ? begin + CHR_SCAN_BLOCK : rows;
      if (ok) ok = scan_rows(idx, &plan, begin, end, roots, mine);
    }
    if (!ok) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    }
    free(roots);
  }
  if (failed) goto nomem;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
#endif
  for (int i = 0; i < nq; ++i) {
    counts[i] = finish_query(idx, &plan, i, per_thread, threads, out[i]);
    if (counts[i] < 0) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    }
  }
  if (failed) goto nomem;
  goto cleanup;
nomem:
  st = chr_error_set(err, CHR_ENOMEM, "scan: out of memory for a batch of %d queries", nq);
cleanup:
  for (int t = 0; per_thread != NULL && t < threads; ++t) lists_free(per_thread[t], nq);
  free(per_thread);
  plan_free(&plan);
  free(cap);
  return st;
}

chr_status chr_scan_check_environment(chr_error *err) {
  chr_scan_kernels unused;
  return chr_scan_kernels_choose(&unused, err);
}

int chr_scan_topk(const chr_index *idx, const chr_qhist *q, int want, chr_hit *out, chr_error *err) {
  const chr_qhist *qs[1] = {q};
  chr_hit *outs[1] = {out};
  int count = 0;
  return chr_scan_topk_many(idx, qs, 1, &want, outs, &count, err) == CHR_OK ? count : -1;
}
