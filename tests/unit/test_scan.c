/* The shard index and the exact stage-1 scan (spec section 4), checked against a dense
 * brute-force Hellinger over all 1152 bins. */
#define _POSIX_C_SOURCE 200809L
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
#include "../../src/core/scan_kernels.h"
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

/* Every binary16 converts to float and back unchanged; floats round to the nearest half, ties
 * to even: checked at and one float ulp either side of every midpoint between neighbours. */
static void test_half_conversions(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    float f = chr_half_to_float((uint16_t)h);
    if (isnan(f)) {
      assert_true(isnan(chr_half_to_float(chr_half_from_float(f))));
      continue;
    }
    assert_int_equal(chr_half_from_float(f), h);
  }
  assert_true(chr_half_to_float(0x3c00) == 1.0f && chr_half_to_float(0x0001) == 0x1p-24f);
  assert_true(chr_half_to_float(0x7bff) == 65504.0f && isinf(chr_half_to_float(0x7c00)));
  for (uint16_t a = 0; a < 0x7bff; ++a) { /* positive finite neighbours a, a + 1 */
    float lo = chr_half_to_float(a), hi = chr_half_to_float((uint16_t)(a + 1));
    float mid = lo + (hi - lo) / 2.0f; /* exact: 12 significant bits */
    uint16_t even = (a & 1u) ? (uint16_t)(a + 1) : a;
    assert_int_equal(chr_half_from_float(mid), even);
    assert_int_equal(chr_half_from_float(nextafterf(mid, 0.0f)), a);
    assert_int_equal(chr_half_from_float(nextafterf(mid, INFINITY)), a + 1);
    assert_int_equal(chr_half_from_float(-mid), 0x8000u | even);
  }
  assert_int_equal(chr_half_from_float(65519.99f), 0x7bff);
  assert_int_equal(chr_half_from_float(65520.0f), 0x7c00);
  assert_int_equal(chr_half_from_float(1e30f), 0x7c00);
  assert_int_equal(chr_half_from_float(0x1p-26f), 0);
  assert_int_equal(chr_half_from_float(1e-45f), 0);
}

static void sqrt_roots(const float *x, float *root) {
  for (int b = 0; b < CHR_BINS; ++b)
    root[b] = x[b] == 0.0f ? 0.0f : chr_half_to_float(chr_half_from_float((float)sqrt((double)x[b])));
}

/* Each kernel level's approximate sums stay within half the margin of chr_scan_score's double
 * sum (the bound the scan's exactness rests on), masks match `acc >= admit`, and widening is
 * exact. Rows: random, one-bin (sum 1 on a query bin), and dense uniform ones. */
