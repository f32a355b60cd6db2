/* Duplicate histograms (row hash, exact comparison, hash groups, the row -> representative map),
 * the stage-1 scan that skips collapsed rows (checked against a brute force over the rows that
 * stay), and the confidence scales. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/confidence.h"
#include "chromatica/duplicates.h"
#include "chromatica/grid.h"
#include "chromatica/scan.h"
#include "test_random.h"

static void test_row_hash(void **state) {
  (void)state;
  uint16_t bins[3] = {4, 90, 1151};
  float mass[3] = {0.25f, 0.25f, 0.5f};
  uint16_t bins2[3] = {4, 90, 1151};
  float mass2[3] = {0.25f, 0.25f, 0.5f};
  uint64_t h = chr_dup_row_hash(bins, mass, 3);
  assert_true(h == chr_dup_row_hash(bins2, mass2, 3));
  assert_true(chr_dup_rows_equal(bins, mass, 3, bins2, mass2, 3));
  /* One ulp of one mass, one bin, or one entry fewer: a different row and hash. */
  mass2[1] = nextafterf(0.25f, 1.0f);
  assert_false(chr_dup_rows_equal(bins, mass, 3, bins2, mass2, 3));
  assert_true(h != chr_dup_row_hash(bins2, mass2, 3));
  mass2[1] = 0.25f;
  bins2[1] = 91;
  assert_false(chr_dup_rows_equal(bins, mass, 3, bins2, mass2, 3));
  assert_true(h != chr_dup_row_hash(bins2, mass2, 3));
  assert_false(chr_dup_rows_equal(bins, mass, 3, bins, mass, 2));
  assert_true(h != chr_dup_row_hash(bins, mass, 2));
  /* Swapping which bin holds which mass changes the hash (order matters). */
  float swapped[3] = {0.5f, 0.25f, 0.25f};
  assert_true(h != chr_dup_row_hash(bins, swapped, 3));
  assert_true(chr_dup_row_hash(NULL, NULL, 0) == chr_dup_row_hash(NULL, NULL, 0));
}

static void test_hash_heads(void **state) {
  (void)state;
  const uint64_t hash[8] = {7, 3, 7, 9, 3, 7, 1, 9};
  int64_t head[8];
  chr_error err;
  assert_int_equal(chr_dup_hash_heads(hash, 8, head, &err), CHR_OK);
  const int64_t want[8] = {0, 1, 0, 3, 1, 0, 6, 3};
  for (int r = 0; r < 8; ++r) assert_int_equal(head[r], want[r]);
  assert_int_equal(chr_dup_hash_heads(hash, 0, head, &err), CHR_OK);
}

static void test_dups_map(void **state) {
  (void)state;
  chr_dups d;
  chr_error err;
  const int64_t row[5] = {9, 4, 12, 7, 5};
  const int64_t rep[5] = {2, 2, 3, 2, 3};
  assert_int_equal(chr_dups_create(row, rep, 5, &d, &err), CHR_OK);
  assert_int_equal(d.n, 5);
  assert_int_equal(d.groups, 2);
  const int64_t *members = NULL;
  assert_int_equal(chr_dups_members(&d, 2, &members), 3);
  assert_int_equal(members[0], 4);
  assert_int_equal(members[1], 7);
  assert_int_equal(members[2], 9);
  assert_int_equal(chr_dups_members(&d, 3, &members), 2);
  assert_int_equal(members[0], 5);
  assert_int_equal(members[1], 12);
  assert_int_equal(chr_dups_members(&d, 4, &members), 0);
  assert_int_equal(chr_dups_members(&d, 0, &members), 0);
  assert_int_equal(chr_dups_members(&d, 100, &members), 0);
  chr_dups_free(&d);
  assert_int_equal(d.n, 0);
  assert_null(d.row);
  assert_int_equal(chr_dups_create(NULL, NULL, 0, &d, &err), CHR_OK);
  assert_int_equal(d.groups, 0);
  assert_int_equal(chr_dups_members(&d, 1, &members), 0);
  chr_dups_free(&d);
  chr_dups_free(&d);
}

static void random_row(float *x, uint64_t *s) {
  memset(x, 0, CHR_BINS * sizeof *x);
  double sum = 0.0;
  for (int k = 0; k < 60; ++k) x[next(s) % CHR_BINS] += (float)(uniform(s) + 1e-3);
  for (int b = 0; b < CHR_BINS; ++b) sum += x[b];
  for (int b = 0; b < CHR_BINS; ++b) x[b] = (float)(x[b] / sum);
}

