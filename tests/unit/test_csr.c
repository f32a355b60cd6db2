/* Sparse rows of the stored index (csr.h) and the index built from them: an index filled from
 * stored sparse rows, or using stored root columns, must answer exactly as one built from the
 * dense rows (the reference). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chromatica/csr.h"
#include "chromatica/grid.h"
#include "chromatica/scan.h"
#include "index_private.h" /* max_row_sum, compared bit for bit */
#include "test_random.h"

#define ROWS 300

static float *random_rows(int64_t n, uint64_t seed) {
  float *x = calloc((size_t)n * CHR_BINS, sizeof *x);
  uint64_t s = seed;
  for (int64_t r = 0; r < n; ++r) {
    float *row = x + r * CHR_BINS;
    int nnz = 1 + (int)(next(&s) % 120);
    double sum = 0.0;
    for (int k = 0; k < nnz; ++k) row[next(&s) % CHR_BINS] += (float)(uniform(&s) + 1e-3);
    for (int b = 0; b < CHR_BINS; ++b) sum += row[b];
    for (int b = 0; b < CHR_BINS; ++b) row[b] = (float)(row[b] / sum);
  }
  return x;
}

typedef struct {
  int64_t offsets[ROWS + 1];
  uint16_t *bins;
  float *mass;
} csr;

static void to_csr(const float *x, csr *c) {
  c->bins = malloc((size_t)ROWS * CHR_BINS * sizeof *c->bins);
  c->mass = malloc((size_t)ROWS * CHR_BINS * sizeof *c->mass);
  int64_t nnz = 0;
  c->offsets[0] = 0;
  chr_csr_from_dense(x, ROWS, c->bins, c->mass, &nnz, c->offsets + 1);
  assert_int_equal(nnz, c->offsets[ROWS]);
}

static void assert_same_index(const chr_index *a, const chr_index *b) {
  uint64_t s = 7;
  for (int64_t r = 0; r < ROWS; ++r) {
    const uint16_t *ba, *bb;
    const float *ma, *mb;
    int na = chr_index_support(a, r, &ba, &ma), nb = chr_index_support(b, r, &bb, &mb);
    assert_int_equal(na, nb);
    assert_memory_equal(ba, bb, (size_t)na * sizeof *ba);
    assert_memory_equal(ma, mb, (size_t)na * sizeof *ma);
    assert_int_equal(chr_index_check_roots(b, r), -1);
    /* Through the column accessor too (the cascade's way), whatever b's stride. */
    for (int k = 0; k < na; ++k)
      assert_int_equal(chr_index_root_column(a, ba[k])[r], chr_index_root_column(b, ba[k])[r]);
  }
  for (int t = 0; t < 20; ++t) {
    chr_qhist q = {.count = 0};
    int n = 1 + (int)(next(&s) % 8);
    for (int b = (int)(next(&s) % 100); b < CHR_BINS && q.count < n; b += 1 + (int)(next(&s) % 200)) {
      q.bin[q.count] = b;
      q.mass[q.count++] = 1.0 / n;
    }
    chr_hit ha[10], hb[10];
    chr_error err;
    int ka = chr_scan_topk(a, &q, 10, ha, &err), kb = chr_scan_topk(b, &q, 10, hb, &err);
    assert_int_equal(ka, kb);
    for (int i = 0; i < ka; ++i) {
      assert_int_equal(ha[i].row, hb[i].row);
      assert_true(ha[i].score == hb[i].score);
    }
  }
}

static void test_sparse_equals_dense(void **state) {
  (void)state;
  float *x = random_rows(ROWS, 11);
  csr c;
  to_csr(x, &c);
  chr_index *dense = NULL, *sparse = NULL, *adopted = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(ROWS, 5, &dense, &err), CHR_OK);
  assert_int_equal(chr_index_append(dense, x, ROWS, &err), CHR_OK);
  /* In two pieces, as the loader appends chunk by chunk. */
  assert_int_equal(chr_index_create(ROWS, 5, &sparse, &err), CHR_OK);
  assert_int_equal(chr_index_reserve_entries(sparse, c.offsets[ROWS], &err), CHR_OK);
  assert_int_equal(chr_index_append_sparse(sparse, c.offsets, c.bins, c.mass, 100, &err), CHR_OK);
  assert_int_equal(chr_index_append_sparse(sparse, c.offsets + 100, c.bins + c.offsets[100],
                                           c.mass + c.offsets[100], ROWS - 100, &err), CHR_OK);
  assert_int_equal(chr_index_append_sparse(sparse, c.offsets, c.bins, c.mass, 1, &err), CHR_EINVAL);
  assert_same_index(dense, sparse);
  /* Stored root columns: a block of ROWS + 1 rows whose first is not ours (stride ROWS + 1). */
  uint16_t *roots = malloc((size_t)(ROWS + 1) * CHR_BINS * sizeof *roots);
  int64_t shifted[ROWS + 2];
  shifted[0] = 0;
  for (int r = 0; r <= ROWS; ++r) shifted[r + 1] = c.offsets[r];
  chr_index_roots_block(shifted, c.bins, c.mass, ROWS + 1, roots);
  assert_int_equal(chr_index_create(ROWS, 5, &adopted, &err), CHR_OK);
  assert_int_equal(chr_index_adopt_roots(adopted, roots + 1, ROWS - 1, roots, free, &err), CHR_EINVAL);
  assert_int_equal(chr_index_adopt_roots(adopted, roots + 1, ROWS + 1, roots, free, &err), CHR_OK);
  assert_int_equal(chr_index_append_sparse(adopted, c.offsets, c.bins, c.mass, ROWS, &err), CHR_OK);
  assert_same_index(dense, adopted);
  roots[1 + (size_t)c.bins[0] * (ROWS + 1)] ^= 1; /* row 0's first root, one bit off */
  assert_int_equal(chr_index_check_roots(adopted, 0), c.bins[0]);
  chr_index_destroy(&dense);
  chr_index_destroy(&sparse);
  chr_index_destroy(&adopted); /* frees roots */
  free(c.bins);
  free(c.mass);
  free(x);
}

