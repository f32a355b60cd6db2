/* The full check of a stored index by `chromatica info` (see info_index.h). */
#include "info_index.h"

#include <stdlib.h>
#include <string.h>

#include "chromatica/csr.h"
#include "chromatica/grid.h"
#include "chromatica/scan.h"

#define REBUILD "rebuild it with `chromatica index FILE`"

struct info_index {
  chr_dataset *ds;
  chr_index_meta meta;
  int64_t *ends, *stored;      /* block_rows + 1 each */
  uint16_t *bins, *stored_bins; /* block_rows x CHR_BINS each */
  float *mass, *stored_mass;
  uint16_t *roots, *stored_roots;
  float *centroid, *stored_centroid; /* 3 x block_rows each */
  uint8_t *cdf, *stored_cdf;         /* CHR_INDEX_CDF x block_rows each */
  uint64_t sum;
};

static void release(info_index *x) {
  if (x == NULL) return;
  free(x->ends);
  free(x->stored);
  free(x->bins);
  free(x->stored_bins);
  free(x->mass);
  free(x->stored_mass);
  free(x->roots);
  free(x->stored_roots);
  free(x->centroid);
  free(x->stored_centroid);
  free(x->cdf);
  free(x->stored_cdf);
  free(x);
}

chr_status chr_info_index_begin(chr_dataset *ds, const chr_index_meta *meta, int64_t block_rows,
                                info_index **out, chr_error *err) {
  size_t cells = (size_t)block_rows * CHR_BINS;
  info_index *x = calloc(1, sizeof *x);
  *out = NULL;
  if (x != NULL) {
    x->ds = ds;
    x->meta = *meta;
    x->ends = malloc(((size_t)block_rows + 1) * sizeof *x->ends);
    x->stored = malloc(((size_t)block_rows + 1) * sizeof *x->stored);
    x->bins = malloc(cells * sizeof *x->bins);
    x->stored_bins = malloc(cells * sizeof *x->stored_bins);
    x->mass = malloc(cells * sizeof *x->mass);
    x->stored_mass = malloc(cells * sizeof *x->stored_mass);
    x->roots = malloc(cells * sizeof *x->roots);
    x->stored_roots = malloc(cells * sizeof *x->stored_roots);
    x->centroid = malloc((size_t)block_rows * 3 * sizeof *x->centroid);
    x->stored_centroid = malloc((size_t)block_rows * 3 * sizeof *x->stored_centroid);
    x->cdf = malloc((size_t)block_rows * CHR_INDEX_CDF);
    x->stored_cdf = malloc((size_t)block_rows * CHR_INDEX_CDF);
  }
  if (x == NULL || !x->ends || !x->stored || !x->bins || !x->stored_bins || !x->mass ||
      !x->stored_mass || !x->roots || !x->stored_roots || !x->centroid || !x->stored_centroid ||
      !x->cdf || !x->stored_cdf) {
    release(x);
    return chr_error_set(err, CHR_ENOMEM, "out of memory checking /index");
  }
  *out = x;
  return CHR_OK;
}

/* The first row of the block whose sparse entries differ from the stored ones, or -1. */
static int64_t first_sparse_difference(const info_index *x, int64_t count) {
  for (int64_t r = 0; r < count; ++r) {
    int64_t lo = x->ends[r], n = x->ends[r + 1] - lo, slo = x->stored[r] - x->stored[0];
    if (x->stored[r + 1] - x->stored[r] != n ||
        memcmp(x->bins + lo, x->stored_bins + slo, (size_t)n * sizeof *x->bins) != 0 ||
        memcmp(x->mass + lo, x->stored_mass + slo, (size_t)n * sizeof *x->mass) != 0)
      return r;
  }
  return -1;
}

