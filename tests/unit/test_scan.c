/* The shard index and the exact stage-1 scan (spec section 4), checked against a dense
 * brute-force Hellinger over all 1152 bins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "chromatica/scan.h"
#include "test_random.h"

#ifdef _OPENMP
#include <omp.h>
#endif


/* A random histogram with about `nnz` non-zero bins, normalised in float. */
static void random_row(float *x, int nnz, uint64_t *state) {
  memset(x, 0, CHR_BINS * sizeof *x);
  double sum = 0.0;
  for (int k = 0; k < nnz; ++k) {
    int b = (int)(next(state) % CHR_BINS);
    x[b] += (float)(uniform(state) + 1e-3);
  }
  for (int b = 0; b < CHR_BINS; ++b) sum += x[b];
  for (int b = 0; b < CHR_BINS; ++b) x[b] = (float)(x[b] / sum);
}

/* A random query of 1..40 distinct ascending bins; the ends of the grid are favoured so the
 * first and last column are exercised. */
static void random_query(chr_qhist *q, uint64_t *state) {
  int used[CHR_BINS] = {0};
  int n = 1 + (int)(next(state) % CHR_QUERY_MAX_BINS);
  if (next(state) % 2) used[0] = 1;
  if (next(state) % 2) used[CHR_BINS - 1] = 1;
  int have = used[0] + used[CHR_BINS - 1];
  while (have < n) {
    int b = (int)(next(state) % CHR_BINS);
    if (!used[b]) used[b] = 1, ++have;
  }
  q->count = 0;
  double sum = 0.0;
  for (int b = 0; b < CHR_BINS; ++b)
    if (used[b] && q->count < CHR_QUERY_MAX_BINS) {
      q->bin[q->count] = b;
      q->mass[q->count] = uniform(state) + 1e-3;
      sum += q->mass[q->count++];
    }
  for (int k = 0; k < q->count; ++k) q->mass[k] /= sum;
}

static int cmp_hit(const void *a, const void *b) { return chr_hit_compare(a, b); }

/* Builds an index of `rows` rows (appended in chunks); every 10th row copies an earlier one so
 * exact score ties occur, and `period` > 0 makes row r a copy of row r % period. */
static chr_index *build(int64_t rows, int64_t first_row, int64_t period, float **dense,
                        uint64_t *seed) {
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(rows, first_row, &idx, &err), CHR_OK);
  int64_t keep = period > 0 ? period : rows;
  float *all = malloc((size_t)keep * CHR_BINS * sizeof *all);
  assert_non_null(all);
  for (int64_t r = 0; r < keep; ++r) {
    if (r > 20 && r % 10 == 0)
      memcpy(all + r * CHR_BINS, all + (r - 17) * CHR_BINS, CHR_BINS * sizeof *all);
    else
      random_row(all + r * CHR_BINS, 300, seed);
  }
  for (int64_t r0 = 0; r0 < rows;) {
    int64_t take = keep - r0 % keep;
    if (take > rows - r0) take = rows - r0;
    assert_int_equal(chr_index_append(idx, all + (r0 % keep) * CHR_BINS, take, &err), CHR_OK);
    r0 += take;
  }
  assert_int_equal(chr_index_rows(idx), rows);
  *dense = all;
  return idx;
}

static void test_index_basics(void **state) {
  (void)state;
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(-1, 0, &idx, &err), CHR_EINVAL);
  assert_null(idx);
  assert_int_equal(chr_index_create(3, 77, &idx, &err), CHR_OK);
  float rows[2 * CHR_BINS] = {0};
  rows[5] = 0.25f, rows[900] = 0.75f, rows[CHR_BINS + 0] = 1.0f;
  assert_int_equal(chr_index_append(idx, rows, 2, &err), CHR_OK);
  assert_int_equal(chr_index_append(idx, rows, 2, &err), CHR_EINVAL);
  assert_int_equal(chr_index_rows(idx), 2);
  assert_int_equal(chr_index_first_row(idx), 77);
  const uint16_t *bins;
  const float *mass;
  assert_int_equal(chr_index_support(idx, 0, &bins, &mass), 2);
  assert_int_equal(bins[0], 5);
  assert_int_equal(bins[1], 900);
  assert_true(mass[0] == 0.25f && mass[1] == 0.75f);
  assert_int_equal(chr_index_support(idx, 1, &bins, &mass), 1);
  assert_int_equal(bins[0], 0);
  chr_qhist q = {.count = 1, .bin = {900}, .mass = {1.0}};
  assert_true(chr_scan_score(idx, &q, 0) == 2.0 - 2.0 * sqrt(0.75));
  assert_true(chr_scan_score(idx, &q, 1) == 2.0);
  chr_index_destroy(&idx);
  assert_null(idx);
  chr_index_destroy(&idx);
  chr_index_destroy(NULL);
}