/* Stored summaries (chr_index_summary_block, adopted with a stride as the loader does) equal
 * those the dense append computes, bit for bit; chr_index_check_summary finds one bit off. */
static void test_stored_summaries(void **state) {
  (void)state;
  float *x = random_rows(ROWS, 13);
  csr c;
  to_csr(x, &c);
  chr_index *dense = NULL, *adopted = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(ROWS, 0, &dense, &err), CHR_OK);
  assert_int_equal(chr_index_append(dense, x, ROWS, &err), CHR_OK);
  /* A block of ROWS + 2 rows (row 0 empty, then ours, then row 0 again): stride ROWS + 2. */
  int64_t n = ROWS + 2, shifted[ROWS + 3];
  shifted[0] = 0;
  for (int r = 0; r <= ROWS; ++r) shifted[r + 1] = c.offsets[r];
  shifted[ROWS + 2] = c.offsets[ROWS] + c.offsets[1];
  uint16_t *bins = malloc((size_t)(c.offsets[ROWS] + c.offsets[1]) * sizeof *bins);
  float *mass = malloc((size_t)(c.offsets[ROWS] + c.offsets[1]) * sizeof *mass);
  memcpy(bins, c.bins, (size_t)c.offsets[ROWS] * sizeof *bins);
  memcpy(mass, c.mass, (size_t)c.offsets[ROWS] * sizeof *mass);
  memcpy(bins + c.offsets[ROWS], c.bins, (size_t)c.offsets[1] * sizeof *bins);
  memcpy(mass + c.offsets[ROWS], c.mass, (size_t)c.offsets[1] * sizeof *mass);
  uint16_t *roots = malloc((size_t)n * CHR_BINS * sizeof *roots);
  float *centroid = malloc((size_t)n * 3 * sizeof *centroid);
  uint8_t *cdf = malloc((size_t)n * CHR_INDEX_CDF);
  chr_index_roots_block(shifted, bins, mass, n, roots);
  chr_index_summary_block(shifted, bins, mass, n, centroid, cdf);
  assert_int_equal(chr_index_create(ROWS, 0, &adopted, &err), CHR_OK);
  assert_int_equal(chr_index_adopt_roots(adopted, roots + 1, n, roots, free, &err), CHR_OK);
  assert_int_equal(chr_index_adopt_summaries(adopted, centroid + 1, cdf + 1, n, centroid, free,
                                             &err), CHR_OK);
  assert_int_equal(chr_index_adopt_summaries(adopted, centroid + 1, cdf + 1, n, centroid, free,
                                             &err), CHR_EINVAL);
  assert_int_equal(chr_index_adopt_sparse(adopted, c.offsets, c.bins, c.mass, ROWS, c.bins, free,
                                          &err), CHR_OK);
  assert_int_equal(chr_index_append(adopted, x, 1, &err), CHR_EINVAL);
  for (int64_t r = 0; r < ROWS; ++r) {
    assert_int_equal(chr_index_check_summary(adopted, r), -1);
    for (int k = 0; k < 3; ++k)
      assert_memory_equal(&chr_index_centroid_column(dense, k)[r],
                          &chr_index_centroid_column(adopted, k)[r], sizeof(float));
    for (int k = 0; k < CHR_INDEX_CDF; ++k)
      assert_int_equal(chr_index_cdf_column(dense, k)[r], chr_index_cdf_column(adopted, k)[r]);
  }
  assert_same_index(dense, adopted);
  cdf[1 + 5 * (size_t)n + 7] ^= 1; /* row 7, marginal column 5 */
  assert_int_equal(chr_index_check_summary(adopted, 7), 3 + 5);
  centroid[1 + 2 * (size_t)n + 9] = -centroid[1 + 2 * (size_t)n + 9] - 1.0f; /* row 9, b */
  assert_int_equal(chr_index_check_summary(adopted, 9), 2);
  chr_index_destroy(&dense);
  chr_index_destroy(&adopted); /* frees roots, centroid and c.bins; the rest is ours */
  free(cdf);
  free(c.mass);
  free(bins);
  free(mass);
  free(x);
}

