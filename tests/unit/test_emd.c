/* Exact EMD on supports (spec section 5, metric "emd") against an obvious successive-shortest-
 * path min-cost flow with Bellman-Ford, plus bounds from Sinkhorn and a timing printout; the
 * optimal duals of chr_emd_dual close the duality gap. */
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

#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/sinkhorn.h"
#include "test_random.h"

#define N CHR_BINS

/* n distinct ascending bins. */
static void random_bins(int *out, int n, uint64_t *state) {
  static _Thread_local unsigned char used[N];
  memset(used, 0, sizeof used);
  for (int have = 0; have < n;) {
    int b = (int)(next(state) % N);
    if (!used[b]) used[b] = 1, ++have;
  }
  int k = 0;
  for (int b = 0; b < N; ++b)
    if (used[b]) out[k++] = b;
}

static void random_query(chr_qhist *q, int n, uint64_t *state) {
  random_bins(q->bin, n, state);
  double sum = 0.0;
  q->count = n;
  for (int k = 0; k < n; ++k) sum += q->mass[k] = uniform(state) + 1e-2;
  for (int k = 0; k < n; ++k) q->mass[k] /= sum;
}

static void random_image(uint16_t *bins, float *mass, int n, uint64_t *state) {
  int b[N];
  random_bins(b, n, state);
  for (int k = 0; k < n; ++k) {
    bins[k] = (uint16_t)b[k];
    mass[k] = (float)(uniform(state) + 1e-2) / (float)n;
  }
}

/* Reference: min-cost flow source -> rows (cap a_i) -> columns (cap inf, cost C_ij) -> sink
 * (cap b_j), augmenting along Bellman-Ford shortest paths in the residual graph. */
typedef struct {
  int to;
  double cap, cost;
} arc;

static double reference_emd(const chr_qhist *q, const uint16_t *bins, const float *mass, int n) {
  const int m = q->count, nv = m + n + 2, src = m + n, snk = m + n + 1;
  const int na = 2 * (m + m * n + n);
  arc *a = malloc((size_t)na * sizeof *a);
  int *from = malloc((size_t)na * sizeof *from);
  double *dist = malloc((size_t)nv * sizeof *dist);
  int *pred = malloc((size_t)nv * sizeof *pred);
  assert_non_null(a), assert_non_null(from), assert_non_null(dist), assert_non_null(pred);
  int k = 0;
#define ADD(u, v, cp, cs) \
  (from[k] = (u), a[k++] = (arc){(v), (cp), (cs)}, from[k] = (v), a[k++] = (arc){(u), 0.0, -(cs)})
  double total = 0.0;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  for (int i = 0; i < m; ++i) ADD(src, i, q->mass[i], 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) ADD(i, m + j, 1e300, chr_grid_cost(q->bin[i], bins[j]));
  for (int j = 0; j < n; ++j) ADD(m + j, snk, (double)mass[j] / total, 0.0);
#undef ADD
  double cost = 0.0;
  for (;;) {
    for (int v = 0; v < nv; ++v) dist[v] = INFINITY, pred[v] = -1;
    dist[src] = 0.0;
    for (int pass = 0; pass < nv; ++pass) {
      int changed = 0;
      for (int e = 0; e < na; ++e)
        if (a[e].cap > 1e-15 && dist[from[e]] + a[e].cost < dist[a[e].to] - 1e-12)
          dist[a[e].to] = dist[from[e]] + a[e].cost, pred[a[e].to] = e, changed = 1;
      if (!changed) break;
    }
    if (pred[snk] < 0) break;
    double f = INFINITY;
    for (int v = snk; v != src; v = from[pred[v]])
      if (a[pred[v]].cap < f) f = a[pred[v]].cap;
    for (int v = snk; v != src; v = from[pred[v]]) {
      a[pred[v]].cap -= f;
      a[pred[v] ^ 1].cap += f;
      cost += f * a[pred[v]].cost;
    }
  }
  free(a), free(from), free(dist), free(pred);
  return cost;
}

static double max_rel_error;

/* One "qbins;qmass;bins;mass;distance" line for tests/integration/emd_pot.py. */
static void dump(FILE *f, const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                 double d) {
  if (f == NULL) return;
  for (int i = 0; i < q->count; ++i) fprintf(f, "%s%d", i ? "," : "", q->bin[i]);
  fputc(';', f);
  for (int i = 0; i < q->count; ++i) fprintf(f, "%s%.17g", i ? "," : "", q->mass[i]);
  fputc(';', f);
  for (int j = 0; j < n; ++j) fprintf(f, "%s%d", j ? "," : "", (int)bins[j]);
  fputc(';', f);
  for (int j = 0; j < n; ++j) fprintf(f, "%s%.9g", j ? "," : "", (double)mass[j]);
  fprintf(f, ";%.17g\n", d);
}

