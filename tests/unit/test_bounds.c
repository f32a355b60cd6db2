/* Lower bounds on the exact EMD (bounds.h, spec section 5): every bound stays below chr_emd on
 * random, near-identical and far-apart pairs; slow references from the definitions; the
 * all-rows OpenMP path against the per-row dot bound; the pruning rule's rounding slack.
 *
 * Observed tightness (printed by test_never_above_emd; seed 2024, the 355 of 420 pairs with
 * emd > 1e-6): mean best/emd 0.873 (relaxed 0.838, dot 0.776, centroid 0.663); by kind random
 * 0.844, skewed masses 0.852, query + scatter 0.843, far apart 0.891, 1-3 bins 0.930. The
 * largest (bound - emd) / (1 + emd) seen is 8e-16, i.e. rounding only. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/bounds.h"
#include "chromatica/color.h"
#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/query.h"
#include "chromatica/scan.h"
#include "test_random.h"

#define N CHR_BINS
#define MAX_SUPPORT 400

/* What a query was built from, kept so a failure can name its input. */
typedef struct {
  int ncol, weighted;
  chr_lab col[CHR_QUERY_MAX_COLORS];
  double w[CHR_QUERY_MAX_COLORS];
  double sharpen;
  chr_qhist q;
} query_case;

static void random_query(query_case *c, uint64_t *s) {
  static const double sharpens[] = {1.0, 1.0, 2.0, 5.0};
  c->ncol = 1 + (int)(next(s) % CHR_QUERY_MAX_COLORS);
  for (int k = 0; k < c->ncol; ++k) {
    if (next(s) % 3 == 0) {
      c->col[k] = (chr_lab){CHR_GRID_L_MIN + uniform(s) * (CHR_GRID_L_MAX - CHR_GRID_L_MIN),
                            CHR_GRID_A_MIN + uniform(s) * (CHR_GRID_A_MAX - CHR_GRID_A_MIN),
                            CHR_GRID_B_MIN + uniform(s) * (CHR_GRID_B_MAX - CHR_GRID_B_MIN)};
    } else {
      chr_rgb rgb = {(uint8_t)(next(s) & 255), (uint8_t)(next(s) & 255), (uint8_t)(next(s) & 255)};
      c->col[k] = chr_rgb_to_lab(rgb);
    }
    c->w[k] = uniform(s) + 0.05;
  }
  c->weighted = (int)(next(s) % 2);
  c->sharpen = sharpens[next(s) % 4];
  chr_error err;
  assert_int_equal(
      chr_qhist_build(c->col, c->weighted ? c->w : NULL, c->ncol, c->sharpen, &c->q, &err), CHR_OK);
}

/* n distinct bins drawn from pool[0 .. pool_n), written ascending. */
static void pick_bins(const int *pool, int pool_n, int n, uint16_t *out, uint64_t *s) {
  unsigned char used[N] = {0};
  for (int have = 0; have < n;) {
    int b = pool[next(s) % (uint64_t)pool_n];
    if (!used[b]) used[b] = 1, ++have;
  }
  int k = 0;
  for (int b = 0; b < N; ++b)
    if (used[b]) out[k++] = (uint16_t)b;
}

/* Scales raw masses the way stored float rows come out: L1-normalised in float, or off by
 * 1e-3 either way, or left unnormalised. */
static void set_masses(const double *raw, float *mass, int n, uint64_t *s) {
  static const double scales[] = {1.0, 0.999, 1.001, 0.0};
  double scale = scales[next(s) % 4], sum = 0.0;
  for (int j = 0; j < n; ++j) sum += raw[j];
  for (int j = 0; j < n; ++j) mass[j] = (float)(scale == 0.0 ? raw[j] : raw[j] / sum * scale);
}

