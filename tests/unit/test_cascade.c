/* The cascade's cheap step (cascade.h, issue 14): chr_cascade_select equals the brute-force
 * top by (chr_cascade_bound_row, row) bit for bit, for several queries at once and any thread
 * count; the index's per-image summaries (centroid, marginal distributions) equal their
 * definitions; the tighter bound stays below the exact EMD (it is certified), and the cheap
 * bound exceeds it by no more than its documented rounding (binary16 roots, 1/255 marginals). */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/batch.h"
#include "chromatica/cascade.h"
#include "chromatica/color.h"
#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/search.h"
#include "test_random.h"

#define ROWS 3000
#define QUERIES 6

static chr_index *random_index(int rows, int64_t first, uint64_t seed, float **dense) {
  uint64_t s = seed;
  float *all = malloc((size_t)rows * CHR_BINS * sizeof *all);
  assert_non_null(all);
  for (int r = 0; r < rows; ++r) random_blob_row(all + (size_t)r * CHR_BINS, &s);
  chr_index *idx = NULL;
  chr_error err;
  assert_int_equal(chr_index_create(rows, first, &idx, &err), CHR_OK);
  assert_int_equal(chr_index_append(idx, all, rows, &err), CHR_OK);
  *dense = all;
  return idx;
}

static void random_query(chr_qhist *q, uint64_t *s) {
  assert_int_equal(random_rgb_query(q, s), CHR_OK);
}

static int hit_order(const void *a, const void *b) {
  return chr_hit_compare(a, b);
}

static void test_select_matches_brute_force(void **state) {
  (void)state;
  float *dense = NULL;
  chr_index *idx = random_index(ROWS, 0, 77, &dense);
  uint64_t s = 4242;
  chr_cascade_query cq[QUERIES];
  const chr_cascade_query *cqs[QUERIES];
  int want[QUERIES] = {1, 10, 200, 800, ROWS, ROWS + 500}, counts[QUERIES];
  chr_hit *out[QUERIES], *brute = malloc(ROWS * sizeof *brute);
  for (int q = 0; q < QUERIES; ++q) {
    chr_qhist h;
    random_query(&h, &s);
    chr_cascade_init(&h, &cq[q]);
    cqs[q] = &cq[q];
    out[q] = malloc((size_t)want[q] * sizeof *out[q]);
  }
  for (int threads = 1; threads <= 3; ++threads) {
    omp_set_num_threads(threads);
    chr_error err;
    assert_int_equal(chr_cascade_select(idx, cqs, QUERIES, want, out, counts, &err), CHR_OK);
    for (int q = 0; q < QUERIES; ++q) {
      for (int r = 0; r < ROWS; ++r) brute[r] = (chr_hit){chr_cascade_bound_row(idx, &cq[q], r), r};
      qsort(brute, ROWS, sizeof *brute, hit_order);
      int expect = want[q] < ROWS ? want[q] : ROWS;
      assert_int_equal(counts[q], expect);
      for (int e = 0; e < expect; ++e) {
        assert_int_equal(out[q][e].row, brute[e].row);
        assert_memory_equal(&out[q][e].score, &brute[e].score, sizeof(double));
      }
    }
  }
  for (int q = 0; q < QUERIES; ++q) free(out[q]);
  free(brute);
  free(dense);
  chr_index_destroy(&idx);
}

/* The expected top of query c by brute force: every row's chr_cascade_bound_row, sorted. */
static int brute_top(const chr_index *idx, const chr_cascade_query *c, int want, chr_hit *all) {
  int rows = (int)chr_index_rows(idx);
  int64_t first = chr_index_first_row(idx);
  for (int r = 0; r < rows; ++r) all[r] = (chr_hit){chr_cascade_bound_row(idx, c, r), first + r};
  qsort(all, (size_t)rows, sizeof *all, hit_order);
  return want < rows ? want : rows;
}

/* A wave of 1, an odd number and the most queries a wave holds (CHR_MAX_CONCURRENT_MAX), with
 * pool sizes from 1 to beyond the rows, on a shard whose global rows start at 1000: every
 * query's list equals the brute-force top (chr_cascade_bound_row, the slow reference) and the
 * query's list when selected alone, bit for bit, at 1 and 3 threads; chr_cascade_finish equals
 * chr_cascade_bound_tight and chr_scan_score row by row. */