static FILE *dump_file;

static void test_against_reference(void **state) {
  (void)state;
  uint64_t s = 12345;
  uint16_t bins[30];
  float mass[30];
  chr_qhist q;
  chr_error err;
  for (int t = 0; t < 200; ++t) {
    int m = 1 + (int)(next(&s) % 10), n = 1 + (int)(next(&s) % 30);
    random_query(&q, m, &s);
    random_image(bins, mass, n, &s);
    double d = -1.0;
    assert_int_equal(chr_emd(&q, bins, mass, n, &d, &err), CHR_OK);
    dump(dump_file, &q, bins, mass, n, d);
    double r = reference_emd(&q, bins, mass, n);
    double rel = fabs(d - r) / fmax(fabs(r), 1e-300);
    if (rel > max_rel_error) max_rel_error = rel;
    if (rel > 1e-9) fail_msg("pair %d (%d x %d): emd %.17g, reference %.17g", t, m, n, d, r);
    double again = -1.0;
    assert_int_equal(chr_emd(&q, bins, mass, n, &again, &err), CHR_OK);
    assert_memory_equal(&d, &again, sizeof d);
  }
  printf("emd vs min-cost-flow reference: max relative error %.3g over 200 pairs\n", max_rel_error);
}

static void test_trivial(void **state) {
  (void)state;
  chr_error err;
  chr_qhist q = {.count = 1, .bin = {17}, .mass = {1.0}};
  uint16_t b1 = 900;
  float m1 = 0.3f;
  double d = -1.0;
  assert_int_equal(chr_emd(&q, &b1, &m1, 1, &d, &err), CHR_OK);
  assert_true(d == chr_grid_cost(17, 900));

  /* Float masses whose double renormalisation reproduces the query's masses exactly. */
  uint64_t s = 99;
  for (int t = 0; t < 20; ++t) {
    int m = 1 + (int)(next(&s) % CHR_QUERY_MAX_BINS);
    random_query(&q, m, &s);
    uint16_t bins[CHR_QUERY_MAX_BINS];
    float mass[CHR_QUERY_MAX_BINS];
    double total = 0.0;
    for (int k = 0; k < m; ++k) {
      bins[k] = (uint16_t)q.bin[k];
      mass[k] = (float)q.mass[k];
      total += (double)mass[k];
    }
    for (int k = 0; k < m; ++k) q.mass[k] = (double)mass[k] / total;
    assert_int_equal(chr_emd(&q, bins, mass, m, &d, &err), CHR_OK);
    assert_true(fabs(d) <= 1e-12);
  }
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static void test_realistic_sizes(void **state) {
  (void)state;
  uint64_t s = 777;
  uint16_t bins[300];
  float mass[300];
  chr_qhist q;
  chr_error err;
  chr_sinkhorn_params params = {.epsilon = 0.05, .tol = 1e-12, .max_iter = 100000};
  for (int t = 0; t < 50; ++t) {
    random_query(&q, 40, &s);
    random_image(bins, mass, 300, &s);
    double d = -1.0;
    chr_sinkhorn_result sk;
    assert_int_equal(chr_emd(&q, bins, mass, 300, &d, &err), CHR_OK);
    assert_int_equal(chr_sinkhorn(&q, bins, mass, 300, &params, &sk, &err), CHR_OK);
    assert_true(d >= 0.0);
    dump(dump_file, &q, bins, mass, 300, d);
    if (!(d <= sk.distance + 1e-6))
      fail_msg("pair %d: emd %.17g > sinkhorn %.17g", t, d, sk.distance);
  }

  double times[200];
  for (int t = 0; t < 200; ++t) {
    random_query(&q, 40, &s);
    random_image(bins, mass, 300, &s);
    double d, t0 = omp_get_wtime();
    assert_int_equal(chr_emd(&q, bins, mass, 300, &d, &err), CHR_OK);
    times[t] = (omp_get_wtime() - t0) * 1e6;
  }
  qsort(times, 200, sizeof *times, cmp_double);
  printf("emd 40 x 300: median %.1f us per pair over 200 pairs (min %.1f, max %.1f)\n",
         0.5 * (times[99] + times[100]), times[0], times[199]);
}

/* The dual objective of u: sum_i a_i u_i + sum_j b_j min_i (C_ij - u_i), from the definition. */
static double dual_objective(const chr_qhist *q, const double *u, const uint16_t *bins,
                             const float *mass, int n) {
  double total = 0.0, sum = 0.0;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  for (int i = 0; i < q->count; ++i) sum += q->mass[i] * u[i];
  for (int j = 0; j < n; ++j) {
    double v = INFINITY;
    for (int i = 0; i < q->count; ++i) v = fmin(v, chr_grid_cost(q->bin[i], bins[j]) - u[i]);
    sum += (double)mass[j] / total * v;
  }
  return sum;
}

/* chr_emd_dual: chr_emd's distance bits, and duals whose objective (strong duality) is the
 * min-cost-flow reference's cost on small problems and the distance on realistic ones. */
static void test_dual(void **state) {
  (void)state;
  uint64_t s = 2718;
  uint16_t bins[300];
  float mass[300];
  double u[CHR_QUERY_MAX_BINS], worst = 0.0;
  chr_qhist q;
  chr_error err;
  for (int t = 0; t < 90; ++t) {
    int small = t < 60;
    int m = small ? 1 + (int)(next(&s) % 10) : 40, n = small ? 1 + (int)(next(&s) % 30) : 300;
    random_query(&q, m, &s);
    random_image(bins, mass, n, &s);
    double d = -1.0, dd = -1.0;
    for (int i = 0; i < m; ++i) u[i] = NAN;
    assert_int_equal(chr_emd(&q, bins, mass, n, &d, &err), CHR_OK);
    assert_int_equal(chr_emd_dual(&q, bins, mass, n, &dd, u, &err), CHR_OK);
    assert_memory_equal(&d, &dd, sizeof d);
    assert_int_equal(chr_emd_dual(&q, bins, mass, n, &dd, NULL, &err), CHR_OK);
    assert_memory_equal(&d, &dd, sizeof d);
    for (int i = 0; i < m; ++i) assert_true(isfinite(u[i]));
    double r = small ? reference_emd(&q, bins, mass, n) : d,
           obj = dual_objective(&q, u, bins, mass, n);
    double rel = fabs(obj - r) / fmax(r, 1e-300);
    worst = fmax(worst, rel);
    if (!(rel <= 1e-9))
      fail_msg("pair %d (%d x %d): dual objective %.17g, %s %.17g", t, m, n, obj,
               small ? "reference" : "emd", r);
  }
  printf("emd duals: max |dual objective - primal|/primal %.3g over 90 pairs\n", worst);
}

static void test_invalid(void **state) {
  (void)state;
  chr_error err;
  chr_qhist q = {.count = 1, .bin = {17}, .mass = {1.0}};
  uint16_t b = 5;
  float m = 1.0f, zero = 0.0f;
  uint16_t bad = CHR_BINS;
  double d = 0.0;
  assert_int_equal(chr_emd(&q, &b, &m, 0, &d, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "emd"));
  double u = 0.0;
  assert_int_equal(chr_emd_dual(&q, &b, &zero, 1, &d, &u, &err), CHR_EINVAL);
  assert_int_equal(chr_emd_dual(NULL, &b, &m, 1, &d, &u, &err), CHR_EINVAL);
  assert_int_equal(chr_emd(&q, &b, &m, -3, &d, &err), CHR_EINVAL);
  assert_int_equal(chr_emd(&q, &b, &zero, 1, &d, &err), CHR_EINVAL);
  assert_int_equal(chr_emd(&q, &bad, &m, 1, &d, &err), CHR_EINVAL);
  q.count = 0;
  assert_int_equal(chr_emd(&q, &b, &m, 1, &d, &err), CHR_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference), cmocka_unit_test(test_trivial),
      cmocka_unit_test(test_realistic_sizes),   cmocka_unit_test(test_dual),
      cmocka_unit_test(test_invalid),
  };
  const char *path = getenv("CHR_EMD_DUMP");
  if (path != NULL && path[0] != '\0' && (dump_file = fopen(path, "w")) == NULL) {
    fprintf(stderr, "test_emd: cannot open CHR_EMD_DUMP file %s\n", path);
    return 1;
  }
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  if (dump_file != NULL && fclose(dump_file) != 0) {
    fprintf(stderr, "test_emd: cannot write CHR_EMD_DUMP file %s\n", path);
    return 1;
  }
  return failed;
}