/* The stored summaries of the block (index_version 2) against those of its rows. */
static chr_status check_summaries(info_index *x, int64_t first, int64_t count, chr_error *err) {
  chr_index_summary_block(x->ends, x->bins, x->mass, count, x->centroid, x->cdf);
  chr_status st = chr_dataset_index_read_summaries(x->ds, first, count, x->stored_centroid,
                                                   x->stored_cdf, err);
  if (st != CHR_OK) return st;
  for (size_t i = 0; i < (size_t)count * 3; ++i)
    if (memcmp(&x->centroid[i], &x->stored_centroid[i], sizeof(float)) != 0)
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/centroid axis %lld, row %lld: %g (expected %g from "
                           "/histograms; %s)", (long long)(i / (size_t)count),
                           (long long)(first + (int64_t)(i % (size_t)count)),
                           (double)x->stored_centroid[i], (double)x->centroid[i], REBUILD);
  for (size_t i = 0; i < (size_t)count * CHR_INDEX_CDF; ++i)
    if (x->cdf[i] != x->stored_cdf[i])
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/cdf column %lld, row %lld: %u (expected %u from /histograms; "
                           "%s)", (long long)(i / (size_t)count),
                           (long long)(first + (int64_t)(i % (size_t)count)),
                           (unsigned)x->stored_cdf[i], (unsigned)x->cdf[i], REBUILD);
  return CHR_OK;
}

chr_status chr_info_index_block(info_index *x, const float *rows, int64_t first, int64_t count,
                                chr_error *err) {
  int64_t nnz = 0;
  x->ends[0] = 0;
  chr_csr_from_dense(rows, count, x->bins, x->mass, &nnz, x->ends + 1);
  for (int64_t r = 0; r < count; ++r)
    x->sum += chr_csr_row_term(first + r, x->bins + x->ends[r], x->mass + x->ends[r],
                               (int)(x->ends[r + 1] - x->ends[r]));
  chr_status st = chr_dataset_index_read_offsets(x->ds, first, count, x->stored, H5P_DEFAULT, err);
  if (st != CHR_OK) return st;
  int64_t n = x->stored[count] - x->stored[0];
  if (x->stored[0] < 0 || n != nnz || x->stored[count] > x->meta.nnz)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/offsets rows %lld..%lld: %lld entries (expected %lld from "
                         "/histograms: stale index; %s)", (long long)first,
                         (long long)(first + count), (long long)n, (long long)nnz, REBUILD);
  st = chr_dataset_index_read_entries(x->ds, x->stored[0], n, x->stored_bins, x->stored_mass,
                                      H5P_DEFAULT, err);
  if (st != CHR_OK) return st;
  int64_t bad = first_sparse_difference(x, count);
  if (bad >= 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index row %lld differs from /histograms row %lld (stale index; %s)",
                         (long long)(first + bad), (long long)(first + bad), REBUILD);
  chr_index_roots_block(x->ends, x->bins, x->mass, count, x->roots);
  st = chr_dataset_index_read_roots(x->ds, first, count, x->stored_roots, err);
  if (st != CHR_OK) return st;
  for (size_t i = 0; i < (size_t)count * CHR_BINS; ++i)
    if (x->roots[i] != x->stored_roots[i])
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/roots bin %lld, row %lld: %u (expected %u from /histograms; "
                           "%s)", (long long)(i / (size_t)count),
                           (long long)(first + (int64_t)(i % (size_t)count)),
                           (unsigned)x->stored_roots[i], (unsigned)x->roots[i], REBUILD);
  return x->meta.summaries ? check_summaries(x, first, count, err) : CHR_OK;
}

chr_status chr_info_index_end(info_index **p, chr_error *err) {
  info_index *x = *p;
  chr_status st = CHR_OK;
  if (x->sum != x->meta.checksum)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: checksum attribute %016llx (expected %016llx from /histograms; "
                       "%s)", (unsigned long long)x->meta.checksum,
                       (unsigned long long)x->sum, REBUILD);
  release(x);
  *p = NULL;
  return st;
}