/* Rows with many exact copies (a third of them copies of 5 rows); a query close to one copied
 * row. With the copies excluded the scan's top must be the brute-force top of the other rows,
 * and without the mask it must stay the plain top. */
static void test_scan_excluding(void **state) {
  (void)state;
  const int64_t rows = 3000;
  uint64_t s = 77;
  float *dense = malloc((size_t)rows * CHR_BINS * sizeof *dense);
  uint8_t *mask = calloc((size_t)rows, 1);
  assert_non_null(dense);
  assert_non_null(mask);
  for (int64_t r = 0; r < rows; ++r) {
    if (r >= 10 && r % 3 == 0) {
      memcpy(dense + r * CHR_BINS, dense + (r % 5) * CHR_BINS, CHR_BINS * sizeof *dense);
      mask[r] = 1;
    } else {
      random_row(dense + r * CHR_BINS, &s);
    }
  }
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(rows, 1000, &idx, &err), CHR_OK);
  assert_int_equal(chr_index_append(idx, dense, rows, &err), CHR_OK);
  assert_int_equal(chr_index_set_excluded(idx, mask, &err), CHR_OK);
  assert_true(chr_index_excluded(idx, 12));
  assert_false(chr_index_excluded(idx, 13));
  chr_qhist q = {.count = 0};
  for (int b = 0; b < CHR_BINS && q.count < 20; ++b)
    if (dense[2 * CHR_BINS + b] > 0.0f) {
      q.bin[q.count] = b;
      q.mass[q.count++] = dense[2 * CHR_BINS + b];
    }
  double sum = 0.0;
  for (int k = 0; k < q.count; ++k) sum += q.mass[k];
  for (int k = 0; k < q.count; ++k) q.mass[k] /= sum;
  enum { WANT = 50 };
  chr_hit got[WANT], plain[WANT];
  chr_hit *outs[2] = {got, plain};
  const chr_qhist *qs[2] = {&q, &q};
  int want[2] = {WANT, WANT}, exclude[2] = {1, 0}, counts[2];
  assert_int_equal(
      chr_scan_topk_many_excluding(idx, qs, 2, want, exclude, outs, counts, &err), CHR_OK);
  assert_int_equal(counts[0], WANT);
  /* Brute force over the kept rows: the definition's score, best first, ties by row. */
  chr_hit *ref = malloc((size_t)rows * sizeof *ref);
  assert_non_null(ref);
  int n = 0;
  for (int64_t r = 0; r < rows; ++r)
    if (!mask[r]) ref[n++] = (chr_hit){chr_scan_score(idx, &q, r), 1000 + r};
  qsort(ref, (size_t)n, sizeof *ref, (int (*)(const void *, const void *))chr_hit_compare);
  for (int i = 0; i < WANT; ++i) {
    assert_int_equal(got[i].row, ref[i].row);
    assert_true(got[i].score == ref[i].score);
  }
  /* The plain query sees the copies: row 2's copies tie with it at the top. */
  chr_hit single[WANT];
  int m = chr_scan_topk(idx, &q, WANT, single, &err);
  assert_int_equal(m, counts[1]);
  for (int i = 0; i < m; ++i) assert_int_equal(single[i].row, plain[i].row);
  int copies = 0;
  for (int i = 0; i < 5; ++i) copies += mask[plain[i].row - 1000];
  assert_true(copies >= 4);
  assert_int_equal(chr_index_set_excluded(idx, NULL, &err), CHR_OK);
  assert_false(chr_index_excluded(idx, 12));
  free(ref);
  free(mask);
  free(dense);
  chr_index_destroy(&idx);
}

