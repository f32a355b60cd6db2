/* The shard index (spec section 4): binary16 square-root columns, CSR rows and the cascade's
 * per-image summaries; built by appending rows or adopted from a stored index (see
 * include/chromatica/scan.h). The scan that reads it is scan.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "index_private.h"
#include "scan_kernels.h"

/* Rows per group when chr_index_append fills the root columns. */
#define CHR_APPEND_GROUP 256

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
  idx->summary_stride = capacity;
  idx->first_row = first_row;
  /* +1 keeps malloc(0) out of the picture for an empty shard. */
  idx->roots = malloc(((size_t)capacity * CHR_BINS + 1) * sizeof *idx->roots);
  idx->offsets = malloc(((size_t)capacity + 1) * sizeof(int64_t));
  idx->centroid = malloc(((size_t)capacity * 3 + 1) * sizeof *idx->centroid);
  idx->cdf = malloc((size_t)capacity * CHR_INDEX_CDF + 1);
  if (idx->roots == NULL || idx->offsets == NULL || idx->centroid == NULL || idx->cdf == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "index: out of memory for %lld rows", (long long)capacity);
    goto cleanup;
  }
  idx->offsets[0] = 0;
  *out = idx;
  idx = NULL;
cleanup:
  chr_index_destroy(&idx);
  return st;
}

/* Arrays the index adopted go back to their owner; arrays it allocated are freed. */
static void release_or_free(void (*release)(void *), void *owner, void *a, void *b) {
  if (release != NULL) {
    release(owner);
  } else {
    free(a);
    free(b);
  }
}