/* An image support for q of one of six kinds (mode); returns its size. */
static int make_image(int mode, const chr_qhist *q, const chr_emd_bounds *b, uint16_t *bins,
                      float *mass, uint64_t *s) {
  int all[N], far[N];
  double raw[MAX_SUPPORT];
  int n = 0;
  for (int t = 0; t < N; ++t) all[t] = t;
  if (mode == 0 || mode == 1 || mode == 5) { /* random bins; uniform, skewed, tiny supports */
    n = mode == 5 ? 1 + (int)(next(s) % 3) : 1 + (int)(next(s) % MAX_SUPPORT);
    pick_bins(all, N, n, bins, s);
    for (int j = 0; j < n; ++j) {
      double u = uniform(s);
      raw[j] = mode == 1 ? u * u * u * u + 1e-7 : u + 1e-3;
    }
  } else if (mode == 2) { /* the query histogram itself, through float */
    n = q->count;
    for (int j = 0; j < n; ++j) bins[j] = (uint16_t)q->bin[j], raw[j] = q->mass[j];
  } else if (mode == 3) { /* the query plus a little mass scattered elsewhere */
    unsigned char used[N] = {0};
    double extra = 0.02 + 0.2 * uniform(s);
    for (int i = 0; i < q->count; ++i) used[q->bin[i]] = 1;
    for (int k = (int)(next(s) % 20); k >= 0; --k) used[next(s) % N] = 1;
    for (int t = 0, i = 0; t < N; ++t) {
      if (!used[t]) continue;
      int in_q = i < q->count && q->bin[i] == t;
      bins[n] = (uint16_t)t;
      raw[n++] = in_q ? (1.0 - extra) * q->mass[i++] : extra * (uniform(s) + 0.1) / 10.0;
    }
  } else { /* far apart: only bins at least half the largest nearest-distance from q */
    double top = 0.0;
    int far_n = 0;
    for (int t = 0; t < N; ++t) top = fmax(top, b->nearest[t]);
    for (int t = 0; t < N; ++t)
      if (b->nearest[t] >= 0.5 * top) far[far_n++] = t;
    n = 1 + (int)(next(s) % (uint64_t)(far_n < MAX_SUPPORT ? far_n : MAX_SUPPORT));
    pick_bins(far, far_n, n, bins, s);
    for (int j = 0; j < n; ++j) raw[j] = uniform(s) + 1e-3;
  }
  set_masses(raw, mass, n, s);
  return n;
}

static void print_case(const char *what, const query_case *c, const uint16_t *bins,
                       const float *mass, int n, double bound, double d) {
  fprintf(stderr, "%s bound %.17g exceeds emd %.17g\n  colours (Lab):", what, bound, d);
  for (int k = 0; k < c->ncol; ++k)
    fprintf(stderr, " (%.17g, %.17g, %.17g)", c->col[k].l, c->col[k].a, c->col[k].b);
  fprintf(stderr, "\n  weights:");
  for (int k = 0; k < c->ncol; ++k)
    fprintf(stderr, " %.17g", c->weighted ? c->w[k] : 1.0 / c->ncol);
  fprintf(stderr, "\n  sharpen %.17g\n  query bins:mass", c->sharpen);
  for (int i = 0; i < c->q.count; ++i) fprintf(stderr, " %d:%.17g", c->q.bin[i], c->q.mass[i]);
  fprintf(stderr, "\n  image support (%d):", n);
  for (int j = 0; j < n; ++j) fprintf(stderr, " %d:%.9g", (int)bins[j], (double)mass[j]);
  fputc('\n', stderr);
}

static int below(double bound, double d) {
  return bound <= d + 1e-9 * (1.0 + d);
}