static void test_kernels_within_margin(void **state) {
  (void)state;
  uint64_t seed = 31;
  enum { G = CHR_SCAN_GROUP };
  float *rows = malloc((size_t)G * CHR_BINS * sizeof *rows);
  float *roots = malloc((size_t)CHR_QUERY_MAX_BINS * G * sizeof *roots);
  float *root = malloc(CHR_BINS * sizeof *root);
  uint16_t *halves = malloc(0x10000u * sizeof *halves);
  float *wide = malloc(0x10000u * sizeof *wide);
  assert_true(rows && roots && root && halves && wide);
  for (uint32_t h = 0; h < 0x10000u; ++h) halves[h] = (uint16_t)h;
  int levels = 0;
  for (int level = CHR_KERNELS_PORTABLE; level <= CHR_KERNELS_AVX512; ++level) {
    if (!chr_scan_kernels_supported((chr_kernel_level)level)) continue;
    ++levels;
    chr_scan_kernels kern = chr_scan_kernels_at((chr_kernel_level)level);
    assert_int_equal(kern.level, level);
    kern.widen(wide, halves, 0x10000 - 3); /* odd length: the vector tails too */
    for (uint32_t h = 0; h < 0x10000u - 3; ++h) {
      float want = chr_half_to_float((uint16_t)h);
      assert_true(isnan(want) ? isnan(wide[h]) : memcmp(&want, &wide[h], sizeof want) == 0);
    }
    double worst = 0.0;
    for (int round = 0; round < 200; ++round) {
      chr_qhist q;
      random_query(&q, &seed);
      double max_sum = 0.0;
      for (int r = 0; r < G; ++r) {
        float *x = rows + (size_t)r * CHR_BINS;
        if (r % 3 == 1) { /* all mass on one of the query's bins */
          memset(x, 0, CHR_BINS * sizeof *x);
          x[q.bin[next(&seed) % (uint64_t)q.count]] = 1.0f;
        } else if (r % 7 == 2) {
          for (int b = 0; b < CHR_BINS; ++b) x[b] = 1.0f / CHR_BINS;
        } else {
          random_row(x, 1 + (int)(next(&seed) % 400), &seed);
        }
        double sum = 0.0;
        for (int b = 0; b < CHR_BINS; ++b) sum += x[b];
        if (sum > max_sum) max_sum = sum;
        sqrt_roots(x, root);
        for (int k = 0; k < q.count; ++k) roots[(size_t)k * G + (size_t)r] = root[q.bin[k]];
      }
      int slot[CHR_QUERY_MAX_BINS];
      float w[CHR_QUERY_MAX_BINS];
      for (int k = 0; k < q.count; ++k) slot[k] = k, w[k] = (float)sqrt(q.mass[k]);
      float acc[G];
      float admit = (float)uniform(&seed);
      uint64_t mask = kern.group(roots, G, slot, w, q.count, admit, acc);
      double half_margin = chr_scan_margin(&q, max_sum) / 2.0;
      for (int r = 0; r < G; ++r) {
        const float *x = rows + (size_t)r * CHR_BINS;
        double s = 0.0;
        for (int k = 0; k < q.count; ++k) s += sqrt(q.mass[k]) * sqrt((double)x[q.bin[k]]);
        double err = fabs((double)acc[r] - s);
        assert_true(err <= half_margin);
        if (err / half_margin > worst) worst = err / half_margin;
        assert_int_equal((mask >> r) & 1u, acc[r] >= admit);
      }
    }
    /* The bound is not vacuous: the errors use a visible part of it. */
    assert_true(worst > 0.01);
  }
  assert_true(levels >= 1);
  free(rows);
  free(roots);
  free(root);
  free(halves);
  free(wide);
}

/* Rows that differ from a few base rows by about one binary16 step or one float ulp per bin:
 * closer than the approximation can tell apart, so only the exact re-check orders them (with a
 * zero margin this test fails). The top must equal the
 * definition's at every kernel level (CHR_SCAN_KERNELS) and thread count. */
