/* The single-shard two-stage search (fast, Sinkhorn and exact EMD) against an obvious reference:
 * score every image densely, sort, rerank the top R one by one, sort again. Also: batch_size
 * and thread count never change the answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/search.h"
#include "chromatica/sinkhorn.h"
#include "test_random.h"

enum { ROWS = 3000 };


static float *random_rows(uint64_t seed) {
  float *rows = calloc((size_t)ROWS * CHR_BINS, sizeof *rows);
  for (int r = 0; r < ROWS; ++r) {
    double total = 0.0;
    for (int j = 0; j < 60; ++j) {
      int bin = (int)(next(&seed) % CHR_BINS);
      float v = (float)(next(&seed) % 1000 + 1);
      rows[(size_t)r * CHR_BINS + bin] += v;
    }
    for (int b = 0; b < CHR_BINS; ++b) total += rows[(size_t)r * CHR_BINS + b];
    for (int b = 0; b < CHR_BINS; ++b) rows[(size_t)r * CHR_BINS + b] /= (float)total;
  }
  return rows;
}

static chr_qhist query_of(const char *hex_a, const char *hex_b) {
  chr_rgb rgb[2];
  chr_lab lab[2];
  chr_hex_parse(hex_a, &rgb[0], NULL);
  chr_hex_parse(hex_b, &rgb[1], NULL);
  lab[0] = chr_rgb_to_lab(rgb[0]);
  lab[1] = chr_rgb_to_lab(rgb[1]);
  double w[2] = {0.3, 0.7};
  chr_qhist q;
  assert_int_equal(chr_qhist_build(lab, w, 2, 1.0, &q, NULL), CHR_OK);
  return q;
}

static int compare_match(const void *a, const void *b) { return chr_match_compare(a, b); }

/* The reference: dense scores over all 1152 bins, full sort, rerank top R, full sort. */
static int reference_search(const float *rows, const chr_qhist *q, const chr_search_options *o,
                            chr_match *out) {
  chr_match *all = malloc(ROWS * sizeof *all);
  double dense_q[CHR_BINS] = {0};
  for (int k = 0; k < q->count; ++k) dense_q[q->bin[k]] = q->mass[k];
  for (int r = 0; r < ROWS; ++r) {
    double s = 0.0;
    for (int b = 0; b < CHR_BINS; ++b) s += sqrt(dense_q[b] * rows[(size_t)r * CHR_BINS + b]);
    all[r] = (chr_match){r, 2.0 - 2.0 * s, 2.0 - 2.0 * s};
  }
  qsort(all, ROWS, sizeof *all, compare_match);
  int want = chr_search_candidates(o, ROWS);
  chr_sinkhorn_params params = {o->sinkhorn_epsilon, o->sinkhorn_tol, o->sinkhorn_max_iter};
  for (int i = 0; i < want && !o->fast_mode; ++i) {
    uint16_t bins[CHR_BINS];
    float mass[CHR_BINS];
    int n = 0;
    for (int b = 0; b < CHR_BINS; ++b) {
      float v = rows[(size_t)all[i].row * CHR_BINS + b];
      if (v > 0) {
        bins[n] = (uint16_t)b;
        mass[n++] = v;
      }
    }
    if (o->metric == CHR_METRIC_EMD) {
      assert_int_equal(chr_emd(q, bins, mass, n, &all[i].distance, NULL), CHR_OK);
    } else {
      chr_sinkhorn_result res;
      assert_int_equal(chr_sinkhorn(q, bins, mass, n, &params, &res, NULL), CHR_OK);
      all[i].distance = res.distance;
    }
  }
  qsort(all, (size_t)want, sizeof *all, compare_match);
  int count = want < o->k ? want : o->k;
  memcpy(out, all, (size_t)count * sizeof *out);
  free(all);
  return count;
}

static void shard_search_matches_reference(void **state) {
  (void)state;
  float *rows = random_rows(11);
  chr_index *idx = NULL;
  assert_int_equal(chr_index_create(ROWS, 0, &idx, NULL), CHR_OK);
  assert_int_equal(chr_index_append(idx, rows, ROWS, NULL), CHR_OK);
  chr_qhist q = query_of("ea6a81", "f6d727");
  for (int mode = 0; mode < 3; ++mode) { /* fast, sinkhorn, emd */
    chr_search_options o = chr_search_options_default();
    o.k = 15;
    o.rerank_k = 60;
    o.fast_mode = mode == 0;
    o.metric = mode == 2 ? CHR_METRIC_EMD : CHR_METRIC_SINKHORN;
    chr_match expect[200], got[200];
    int n_expect = reference_search(rows, &q, &o, expect);
    int n_got = 0;
    assert_int_equal(chr_search_shard(idx, &q, &o, got, &n_got, NULL, NULL, NULL), CHR_OK);
    assert_int_equal(n_got, n_expect);
    for (int i = 0; i < n_got; ++i) {
      assert_int_equal(got[i].row, expect[i].row);
      assert_true(fabs(got[i].distance - expect[i].distance) <= 1e-9 * fabs(expect[i].distance) + 1e-12);
      assert_true(fabs(got[i].ann_score - expect[i].ann_score) <= 1e-12);
    }
  }
  chr_index_destroy(&idx);
  free(rows);
}

static void batch_size_and_threads_never_change_results(void **state) {
  (void)state;
  float *rows = random_rows(5);
  chr_index *idx = NULL;
  assert_int_equal(chr_index_create(ROWS, 0, &idx, NULL), CHR_OK);
  assert_int_equal(chr_index_append(idx, rows, ROWS, NULL), CHR_OK);
  chr_qhist q = query_of("00ff00", "ff00ff");
  chr_search_options o = chr_search_options_default();
  chr_match first[10], again[10];
  int n_first = 0, n_again = 0;
  omp_set_num_threads(1);
  o.batch_size = 1;
  assert_int_equal(chr_search_shard(idx, &q, &o, first, &n_first, NULL, NULL, NULL), CHR_OK);
  omp_set_num_threads(3);
  o.batch_size = 50;
  assert_int_equal(chr_search_shard(idx, &q, &o, again, &n_again, NULL, NULL, NULL), CHR_OK);
  assert_int_equal(n_first, n_again);
  assert_memory_equal(first, again, (size_t)n_first * sizeof *first);
  chr_index_destroy(&idx);
  free(rows);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shard_search_matches_reference),
      cmocka_unit_test(batch_size_and_threads_never_change_results),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