static void test_never_above_emd(void **state) {
  (void)state;
  enum { PAIRS = 420 };
  static const char *names[4] = {"dot", "centroid", "relaxed", "best"};
  uint64_t s = 2024;
  uint16_t bins[MAX_SUPPORT];
  float mass[MAX_SUPPORT];
  query_case c;
  chr_emd_bounds b;
  chr_error err;
  double ratio_sum[4] = {0}, mode_sum[6] = {0}, worst_excess = -INFINITY;
  int counted = 0, mode_count[6] = {0}, failures = 0;
  for (int t = 0; t < PAIRS; ++t) {
    random_query(&c, &s);
    chr_emd_bounds_init(&c.q, &b);
    int n = make_image(t % 6, &c.q, &b, bins, mass, &s);
    double d = -1.0;
    assert_int_equal(chr_emd(&c.q, bins, mass, n, &d, &err), CHR_OK);
    double v[4] = {chr_emd_bound_dot(&b, bins, mass, n), chr_emd_bound_centroid(&b, bins, mass, n),
                   chr_emd_bound_relaxed(&b, bins, mass, n), chr_emd_bound_best(&b, bins, mass, n)};
    assert_true(v[2] >= v[0]);
    assert_true(v[3] == (v[2] > v[1] ? v[2] : v[1]));
    for (int k = 0; k < 4; ++k) {
      assert_true(v[k] >= 0.0 && isfinite(v[k]));
      worst_excess = fmax(worst_excess, (v[k] - d) / (1.0 + d));
      if (!below(v[k], d)) {
        fprintf(stderr, "pair %d (mode %d): ", t, t % 6);
        print_case(names[k], &c, bins, mass, n, v[k], d);
        ++failures;
      }
    }
    if (d > 1e-6) {
      for (int k = 0; k < 4; ++k) ratio_sum[k] += v[k] / d;
      mode_sum[t % 6] += v[3] / d, ++mode_count[t % 6], ++counted;
    }
  }
  printf(
      "bounds vs emd over %d pairs: mean tightness best/emd %.4f (relaxed %.4f, centroid %.4f,"
      " dot %.4f) over the %d pairs with emd > 1e-6; max (bound - emd)/(1 + emd) %.3g\n",
      PAIRS, ratio_sum[3] / counted, ratio_sum[2] / counted, ratio_sum[1] / counted,
      ratio_sum[0] / counted, counted, worst_excess);
  printf(
      "best/emd by kind: random %.4f, skewed %.4f, query+scatter %.4f, far %.4f, 1-3 bins %.4f"
      " (near-identical pairs have emd ~1e-8 and are left out)\n",
      mode_sum[0] / mode_count[0], mode_sum[1] / mode_count[1], mode_sum[3] / mode_count[3],
      mode_sum[4] / mode_count[4], mode_sum[5] / mode_count[5]);
  if (failures) fail_msg("%d bounds exceed the exact EMD (inputs above)", failures);
}

static void test_slow_references(void **state) {
  (void)state;
  uint64_t s = 31337;
  uint16_t bins[MAX_SUPPORT];
  float mass[MAX_SUPPORT];
  query_case c;
  chr_emd_bounds b;
  for (int t = 0; t < 120; ++t) {
    random_query(&c, &s);
    const chr_qhist *q = &c.q;
    chr_emd_bounds_init(q, &b);
    assert_memory_equal(&b.q, q, sizeof *q);
    for (int x = 0; x < N; ++x) {
      double m = INFINITY;
      for (int i = 0; i < q->count; ++i) m = fmin(m, chr_grid_cost(q->bin[i], x));
      if (b.nearest[x] != m)
        fail_msg("query %d, bin %d: nearest %.17g, brute force %.17g", t, x, b.nearest[x], m);
    }
    int n = make_image(t % 6, q, &b, bins, mass, &s);

    /* dot: each image unit of mass goes at least to the query's nearest bin. */
    double total = 0.0, dot = 0.0, qside = 0.0, qsum = 0.0;
    for (int j = 0; j < n; ++j) total += (double)mass[j];
    for (int j = 0; j < n; ++j) {
      double m = INFINITY;
      for (int i = 0; i < q->count; ++i) m = fmin(m, chr_grid_cost(q->bin[i], bins[j]));
      dot += m * (double)mass[j];
    }
    dot /= total;
    for (int i = 0; i < q->count; ++i) {
      double m = INFINITY;
      for (int j = 0; j < n; ++j) m = fmin(m, chr_grid_cost(q->bin[i], bins[j]));
      qside += q->mass[i] * m;
    }
    double relaxed = fmax(dot, qside);

    /* centroid: distance between the two mass-weighted means of the bin centres. */
    double mq[3] = {0}, mx[3] = {0};
    for (int i = 0; i < q->count; ++i) {
      chr_lab p = chr_grid_bin_centre(q->bin[i]);
      mq[0] += q->mass[i] * p.l, mq[1] += q->mass[i] * p.a, mq[2] += q->mass[i] * p.b;
      qsum += q->mass[i];
    }
    for (int j = 0; j < n; ++j) {
      chr_lab p = chr_grid_bin_centre(bins[j]);
      mx[0] += (double)mass[j] * p.l, mx[1] += (double)mass[j] * p.a,
          mx[2] += (double)mass[j] * p.b;
    }
    double d2 = 0.0;
    for (int k = 0; k < 3; ++k)
      d2 += (mq[k] / qsum - mx[k] / total) * (mq[k] / qsum - mx[k] / total);
    double centroid = sqrt(d2);

    double lib_dot = chr_emd_bound_dot(&b, bins, mass, n);
    double lib_rel = chr_emd_bound_relaxed(&b, bins, mass, n);
    double lib_cen = chr_emd_bound_centroid(&b, bins, mass, n);
    if (!(fabs(lib_dot - dot) <= 1e-12 * dot))
      fail_msg("pair %d: dot %.17g, reference %.17g", t, lib_dot, dot);
    if (!(fabs(lib_rel - relaxed) <= 1e-12 * relaxed))
      fail_msg("pair %d: relaxed %.17g, reference %.17g", t, lib_rel, relaxed);
    /* The centroid subtracts two means of O(100) Delta E; when they nearly cancel (a query
     * against itself) the rounding left is absolute, so the floor is 1e-12 Delta E. */
    if (!(fabs(lib_cen - centroid) <= 1e-12 * fmax(centroid, 1.0)))
      fail_msg("pair %d: centroid %.17g, reference %.17g", t, lib_cen, centroid);
  }
}