/* The largest row sum found by chr_csr_check_summed, handed to chr_index_adopt_sparse_summed
 * with stored summaries (the loader's way), gives the index appending gives, max_row_sum bit
 * for bit, without the adoption reading the rows again. */
static void test_summed_adoption(void **state) {
  (void)state;
  float *x = random_rows(ROWS, 14);
  csr c;
  to_csr(x, &c);
  chr_index *dense = NULL, *adopted = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(ROWS, 0, &dense, &err), CHR_OK);
  assert_int_equal(chr_index_append(dense, x, ROWS, &err), CHR_OK);
  uint16_t *roots = malloc((size_t)ROWS * CHR_BINS * sizeof *roots);
  float *centroid = malloc((size_t)ROWS * 3 * sizeof *centroid);
  uint8_t *cdf = malloc((size_t)ROWS * CHR_INDEX_CDF);
  chr_index_roots_block(c.offsets, c.bins, c.mass, ROWS, roots);
  chr_index_summary_block(c.offsets, c.bins, c.mass, ROWS, centroid, cdf);
  uint64_t sum = 0;
  double max_sum = -1.0, want = 0.0;
  assert_int_equal(chr_csr_check_summed(c.offsets, c.bins, c.mass, 0, ROWS, c.offsets[ROWS], &sum,
                                        &max_sum, &err),
                   CHR_OK);
  for (int r = 0; r < ROWS; ++r) {
    double row = 0.0;
    for (int64_t j = c.offsets[r]; j < c.offsets[r + 1]; ++j) row += c.mass[j];
    if (row > want) want = row;
  }
  assert_memory_equal(&max_sum, &want, sizeof want);
  assert_int_equal(chr_index_create(ROWS, 0, &adopted, &err), CHR_OK);
  assert_int_equal(chr_index_adopt_roots(adopted, roots, ROWS, roots, free, &err), CHR_OK);
  assert_int_equal(
      chr_index_adopt_summaries(adopted, centroid, cdf, ROWS, centroid, free, &err), CHR_OK);
  assert_int_equal(chr_index_adopt_sparse_summed(adopted, c.offsets, c.bins, c.mass, ROWS, max_sum,
                                                 c.bins, free, &err),
                   CHR_OK);
  assert_memory_equal(&dense->max_row_sum, &adopted->max_row_sum, sizeof max_sum);
  assert_same_index(dense, adopted);
  chr_index_destroy(&dense);
  chr_index_destroy(&adopted); /* frees roots, centroid and c.bins */
  free(cdf);
  free(c.mass);
  free(x);
}

static void test_check_and_checksum(void **state) {
  (void)state;
  float *x = random_rows(ROWS, 12);
  csr c;
  to_csr(x, &c);
  chr_error err;
  uint64_t all = 0, parts = 0;
  int64_t nnz = c.offsets[ROWS];
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, ROWS, nnz, &all, &err), CHR_OK);
  /* The fingerprint adds up over any split of the rows. */
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, 120, nnz, &parts, &err), CHR_OK);
  assert_int_equal(chr_csr_check(c.offsets + 120, c.bins + c.offsets[120], c.mass + c.offsets[120],
                                 120, ROWS - 120, nnz, &parts, &err), CHR_OK);
  assert_true(all == parts);
  /* It binds rows to their numbers: the same rows one later differ. */
  uint64_t moved = 0;
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 1, ROWS, nnz, &moved, &err), CHR_OK);
  assert_true(moved != all);
  uint64_t sum = 0;
  float keep = c.mass[3];
  c.mass[3] = -keep;
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, ROWS, nnz, &sum, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "/index/mass row 0: entry 3"));
  c.mass[3] = keep * 2.0f;
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, ROWS, nnz, &sum, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "/index row 0: sums to"));
  c.mass[3] = keep;
  uint16_t b = c.bins[1];
  c.bins[1] = c.bins[0];
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, ROWS, nnz, &sum, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "/index/bins row 0: entry 1"));
  c.bins[1] = b;
  assert_int_equal(chr_csr_check(c.offsets, c.bins, c.mass, 0, ROWS, nnz - 1, &sum, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "/index/offsets rows"));
  free(c.bins);
  free(c.mass);
  free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_equals_dense),
      cmocka_unit_test(test_check_and_checksum),
      cmocka_unit_test(test_stored_summaries),
      cmocka_unit_test(test_summed_adoption),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
