/* The layout of chr_index, shared by its construction (index.c) and the scan (scan.c) only:
 * everyone else goes through include/chromatica/scan.h. */
#ifndef CHROMATICA_CORE_INDEX_PRIVATE_H
#define CHROMATICA_CORE_INDEX_PRIVATE_H

#include <stdint.h>

#include "chromatica/scan.h"

struct chr_index {
  int64_t capacity;
  int64_t first_row;
  int64_t rows;
  uint16_t *roots;   /* CHR_BINS x capacity binary16 sqrt(x); column b at roots + b * stride */
  int64_t stride;    /* capacity, or the row count of adopted roots (chr_index_adopt_roots) */
  void *roots_owner; /* adopted roots: released with release_roots(roots_owner) */
  void (*release_roots)(void *);
  void *sparse_owner; /* adopted sparse rows: released with release_sparse(sparse_owner) */
  void (*release_sparse)(void *);
  double max_row_sum;     /* the largest row sum appended (bounds every sum, chr_scan_margin) */
  int64_t *offsets;       /* capacity + 1; row r's support is [offsets[r], offsets[r+1]) */
  uint16_t *bins;         /* CSR bin indices, ascending within a row */
  float *mass;            /* CSR masses, parallel to bins */
  int64_t nnz_cap;        /* allocated length of bins and mass */
  uint8_t *excluded;      /* NULL, or 1 per row the searches that collapse duplicates skip */
  float *centroid;        /* 3 x summary_stride, column-major (chr_index_centroid_column) */
  uint8_t *cdf;           /* CHR_INDEX_CDF x summary_stride, column-major (chr_index_cdf_column) */
  int64_t summary_stride; /* capacity, or the row count of adopted summaries */
  void *summary_owner;    /* adopted summaries: released with release_summary(summary_owner) */
  void (*release_summary)(void *);
};

#endif