static void test_near_ties_exact(void **state) {
  (void)state;
  uint64_t seed = 77;
  const int64_t rows = 70000, first = 5; /* more than one 65536-row block */
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(rows, first, &idx, &err), CHR_OK);
  enum { BASES = 6 };
  float *base = malloc((size_t)BASES * CHR_BINS * sizeof *base);
  float *chunk = malloc((size_t)1000 * CHR_BINS * sizeof *chunk);
  assert_true(base && chunk);
  for (int i = 0; i < BASES; ++i) random_row(base + (size_t)i * CHR_BINS, 60, &seed);
  for (int64_t r0 = 0; r0 < rows; r0 += 1000) {
    for (int r = 0; r < 1000; ++r) {
      float *x = chunk + (size_t)r * CHR_BINS;
      memcpy(x, base + (next(&seed) % BASES) * CHR_BINS, CHR_BINS * sizeof *x);
      for (int b = 0; b < CHR_BINS; ++b) /* within about a binary16 step, or one float ulp */
        if (x[b] != 0.0f)
          x[b] = (r % 2) ? x[b] * (float)(1.0 + (uniform(&seed) - 0.5) * 2e-3)
                         : nextafterf(x[b], (next(&seed) & 1) ? 1.0f : 0.0f);
    }
    assert_int_equal(chr_index_append(idx, chunk, 1000, &err), CHR_OK);
  }
  chr_hit *ref = malloc(2000 * sizeof *ref), *got = malloc(2000 * sizeof *got);
  assert_true(ref && got);
  const char *levels[] = {"portable", "avx2", "avx512"};
  for (int round = 0; round < 3; ++round) {
    chr_qhist q = {0}; /* the first 40 bins of a base row: many rows score near each other */
    const float *from = base + (size_t)round * CHR_BINS;
    double total = 0.0;
    for (int b = 0; b < CHR_BINS && q.count < CHR_QUERY_MAX_BINS; ++b)
      if (from[b] != 0.0f) {
        q.bin[q.count] = b;
        total += q.mass[q.count++] = from[b];
      }
    for (int k = 0; k < q.count; ++k) q.mass[k] /= total;
    const int want = round == 0 ? 1 : (round == 1 ? 300 : 2000);
    chr_topk t;
    chr_topk_init(&t, ref, want);
    for (int64_t r = 0; r < rows; ++r) chr_topk_push(&t, chr_scan_score(idx, &q, r), first + r);
    assert_int_equal(chr_topk_finish(&t), want);
    int runs = 0;
    for (int level = CHR_KERNELS_PORTABLE; level <= CHR_KERNELS_AVX512; ++level) {
      if (!chr_scan_kernels_supported((chr_kernel_level)level)) continue;
      setenv("CHR_SCAN_KERNELS", levels[level], 1);
      for (int threads = 1; threads <= 2; ++threads) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        assert_int_equal(chr_scan_topk(idx, &q, want, got, &err), want);
        assert_memory_equal(got, ref, (size_t)want * sizeof *ref);
        ++runs;
      }
    }
    unsetenv("CHR_SCAN_KERNELS");
    assert_true(runs >= 2);
  }
  setenv("CHR_SCAN_KERNELS", "avx9000", 1);
  chr_qhist q = {.count = 1, .bin = {3}, .mass = {1.0}};
  assert_int_equal(chr_scan_topk(idx, &q, 4, got, &err), -1);
  assert_int_equal(err.code, CHR_EINVAL);
  assert_non_null(strstr(err.message, "avx9000"));
  unsetenv("CHR_SCAN_KERNELS");
  free(base);
  free(chunk);
  free(ref);
  free(got);
  chr_index_destroy(&idx);
}

/* Several row blocks full of exact ties: the result must not depend on threads. */
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

/* The many-query scan equals one scan per query bit for bit and the definition (every row's
 * chr_scan_score, then the row tie-break), for any mix of wants (0, small, more than the rows)
 * and thread counts, with rows not a multiple of any chunk or block. The single scan is the
 * many scan with one query, so the definition is the check that is independent of both. */
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
  chr_hit *definition[NQ];
  int defined[NQ];
  for (int i = 0; i < NQ; ++i) {
    int cap = want[i] < rows ? want[i] : (int)rows;
    definition[i] = malloc((size_t)(cap > 0 ? cap : 1) * sizeof **definition);
    assert_non_null(definition[i]);
    chr_topk t;
    chr_topk_init(&t, definition[i], cap);
    for (int64_t r = 0; cap > 0 && r < rows; ++r)
      chr_topk_push(&t, chr_scan_score(idx, &qs[i], r), first + r);
    defined[i] = chr_topk_finish(&t);
  }
  for (int threads = 1; threads <= 3; ++threads) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    assert_int_equal(chr_scan_topk_many(idx, ptrs, NQ, want, outs, counts, &err), CHR_OK);
    for (int i = 0; i < NQ; ++i) {
      int n = chr_scan_topk(idx, &qs[i], want[i], ref, &err);
      assert_int_equal(counts[i], n);
      assert_memory_equal(outs[i], ref, (size_t)n * sizeof *ref);
      assert_int_equal(counts[i], defined[i]);
      assert_memory_equal(outs[i], definition[i], (size_t)defined[i] * sizeof *ref);
    }
  }
  for (int i = 0; i < NQ; ++i) free(outs[i]), free(definition[i]);
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
      cmocka_unit_test(test_half_conversions),
      cmocka_unit_test(test_kernels_within_margin),
      cmocka_unit_test(test_near_ties_exact),
      cmocka_unit_test(test_threads_deterministic),
      cmocka_unit_test(test_many_equals_single),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