/* Dense brute force: sum over all 1152 bins of sqrt(q_i x_i). */
static void brute_force(const float *dense, int64_t rows, int64_t first_row, const chr_qhist *q,
                        chr_hit *out) {
  double qd[CHR_BINS] = {0};
  for (int k = 0; k < q->count; ++k) qd[q->bin[k]] = q->mass[k];
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int b = 0; b < CHR_BINS; ++b) s += sqrt(qd[b] * (double)dense[r * CHR_BINS + b]);
    out[r].score = 2.0 - 2.0 * s;
    out[r].row = first_row + r;
  }
  qsort(out, (size_t)rows, sizeof *out, cmp_hit);
}

static void test_topk_vs_brute_force(void **state) {
  (void)state;
  uint64_t seed = 2024;
  const int64_t rows = 5000, first = 123456;
  float *dense = NULL;
  chr_index *idx = build(rows, first, 0, &dense, &seed);
  chr_hit *ref = malloc((size_t)rows * sizeof *ref);
  chr_hit *exact = malloc((size_t)rows * sizeof *exact);
  chr_hit *got = malloc((size_t)(rows + 10) * sizeof *got);
  assert_non_null(ref);
  assert_non_null(exact);
  assert_non_null(got);
  chr_error err;
  const int wants[] = {1, 10, 200, 4999, 5000, 5010};
  for (int round = 0; round < 8; ++round) {
    chr_qhist q;
    random_query(&q, &seed);
    brute_force(dense, rows, first, &q, ref);
    for (int64_t r = 0; r < rows; ++r) {
      exact[r].score = chr_scan_score(idx, &q, r);
      exact[r].row = first + r;
    }
    qsort(exact, (size_t)rows, sizeof *exact, cmp_hit);
    for (size_t w = 0; w < sizeof wants / sizeof *wants; ++w) {
      int n = chr_scan_topk(idx, &q, wants[w], got, &err);
      assert_int_equal(n, wants[w] < rows ? wants[w] : rows);
      for (int i = 0; i < n; ++i) {
        /* Exactly the order of the definition (chr_scan_score)... */
        assert_true(got[i].score == exact[i].score);
        assert_int_equal(got[i].row, exact[i].row);
        /* ...and the dense reference up to rounding; ids wherever scores are separated. */
        assert_true(fabs(got[i].score - ref[i].score) <= 1e-12);
        int separated = (i == 0 || ref[i].score - ref[i - 1].score > 1e-12) &&
                        (i + 1 >= rows || ref[i + 1].score - ref[i].score > 1e-12);
        if (separated) assert_int_equal(got[i].row, ref[i].row);
      }
    }
  }
  free(ref);
  free(exact);
  free(got);
  free(dense);
  chr_index_destroy(&idx);
}

static void test_score_equals_block(void **state) {
  (void)state;
  uint64_t seed = 99;
  const int64_t rows = 5000, first = 1000;
  float *dense = NULL;
  chr_index *idx = build(rows, first, 0, &dense, &seed);
  chr_hit *all = malloc((size_t)rows * sizeof *all);
  assert_non_null(all);
  for (int round = 0; round < 8; ++round) {
    chr_qhist q;
    random_query(&q, &seed);
    /* Odd sub-ranges so chunk edges and vector remainders fall in different places. */
    const int64_t ranges[][2] = {{0, rows}, {3, 2050}, {1023, 1025}, {4999, 5000}};
    for (size_t g = 0; g < sizeof ranges / sizeof *ranges; ++g) {
      chr_topk t;
      int64_t len = ranges[g][1] - ranges[g][0];
      chr_topk_init(&t, all, (int)len);
      chr_scan_block(idx, &q, ranges[g][0], ranges[g][1], &t);
      assert_int_equal(chr_topk_finish(&t), len);
      for (int64_t i = 0; i < len; ++i) {
        double s = chr_scan_score(idx, &q, all[i].row - first);
        assert_memory_equal(&s, &all[i].score, sizeof s);
      }
    }
  }
  free(all);
  free(dense);
  chr_index_destroy(&idx);
}