static void test_wave_matches_reference(void **state) {
  (void)state;
  enum { WAVE_MAX = CHR_MAX_CONCURRENT_MAX };
  float *dense = NULL;
  chr_index *idx = random_index(ROWS, 1000, 4711, &dense);
  uint64_t s = 2718;
  static chr_cascade_query cq[WAVE_MAX];
  const chr_cascade_query *cqs[WAVE_MAX];
  const int sizes[3] = {1, 7, WAVE_MAX}, pools[5] = {1, 10, 200, 800, ROWS + 3};
  int want[WAVE_MAX], counts[WAVE_MAX], alone_count = 0;
  chr_hit *out[WAVE_MAX], *brute = malloc(ROWS * sizeof *brute), *alone = NULL;
  double *tight = malloc(ROWS * sizeof *tight), *ann = malloc(ROWS * sizeof *ann);
  chr_cascade_tight *tables = malloc(sizeof *tables);
  for (int q = 0; q < WAVE_MAX; ++q) {
    chr_qhist h;
    random_query(&h, &s);
    chr_cascade_init(&h, &cq[q]);
    cqs[q] = &cq[q];
    want[q] = pools[(q * 3) % 5];
    out[q] = malloc((size_t)want[q] * sizeof *out[q]);
  }
  alone = malloc((ROWS + 3) * sizeof *alone);
  for (int threads = 1; threads <= 3; threads += 2) {
    omp_set_num_threads(threads);
    for (int w = 0; w < 3; ++w) {
      chr_error err;
      int first = w == 2 ? 0 : 5 * w; /* waves start at different queries */
      assert_int_equal(chr_cascade_select(idx, cqs + first, sizes[w], want + first, out + first,
                                          counts + first, &err),
                       CHR_OK);
      for (int q = first; q < first + sizes[w]; ++q) {
        int expect = brute_top(idx, &cq[q], want[q], brute);
        assert_int_equal(chr_cascade_select(idx, cqs + q, 1, want + q, &alone, &alone_count, &err),
                         CHR_OK);
        assert_int_equal(counts[q], expect);
        assert_int_equal(alone_count, expect);
        for (int e = 0; e < expect; ++e) {
          assert_int_equal(out[q][e].row, brute[e].row);
          assert_memory_equal(&out[q][e].score, &brute[e].score, sizeof(double));
          assert_memory_equal(&alone[e], &out[q][e], sizeof(chr_hit));
        }
        chr_cascade_tight_init(&cq[q], tables);
        chr_cascade_finish(idx, &cq[q], tables, out[q], counts[q], tight, ann);
        for (int e = 0; e < counts[q]; ++e) {
          const uint16_t *bins = NULL;
          const float *mass = NULL;
          int m = chr_index_support(idx, out[q][e].row - 1000, &bins, &mass);
          double t = chr_cascade_bound_tight(&cq[q], tables, bins, mass, m);
          t = t > out[q][e].score ? t : out[q][e].score;
          double a = chr_scan_score(idx, &cq[q].q, out[q][e].row - 1000);
          assert_memory_equal(&tight[e], &t, sizeof t);
          assert_memory_equal(&ann[e], &a, sizeof a);
        }
      }
    }
  }
  for (int q = 0; q < WAVE_MAX; ++q) free(out[q]);
  free(alone), free(brute), free(tight), free(ann), free(tables), free(dense);
  chr_index_destroy(&idx);
}