void chr_index_destroy(chr_index **p) {
  if (p == NULL || *p == NULL) return;
  chr_index *idx = *p;
  release_or_free(idx->release_roots, idx->roots_owner, idx->roots, NULL);
  free(idx->offsets);
  release_or_free(idx->release_sparse, idx->sparse_owner, idx->bins, idx->mass);
  free(idx->excluded);
  release_or_free(idx->release_summary, idx->summary_owner, idx->centroid, idx->cdf);
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

/* The centroid and marginal distributions of one sparse row (chr_index_centroid_column,
 * chr_index_cdf_column), masses renormalised by their sum `total` as the EMD does: kept once per
 * image so the cascade's centroid and marginal bounds cost 3 floats and 29 bytes per row.
 * centroid[k * stride] and cdf[k * stride] receive column k. */
static void row_summary(const uint16_t *bins, const float *mass, int64_t n, double total,
                        float *centroid, uint8_t *cdf, size_t stride) {
  double v[3 + CHR_INDEX_CDF] = {0.0}, marginal[CHR_GRID_NL + CHR_GRID_NA + CHR_GRID_NB] = {0.0};
  for (int64_t j = 0; j < n && total > 0.0; ++j) {
    chr_lab c = chr_grid_bin_centre(bins[j]);
    int l, a, b;
    chr_grid_coords(bins[j], &l, &a, &b);
    double w = (double)mass[j] / total;
    v[0] += w * c.l, v[1] += w * c.a, v[2] += w * c.b;
    marginal[l] += w, marginal[CHR_GRID_NL + a] += w, marginal[CHR_GRID_NL + CHR_GRID_NA + b] += w;
  }
  const int levels[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
  for (int axis = 0, in = 0, out = 3; axis < 3; in += levels[axis++]) {
    double sum = 0.0;
    for (int level = 0; level < levels[axis] - 1; ++level) v[out++] = sum += marginal[in + level];
  }
  for (int k = 0; k < 3; ++k) centroid[(size_t)k * stride] = (float)v[k];
  for (int k = 0; k < CHR_INDEX_CDF; ++k)
    cdf[(size_t)k * stride] = chr_index_cdf_quantize(v[3 + k]);
}

/* The double sum of a row's masses in entry order: the `total` of every summary and the
 * max_row_sum of every path, so they agree bit for bit. */
static double row_sum(const float *mass, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += mass[j];
  return sum;
}

/* Row r's summary into the index's own columns. */
static void set_summary(chr_index *idx, int64_t r, double total) {
  int64_t lo = idx->offsets[r];
  row_summary(idx->bins + lo, idx->mass + lo, idx->offsets[r + 1] - lo, total, idx->centroid + r,
              idx->cdf + r, (size_t)idx->summary_stride);
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
    double sum = row_sum(idx->mass + row_start, at - row_start);
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
  /* Adopted arrays are read-only mappings: nothing may be written into or reallocated. */
  if (idx->release_summary != NULL || idx->release_sparse != NULL || idx->release_roots != NULL)
    return chr_error_set(err, CHR_EINVAL, "index: rows cannot be appended after adopting arrays");
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
  /* Adopted roots are fine here (the roots are then not written); adopted rows are not. */
  if (idx->release_summary != NULL || idx->release_sparse != NULL)
    return chr_error_set(err, CHR_EINVAL,
                         "index: rows cannot be appended after adopting summaries or rows");
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
    double sum = row_sum(idx->mass + lo, hi - lo);
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

/* chr_index_adopt_sparse; known: the rows' largest double sum when the caller has it. */
static chr_status adopt_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                               const float *mass, int64_t count, const double *known, void *owner,
                               void (*release)(void *), chr_error *err) {
  if (idx->rows != 0 || idx->release_roots == NULL || idx->release_sparse != NULL || count < 0 ||
      count > idx->capacity || release == NULL)
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
  /* Summaries not adopted from the file (an index_version 1 index) are made here, as append
   * makes them. */
  int summarise = idx->release_summary == NULL;
  /* With the summaries adopted and the sums known, the rows need not be read again. */
  int64_t sums = known != NULL && !summarise ? 0 : count;
#pragma omp parallel for schedule(static) reduction(max : max_sum)
  for (int64_t r = 0; r < sums; ++r) {
    double sum = row_sum(mass + offsets[r], offsets[r + 1] - offsets[r]);
    if (summarise) set_summary(idx, r, sum);
    if (sum > max_sum) max_sum = sum;
  }
  idx->max_row_sum = sums == count ? max_sum : *known;
  idx->rows = count;
  return CHR_OK;
}

chr_status chr_index_adopt_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                                  const float *mass, int64_t count, void *owner,
                                  void (*release)(void *), chr_error *err) {
  return adopt_sparse(idx, offsets, bins, mass, count, NULL, owner, release, err);
}

chr_status chr_index_adopt_sparse_summed(chr_index *idx, const int64_t *offsets,
                                         const uint16_t *bins, const float *mass, int64_t count,
                                         double max_row_sum, void *owner, void (*release)(void *),
                                         chr_error *err) {
  return adopt_sparse(idx, offsets, bins, mass, count, &max_row_sum, owner, release, err);
}

chr_status chr_index_adopt_roots(chr_index *idx, const uint16_t *roots, int64_t stride, void *owner,
                                 void (*release)(void *), chr_error *err) {
  if (idx->rows != 0 || idx->release_roots != NULL || stride < idx->capacity || release == NULL)
    return chr_error_set(err, CHR_EINVAL,
                         "index: roots can only be adopted once, before any row (stride %lld, "
                         "expected >= %lld)",
                         (long long)stride, (long long)idx->capacity);
  free(idx->roots);
  idx->roots = (uint16_t *)roots; /* never written through: the scan only reads roots */
  idx->stride = stride;
  idx->roots_owner = owner;
  idx->release_roots = release;
  return CHR_OK;
}

chr_status chr_index_adopt_summaries(chr_index *idx, const float *centroid, const uint8_t *cdf,
                                     int64_t stride, void *owner, void (*release)(void *),
                                     chr_error *err) {
  if (idx->rows != 0 || idx->release_summary != NULL || stride < idx->capacity || release == NULL)
    return chr_error_set(err, CHR_EINVAL,
                         "index: summaries can only be adopted once, before any row (stride "
                         "%lld, expected >= %lld)",
                         (long long)stride, (long long)idx->capacity);
  free(idx->centroid);
  free(idx->cdf);
  idx->centroid = (float *)centroid; /* never written through once adopted: appends refuse */
  idx->cdf = (uint8_t *)cdf;
  idx->summary_stride = stride;
  idx->summary_owner = owner;
  idx->release_summary = release;
  return CHR_OK;
}

void chr_index_summary_block(const int64_t *offsets, const uint16_t *bins, const float *mass,
                             int64_t count, float *centroid, uint8_t *cdf) {
  for (int64_t r = 0; r < count; ++r) {
    int64_t lo = offsets[r] - offsets[0], n = offsets[r + 1] - offsets[r];
    row_summary(bins + lo, mass + lo, n, row_sum(mass + lo, n), centroid + r, cdf + r,
                (size_t)count);
  }
}

int chr_index_check_summary(const chr_index *idx, int64_t r) {
  float centroid[3];
  uint8_t cdf[CHR_INDEX_CDF];
  int64_t lo = idx->offsets[r], n = idx->offsets[r + 1] - lo;
  row_summary(idx->bins + lo, idx->mass + lo, n, row_sum(idx->mass + lo, n), centroid, cdf, 1);
  size_t stride = (size_t)idx->summary_stride;
  for (int k = 0; k < 3; ++k) /* bit for bit: a stored NaN must not compare as a match */
    if (memcmp(&centroid[k], idx->centroid + (size_t)k * stride + (size_t)r, sizeof(float)) != 0)
      return k;
  for (int k = 0; k < CHR_INDEX_CDF; ++k)
    if (cdf[k] != idx->cdf[(size_t)k * stride + (size_t)r]) return 3 + k;
  return -1;
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

int64_t chr_index_rows(const chr_index *idx) {
  return idx->rows;
}

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
int64_t chr_index_first_row(const chr_index *idx) {
  return idx->first_row;
}

int chr_index_support(const chr_index *idx, int64_t r, const uint16_t **bins, const float **mass) {
  int64_t lo = idx->offsets[r];
  *bins = idx->bins + lo;
  *mass = idx->mass + lo;
  return (int)(idx->offsets[r + 1] - lo);
}

const uint16_t *chr_index_root_column(const chr_index *idx, int bin) {
  return idx->roots + (size_t)bin * (size_t)idx->stride;
}

const float *chr_index_centroid_column(const chr_index *idx, int axis) {
  return idx->centroid + (size_t)axis * (size_t)idx->summary_stride;
}

const uint8_t *chr_index_cdf_column(const chr_index *idx, int k) {
  return idx->cdf + (size_t)k * (size_t)idx->summary_stride;
}

uint8_t chr_index_cdf_quantize(double f) {
  double u = floor(f * 255.0 + 0.5);
  return (uint8_t)(u < 0.0 ? 0.0 : u > 255.0 ? 255.0 : u);
}