/* Several 16384-row blocks full of exact ties: the result must not depend on threads. */
static void test_threads_deterministic(void **state) {
  (void)state;
  uint64_t seed = 5;
  const int64_t rows = 40000, first = 7;
  float *dense = NULL;
  chr_index *idx = build(rows, first, 700, &dense, &seed);
  const int want = 300;
  chr_hit one[300], two[300], three[300], nested[300];
  chr_error err;
  for (int round = 0; round < 3; ++round) {
    chr_qhist q;
    random_query(&q, &seed);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    assert_int_equal(chr_scan_topk(idx, &q, want, one, &err), want);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    assert_int_equal(chr_scan_topk(idx, &q, want, two, &err), want);
#ifdef _OPENMP
    omp_set_num_threads(3);
#endif
    assert_int_equal(chr_scan_topk(idx, &q, want, three, &err), want);
    int n_nested = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
#pragma omp single
#endif
    n_nested = chr_scan_topk(idx, &q, want, nested, &err);
    assert_int_equal(n_nested, want);
    assert_memory_equal(one, two, sizeof one);
    assert_memory_equal(one, three, sizeof one);
    assert_memory_equal(one, nested, sizeof one);
    /* Against the definition over every row. */
    chr_topk t;
    chr_hit ref[300];
    chr_topk_init(&t, ref, want);
    for (int64_t r = 0; r < rows; ++r) chr_topk_push(&t, chr_scan_score(idx, &q, r), first + r);
    chr_topk_finish(&t);
    assert_memory_equal(one, ref, sizeof one);
    /* Copies of a row tie exactly; the lower row must come first. */
    for (int i = 1; i < want; ++i) assert_true(chr_hit_compare(&one[i - 1], &one[i]) < 0);
  }
  free(dense);
  chr_index_destroy(&idx);
}

/* The many-query scan equals one scan per query bit for bit, for any mix of wants (0, small,
 * more than the rows) and thread counts, with rows not a multiple of any chunk or block. */
static void test_many_equals_single(void **state) {
  (void)state;
  uint64_t seed = 11;
  const int64_t rows = 37013, first = 3;
  float *dense = NULL;
  chr_index *idx = build(rows, first, 900, &dense, &seed);
  enum { NQ = 9 };
  chr_qhist qs[NQ];
  const chr_qhist *ptrs[NQ];
  const int want[NQ] = {1, 10, 300, 0, 200, 50000, 7, 300, 1000};
  chr_hit *outs[NQ], *ref = malloc(50000 * sizeof *ref);
  int counts[NQ];
  chr_error err;
  for (int i = 0; i < NQ; ++i) {
    random_query(&qs[i], &seed);
    ptrs[i] = &qs[i];
    outs[i] = malloc(50000 * sizeof **outs);
  }
  qs[7] = qs[2]; /* the same query twice in one batch */
  for (int threads = 1; threads <= 3; ++threads) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    assert_int_equal(chr_scan_topk_many(idx, ptrs, NQ, want, outs, counts, &err), CHR_OK);
    for (int i = 0; i < NQ; ++i) {
      int n = chr_scan_topk(idx, &qs[i], want[i], ref, &err);
      assert_int_equal(counts[i], n);
      assert_memory_equal(outs[i], ref, (size_t)n * sizeof *ref);
    }
  }
  for (int i = 0; i < NQ; ++i) free(outs[i]);
  free(ref);
  free(dense);
  chr_index_destroy(&idx);
}

static void test_empty(void **state) {
  (void)state;
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(0, 0, &idx, &err), CHR_OK);
  chr_qhist q = {.count = 1, .bin = {3}, .mass = {1.0}};
  chr_hit out[4];
  assert_int_equal(chr_scan_topk(idx, &q, 4, out, &err), 0);
  assert_int_equal(chr_scan_topk(idx, &q, 0, out, &err), 0);
  chr_index_destroy(&idx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_basics),
      cmocka_unit_test(test_topk_vs_brute_force),
      cmocka_unit_test(test_score_equals_block),
      cmocka_unit_test(test_threads_deterministic),
      cmocka_unit_test(test_many_equals_single),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