static void test_summaries(void **state) {
  (void)state;
  float *dense = NULL;
  chr_index *idx = random_index(200, 0, 99, &dense);
  for (int r = 0; r < 200; ++r) {
    const float *x = dense + (size_t)r * CHR_BINS;
    double total = 0.0, mean[3] = {0.0, 0.0, 0.0}, marginal[3][12] = {{0.0}};
    for (int t = 0; t < CHR_BINS; ++t) total += x[t];
    for (int t = 0; t < CHR_BINS; ++t) {
      chr_lab c = chr_grid_bin_centre(t);
      int l, a, b;
      chr_grid_coords(t, &l, &a, &b);
      double w = x[t] / total;
      mean[0] += w * c.l, mean[1] += w * c.a, mean[2] += w * c.b;
      marginal[0][l] += w, marginal[1][a] += w, marginal[2][b] += w;
    }
    for (int axis = 0; axis < 3; ++axis)
      assert_true(fabs(chr_index_centroid_column(idx, axis)[r] - mean[axis]) < 1e-4);
    const int n[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
    for (int axis = 0, k = 0; axis < 3; ++axis) {
      double cdf = 0.0;
      for (int level = 0; level < n[axis] - 1; ++level, ++k) {
        cdf += marginal[axis][level];
        assert_true(fabs(chr_index_cdf_column(idx, k)[r] / 255.0 - cdf) <= 0.5 / 255 + 1e-6);
      }
    }
  }
  free(dense);
  chr_index_destroy(&idx);
}

static void test_bounds_against_emd(void **state) {
  (void)state;
  float *dense = NULL;
  chr_index *idx = random_index(300, 0, 5150, &dense);
  uint64_t s = 31337;
  chr_cascade_tight *tight = malloc(sizeof *tight);
  double worst_excess = 0.0;
  for (int q = 0; q < 8; ++q) {
    chr_qhist h;
    chr_cascade_query cq;
    random_query(&h, &s);
    chr_cascade_init(&h, &cq);
    chr_cascade_tight_init(&cq, tight);
    for (int r = 0; r < 300; ++r) {
      const uint16_t *bins = NULL;
      const float *mass = NULL;
      int m = chr_index_support(idx, r, &bins, &mass);
      double emd = 0.0;
      chr_error err;
      assert_int_equal(chr_emd(&h, bins, mass, m, &emd, &err), CHR_OK);
      double tb = chr_cascade_bound_tight(&cq, tight, bins, mass, m);
      assert_true(tb <= emd * (1.0 + 1e-9) + 1e-9);
      double cheap = chr_cascade_bound_row(idx, &cq, r) - emd;
      worst_excess = cheap > worst_excess ? cheap : worst_excess;
      /* The 1/255 marginals may overstate a marginal distance by one unit per level (at most
       * 11 x 203/12/255 = 0.73 Delta E); the binary16 masses by a relative 1e-3. */
      assert_true(cheap <= 0.75 + 2e-3 * emd);
    }
  }
  print_message("cheap bound: largest excess over the EMD %.3f Delta E\n", worst_excess);
  free(tight);
  free(dense);
  chr_index_destroy(&idx);
}

/* auto: bounds up to CHR_BOUNDS_AUTO_MAX_IMAGES, cascade above, for exact EMD outside fast mode;
 * hellinger otherwise; an explicit stage is kept. */
static void test_auto_resolves(void **state) {
  (void)state;
  chr_search_options o = chr_search_options_default();
  chr_search_options_resolve(&o, CHR_BOUNDS_AUTO_MAX_IMAGES);
  assert_int_equal(o.candidate_stage, CHR_STAGE_BOUNDS);
  o.candidate_stage = CHR_STAGE_AUTO;
  chr_search_options_resolve(&o, CHR_BOUNDS_AUTO_MAX_IMAGES + 1);
  assert_int_equal(o.candidate_stage, CHR_STAGE_CASCADE);
  assert_false(chr_search_uses_stage1(&o));
  o.candidate_stage = CHR_STAGE_AUTO;
  o.fast_mode = 1;
  chr_search_options_resolve(&o, 1000000);
  assert_int_equal(o.candidate_stage, CHR_STAGE_HELLINGER);
  assert_true(chr_search_uses_stage1(&o));
  o = chr_search_options_default();
  o.metric = CHR_METRIC_SINKHORN;
  chr_search_options_resolve(&o, 1000000);
  assert_int_equal(o.candidate_stage, CHR_STAGE_HELLINGER);
  o = chr_search_options_default();
  o.candidate_stage = CHR_STAGE_CASCADE;
  chr_search_options_resolve(&o, 10);
  assert_int_equal(o.candidate_stage, CHR_STAGE_CASCADE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_select_matches_brute_force),
      cmocka_unit_test(test_wave_matches_reference),
      cmocka_unit_test(test_summaries),
      cmocka_unit_test(test_bounds_against_emd),
      cmocka_unit_test(test_auto_resolves),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