static void test_confidence(void **state) {
  (void)state;
  assert_true(chr_confidence_transport(0.0) == 1.0);
  assert_true(fabs(chr_confidence_transport(CHR_CONFIDENCE_DE50) - 0.5) < 0.02);
  assert_true(chr_confidence_transport(CHR_CONFIDENCE_DE50 + 4 * CHR_CONFIDENCE_DE_WIDTH) < 0.02);
  assert_true(chr_confidence_transport(2.0) > 0.95);
  assert_true(chr_confidence_transport(1e6) == 0.0);
  assert_true(chr_confidence_transport(-1.0) == 0.0);
  assert_true(chr_confidence_transport(NAN) == 0.0);
  for (double d = 0.0; d < 60.0; d += 0.5) /* strictly decreasing, inside [0, 1] */
    assert_true(chr_confidence_transport(d + 0.5) < chr_confidence_transport(d) &&
                chr_confidence_transport(d) <= 1.0);
  assert_true(chr_confidence_fast(0.0) == 1.0);
  assert_true(chr_confidence_fast(2.0) == 0.0);
  assert_true(fabs(chr_confidence_fast(0.41) - (1.0 - 0.41 / 2)) < 1e-15);
  assert_true(chr_confidence_fast(-1e-17) == 1.0);
  assert_true(chr_confidence_fast(2.5) == 0.0);
}

/* The stored groups' fingerprint changes with any pair, their order, their number and the
 * index checksum they are bound to. */
static void test_dups_checksum(void **state) {
  (void)state;
  int64_t row[3] = {4, 7, 9}, rep[3] = {1, 1, 2};
  uint64_t h = chr_dups_checksum(row, rep, 3, 42);
  assert_true(h == chr_dups_checksum(row, rep, 3, 42));
  assert_true(h != chr_dups_checksum(row, rep, 3, 43));
  assert_true(h != chr_dups_checksum(row, rep, 2, 42));
  int64_t row2[3] = {4, 8, 9}, rep2[3] = {1, 1, 3};
  assert_true(h != chr_dups_checksum(row2, rep, 3, 42));
  assert_true(h != chr_dups_checksum(row, rep2, 3, 42));
  int64_t swapped_row[3] = {7, 4, 9};
  assert_true(h != chr_dups_checksum(swapped_row, rep, 3, 42));
  assert_true(chr_dups_checksum(NULL, NULL, 0, 42) != chr_dups_checksum(NULL, NULL, 0, 41));
}

/* The stored pairs must have chr_dups_create's shape; each kind of damage is refused, naming
 * the pair. */
static void test_dups_check_pairs(void **state) {
  (void)state;
  chr_error err;
  int64_t row[3] = {4, 7, 9}, rep[3] = {1, 1, 2};
  assert_int_equal(chr_dups_check_pairs(row, rep, 3, 10, "/x", &err), CHR_OK);
  assert_int_equal(chr_dups_check_pairs(NULL, NULL, 0, 10, "/x", &err), CHR_OK);
  assert_int_equal(chr_dups_check_pairs(row, rep, 3, 9, "/x", &err), CHR_EFORMAT); /* 9 >= N */
  assert_non_null(strstr(err.message, "/x pair 2: row 9, representative 2"));
  int64_t same_row[1] = {1}, same_rep[1] = {1}; /* rep == row */
  assert_int_equal(chr_dups_check_pairs(same_row, same_rep, 1, 10, "/x", &err), CHR_EFORMAT);
  int64_t neg_row[1] = {3}, neg_rep[1] = {-1};
  assert_int_equal(chr_dups_check_pairs(neg_row, neg_rep, 1, 10, "/x", &err), CHR_EFORMAT);
  int64_t unordered_row[2] = {7, 4}, unordered_rep[2] = {1, 1};
  assert_int_equal(chr_dups_check_pairs(unordered_row, unordered_rep, 2, 10, "/x", &err),
                   CHR_EFORMAT);
  assert_non_null(strstr(err.message, "pair 1:"));
  int64_t twice_row[2] = {7, 7}, twice_rep[2] = {1, 2}; /* row 7 collapsed twice */
  assert_int_equal(chr_dups_check_pairs(twice_row, twice_rep, 2, 10, "/x", &err), CHR_EFORMAT);
  int64_t chain_row[2] = {4, 6}, chain_rep[2] = {1, 4}; /* 4 collapsed, then a representative */
  assert_int_equal(chr_dups_check_pairs(chain_row, chain_rep, 2, 10, "/x", &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "pair 1: row 6, representative 4"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_row_hash),       cmocka_unit_test(test_hash_heads),
      cmocka_unit_test(test_dups_map),       cmocka_unit_test(test_scan_excluding),
      cmocka_unit_test(test_confidence),     cmocka_unit_test(test_dups_checksum),
      cmocka_unit_test(test_dups_check_pairs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