/* One random L1-normalised float row (1-300 bins) into x (zeroed by the caller). */
static void random_row(float *x, uint64_t *s) {
  int n = 1 + (int)(next(s) % 300);
  double raw[300], sum = 0.0;
  int at[300];
  for (int j = 0; j < n; ++j) {
    at[j] = (int)(next(s) % N);
    raw[j] = uniform(s) + 1e-4;
  }
  for (int j = 0; j < n; ++j) x[at[j]] = 0.0f, sum += raw[j];
  for (int j = 0; j < n; ++j) x[at[j]] += (float)(raw[j] / sum);
}

static void test_rows_match_dot(void **state) {
  (void)state;
  /* Above the 4096-row threshold in chr_emd_bound_rows, so it runs an OpenMP loop. */
  enum { ROWS = 5000, CHUNK = 1000 };
  uint64_t s = 4242;
  chr_error err;
  chr_index *idx = NULL;
  float *dense = calloc((size_t)ROWS * N, sizeof *dense);
  double *out = malloc(ROWS * sizeof *out), *expect = malloc(ROWS * sizeof *expect);
  uint16_t bins[N];
  float mass[N];
  assert_non_null(dense), assert_non_null(out), assert_non_null(expect);
  for (int r = 0; r < ROWS; ++r) random_row(dense + (size_t)r * N, &s);
  assert_int_equal(chr_index_create(ROWS, 0, &idx, &err), CHR_OK);
  for (int r0 = 0; r0 < ROWS; r0 += CHUNK)
    assert_int_equal(chr_index_append(idx, dense + (size_t)r0 * N, CHUNK, &err), CHR_OK);
  assert_int_equal(chr_index_rows(idx), ROWS);

  const int saved_threads = omp_get_max_threads();
  for (int t = 0; t < 4; ++t) {
    query_case c;
    chr_emd_bounds b;
    random_query(&c, &s);
    chr_emd_bounds_init(&c.q, &b);
    for (int r = 0; r < ROWS; ++r) {
      const float *x = dense + (size_t)r * N;
      int n = 0;
      for (int k = 0; k < N; ++k)
        if (x[k] != 0.0f) bins[n] = (uint16_t)k, mass[n++] = x[k];
      const uint16_t *ib = NULL;
      const float *im = NULL;
      assert_int_equal(chr_index_support(idx, r, &ib, &im), n);
      assert_memory_equal(ib, bins, (size_t)n * sizeof *bins);
      assert_memory_equal(im, mass, (size_t)n * sizeof *mass);
      expect[r] = chr_emd_bound_dot(&b, bins, mass, n);
    }
    static const int threads[] = {1, 2, 4};
    for (int k = 0; k < 3; ++k) {
      omp_set_num_threads(threads[k]);
      memset(out, 0xff, ROWS * sizeof *out);
      chr_emd_bound_rows(&b, idx, out);
      assert_memory_equal(out, expect, ROWS * sizeof *out);
    }
    omp_set_num_threads(saved_threads);
    /* Inside a parallel region it must stay serial and give the same bits. */
    memset(out, 0xff, ROWS * sizeof *out);
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      chr_emd_bound_rows(&b, idx, out);
    }
    assert_memory_equal(out, expect, ROWS * sizeof *out);
  }
  chr_index_destroy(&idx);
  assert_null(idx);
  free(dense), free(out), free(expect);
}

static void test_prunes(void **state) {
  (void)state;
  static const double thresholds[] = {1e-3, 0.25, 1.0, 3.7, 42.0, 150.0, 1e6};
  for (size_t k = 0; k < sizeof thresholds / sizeof *thresholds; ++k) {
    double th = thresholds[k];
    assert_false(chr_emd_bound_prunes(th, th));
    assert_false(chr_emd_bound_prunes(0.5 * th, th));
    assert_false(chr_emd_bound_prunes(0.0, th));
    assert_false(chr_emd_bound_prunes(th * (1.0 + 1e-10), th));
    assert_false(chr_emd_bound_prunes(nextafter(th, INFINITY), th));
    assert_true(chr_emd_bound_prunes(th * (1.0 + 1e-6), th));
    assert_true(chr_emd_bound_prunes(2.0 * th, th));
  }
  assert_false(chr_emd_bound_prunes(1e300, INFINITY));
  assert_false(chr_emd_bound_prunes(INFINITY, INFINITY));
  assert_false(chr_emd_bound_prunes(0.0, INFINITY));
  assert_false(chr_emd_bound_prunes(0.0, 0.0));
  assert_false(chr_emd_bound_prunes(1e-13, 0.0));
  assert_true(chr_emd_bound_prunes(1e-9, 0.0));
}

static void test_identical(void **state) {
  (void)state;
  uint64_t s = 8080;
  uint16_t bins[CHR_QUERY_MAX_BINS];
  float mass[CHR_QUERY_MAX_BINS];
  query_case c;
  chr_emd_bounds b;
  chr_error err;
  double worst_bound = 0.0, worst_emd = 0.0;
  for (int t = 0; t < 100; ++t) {
    random_query(&c, &s);
    chr_qhist *q = &c.q;
    double total = 0.0;
    for (int k = 0; k < q->count; ++k) {
      bins[k] = (uint16_t)q->bin[k];
      mass[k] = (float)q->mass[k];
      total += (double)mass[k];
    }
    /* Make the query exactly what the float row renormalises to, so the two are identical. */
    for (int k = 0; k < q->count; ++k) q->mass[k] = (double)mass[k] / total;
    chr_emd_bounds_init(q, &b);
    int n = q->count;
    double v[4] = {chr_emd_bound_dot(&b, bins, mass, n), chr_emd_bound_centroid(&b, bins, mass, n),
                   chr_emd_bound_relaxed(&b, bins, mass, n), chr_emd_bound_best(&b, bins, mass, n)};
    double d = -1.0;
    assert_int_equal(chr_emd(q, bins, mass, n, &d, &err), CHR_OK);
    for (int k = 0; k < 4; ++k) {
      if (!(v[k] >= 0.0 && v[k] <= 1e-9)) fail_msg("query %d: bound %d is %.17g", t, k, v[k]);
      worst_bound = fmax(worst_bound, v[k]);
    }
    if (!(fabs(d) <= 1e-9)) fail_msg("query %d: emd of identical histograms %.17g", t, d);
    worst_emd = fmax(worst_emd, fabs(d));
  }
  printf("identical histograms: largest bound %.3g, largest |emd| %.3g over 100 queries\n",
         worst_bound, worst_emd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_never_above_emd), cmocka_unit_test(test_slow_references),
      cmocka_unit_test(test_rows_match_dot),  cmocka_unit_test(test_prunes),
      cmocka_unit_test(test_identical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
