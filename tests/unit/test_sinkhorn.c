/* Sinkhorn on supports (spec section 5) against an obvious dense 1152 x 1152 Sinkhorn that
 * runs the same loop over every bin pair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/sinkhorn.h"
#include "test_random.h"
#include "../../src/core/sinkhorn_kernels.h"

#define N CHR_BINS


static void random_query(chr_qhist *q, int n, uint64_t *state) {
  int used[N] = {0};
  for (int have = 0; have < n;) {
    int b = (int)(next(state) % N);
    if (!used[b]) used[b] = 1, ++have;
  }
  double sum = 0.0;
  q->count = 0;
  for (int b = 0; b < N; ++b)
    if (used[b]) {
      q->bin[q->count] = b;
      q->mass[q->count] = uniform(state) + 1e-2;
      sum += q->mass[q->count++];
    }
  for (int k = 0; k < q->count; ++k) q->mass[k] /= sum;
}

/* An image support of n bins (ascending) with float masses that need not sum to 1. */
static int random_image(uint16_t *bins, float *mass, int n, uint64_t *state) {
  int used[N] = {0};
  for (int have = 0; have < n;) {
    int b = (int)(next(state) % N);
    if (!used[b]) used[b] = 1, ++have;
  }
  int k = 0;
  for (int b = 0; b < N; ++b)
    if (used[b]) {
      bins[k] = (uint16_t)b;
      mass[k++] = (float)(uniform(state) + 1e-2) / (float)n;
    }
  return k;
}

typedef struct {
  double distance, error;
  int iterations;
} dense_result;

/* The reference: every bin pair, standard domain, zero marginals give zero scalings. */
static dense_result dense_sinkhorn(const chr_qhist *q, const uint16_t *bins, const float *mass,
                                   int n, const chr_sinkhorn_params *p) {
  double *K = malloc((size_t)N * N * sizeof *K), *C = malloc((size_t)N * N * sizeof *C);
  double a[N] = {0}, b[N] = {0}, u[N] = {0}, v[N], Kv[N], KTu[N];
  assert_non_null(K);
  assert_non_null(C);
  double eps = p->epsilon * chr_grid_cost_max();
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      C[i * N + j] = chr_grid_cost(i, j);
      K[i * N + j] = exp(-C[i * N + j] / eps);
    }
  for (int k = 0; k < q->count; ++k) a[q->bin[k]] = q->mass[k];
  double total = 0.0;
  for (int k = 0; k < n; ++k) total += (double)mass[k];
  for (int k = 0; k < n; ++k) b[bins[k]] = (double)mass[k] / total;
  /* v = 1 on the image's support: a bin with b_j = 0 gets v_j = 0 at the first update anyway,
   * and starting it at 0 is what makes the support-only problem exactly the dense one. */
  for (int j = 0; j < N; ++j) v[j] = b[j] > 0.0 ? 1.0 : 0.0;

  dense_result r = {0, 0, 0};
  int have_error = 0;
  for (int it = 0; it < p->max_iter; ++it) {
    for (int i = 0; i < N; ++i) {
      Kv[i] = 0.0;
      for (int j = 0; j < N; ++j) Kv[i] += K[i * N + j] * v[j];
    }
    if (it > 0) {
      r.error = 0.0;
      for (int i = 0; i < N; ++i) r.error += fabs(u[i] * Kv[i] - a[i]);
      have_error = 1;
      if (r.error < p->tol) break;
    }
    for (int i = 0; i < N; ++i) u[i] = a[i] > 0.0 ? a[i] / Kv[i] : 0.0;
    for (int j = 0; j < N; ++j) {
      KTu[j] = 0.0;
      for (int i = 0; i < N; ++i) KTu[j] += K[i * N + j] * u[i];
    }
    for (int j = 0; j < N; ++j) v[j] = b[j] > 0.0 ? b[j] / KTu[j] : 0.0;
    ++r.iterations;
    have_error = 0;
  }
  if (!have_error) {
    r.error = 0.0;
    for (int i = 0; i < N; ++i) {
      Kv[i] = 0.0;
      for (int j = 0; j < N; ++j) Kv[i] += K[i * N + j] * v[j];
      r.error += fabs(u[i] * Kv[i] - a[i]);
    }
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) r.distance += u[i] * K[i * N + j] * v[j] * C[i * N + j];
  free(K);
  free(C);
  return r;
}

static void check_against_dense(double epsilon, int max_iter, int expect_log, uint64_t seed) {
  chr_sinkhorn_params p = {epsilon, 1e-6, max_iter};
  uint16_t bins[N];
  float mass[N];
  chr_error err;
  for (int round = 0; round < 3; ++round) {
    chr_qhist q;
    random_query(&q, 1 + (int)(next(&seed) % CHR_QUERY_MAX_BINS), &seed);
    int n = random_image(bins, mass, 20 + (int)(next(&seed) % 280), &seed);
    chr_sinkhorn_result r;
    assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &p, &r, &err), CHR_OK);
    dense_result d = dense_sinkhorn(&q, bins, mass, n, &p);
    assert_int_equal(r.log_domain, expect_log);
    assert_int_equal(r.iterations, d.iterations);
    assert_true(fabs(r.distance - d.distance) <= 1e-9 * fabs(d.distance));
    assert_true(fabs(r.error - d.error) <= 1e-9 + 1e-6 * d.error);
  }
}

static void test_dense_default(void **state) {
  (void)state;
  check_against_dense(0.05, 100, 0, 11);
}

static void test_dense_few_iterations(void **state) {
  (void)state;
  check_against_dense(0.02, 1, 0, 12);
  check_against_dense(0.02, 3, 0, 13);
}

/* Just past the switch (max C / eps up to 250): the log-domain path against the plain one,
 * which still works here because exp(-250) is representable. */
static void test_dense_log_domain(void **state) {
  (void)state;
  check_against_dense(0.004, 100, 1, 14);
}

static void test_identical_is_small(void **state) {
  (void)state;
  uint64_t seed = 3;
  chr_sinkhorn_params p = {0.01, 1e-6, 100};
  chr_error err;
  for (int round = 0; round < 5; ++round) {
    chr_qhist q;
    random_query(&q, 1 + (int)(next(&seed) % CHR_QUERY_MAX_BINS), &seed);
    uint16_t bins[CHR_QUERY_MAX_BINS];
    float mass[CHR_QUERY_MAX_BINS];
    for (int k = 0; k < q.count; ++k) bins[k] = (uint16_t)q.bin[k], mass[k] = (float)q.mass[k];
    chr_sinkhorn_result same, other;
    assert_int_equal(chr_sinkhorn(&q, bins, mass, q.count, &p, &same, &err), CHR_OK);
    uint16_t obins[N];
    float omass[N];
    int n = random_image(obins, omass, 100, &seed);
    assert_int_equal(chr_sinkhorn(&q, obins, omass, n, &p, &other, &err), CHR_OK);
    assert_true(same.distance >= 0.0);
    assert_true(same.distance < 2.0); /* Delta E; eps is about 2.8 here */
    assert_true(same.distance < 0.1 * other.distance);
  }
}

static void test_one_bin_small_eps(void **state) {
  (void)state;
  chr_sinkhorn_params p = {1e-4, 1e-6, 100};
  chr_error err;
  const int pairs[][2] = {{0, N - 1}, {17, 900}, {500, 501}, {42, 42}};
  for (size_t k = 0; k < sizeof pairs / sizeof *pairs; ++k) {
    chr_qhist q = {.count = 1, .bin = {pairs[k][0]}, .mass = {1.0}};
    uint16_t bin = (uint16_t)pairs[k][1];
    float mass = 0.3f;
    chr_sinkhorn_result r;
    assert_int_equal(chr_sinkhorn(&q, &bin, &mass, 1, &p, &r, &err), CHR_OK);
    double c = chr_grid_cost(pairs[k][0], pairs[k][1]);
    assert_int_equal(r.log_domain, c / (1e-4 * chr_grid_cost_max()) > 200.0);
    assert_true(fabs(r.distance - c) <= 1e-9 * c + 1e-12);
    assert_true(r.error < 1e-6);
  }
}

static void test_tiny_epsilon_finite(void **state) {
  (void)state;
  uint64_t seed = 21;
  chr_sinkhorn_params p = {0.001, 1e-6, 100};
  chr_error err;
  uint16_t bins[N];
  float mass[N];
  for (int round = 0; round < 5; ++round) {
    chr_qhist q;
    random_query(&q, CHR_QUERY_MAX_BINS, &seed);
    int n = random_image(bins, mass, 300, &seed);
    chr_sinkhorn_result r;
    assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &p, &r, &err), CHR_OK);
    assert_int_equal(r.log_domain, 1);
    assert_true(isfinite(r.distance) && r.distance > 0.0);
    assert_true(r.distance <= chr_grid_cost_max());
    assert_true(isfinite(r.error));
    assert_true(r.iterations >= 1 && r.iterations <= 100);
  }
}

/* The final plan carries the image's masses in its columns and its rows miss the query's by
 * `error` (L1), so moving error / 2 of mass, at most max C per unit, makes it a transport plan
 * between the two: EMD <= distance + C_max * error / 2, converged or not. */
static void check_small_epsilon(double epsilon, int max_iter, int query_bins, int image_bins,
                                int *converged, uint64_t seed) {
  chr_sinkhorn_params p = {epsilon, 1e-6, max_iter};
  const double cmax = chr_grid_cost_max();
  uint16_t bins[N];
  float mass[N];
  chr_error err;
  for (int round = 0; round < 4; ++round) {
    chr_qhist q;
    random_query(&q, query_bins, &seed);
    int n = random_image(bins, mass, image_bins, &seed);
    chr_sinkhorn_result r;
    double emd = 0.0;
    assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &p, &r, &err), CHR_OK);
    assert_int_equal(chr_emd(&q, bins, mass, n, &emd, &err), CHR_OK);
    assert_true(isfinite(r.distance) && r.distance >= 0.0 && r.distance <= cmax);
    assert_true(isfinite(r.error) && r.error >= 0.0 && r.error <= 2.0 + 1e-9);
    assert_int_equal(r.converged, r.error < p.tol);
    assert_int_equal(r.converged, r.iterations < max_iter || r.error < p.tol);
    assert_true(r.distance >= emd - cmax * r.error / 2.0 - 1e-9 * emd);
    if (r.converged) assert_true(r.distance >= emd - cmax * p.tol / 2.0 - 1e-9 * emd);
    *converged += r.converged;
  }
}

/* Down to the smallest accepted epsilon: finite distances within [0, C_max], never below the
 * exact EMD by more than the unconverged marginals allow; at a cap the solver cannot reach
 * its tolerance within, the result says so. */
static void test_small_epsilon_bounds(void **state) {
  (void)state;
  int converged = 0;
  /* Few bins and a generous cap: these converge. */
  check_small_epsilon(1e-3, 20000, 3, 8, &converged, 41);
  assert_int_equal(converged, 4);
  converged = 0;
  check_small_epsilon(CHR_SINKHORN_EPSILON_MIN, 100000, 2, 5, &converged, 42);
  assert_true(converged >= 1);
  /* Full-size problems at the default cap: mostly not converged, and reported so. */
  converged = 0;
  check_small_epsilon(1e-3, 100, CHR_QUERY_MAX_BINS, 300, &converged, 43);
  check_small_epsilon(1e-4, 100, CHR_QUERY_MAX_BINS, 300, &converged, 44);
  check_small_epsilon(CHR_SINKHORN_EPSILON_MIN, 100, CHR_QUERY_MAX_BINS, 300, &converged, 45);
  assert_true(converged < 12);
}

/* Stopped by max_iter before the tolerance: converged is 0 and error is the honest one. */
static void test_unconverged_reported(void **state) {
  (void)state;
  uint64_t seed = 51;
  chr_qhist q;
  uint16_t bins[N];
  float mass[N];
  chr_error err;
  random_query(&q, 10, &seed);
  int n = random_image(bins, mass, 100, &seed);
  chr_sinkhorn_result r;
  chr_sinkhorn_params one = {0.01, 1e-6, 1}, exact_tol = {0.05, 0.0, 50}, enough = {0.05, 1e-6, 1000};
  assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &one, &r, &err), CHR_OK);
  assert_int_equal(r.iterations, 1);
  assert_int_equal(r.converged, 0);
  assert_true(r.error >= one.tol);
  assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &exact_tol, &r, &err), CHR_OK);
  assert_int_equal(r.converged, 0); /* tol 0 is never reached */
  assert_int_equal(r.iterations, 50);
  assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &enough, &r, &err), CHR_OK);
  assert_int_equal(r.converged, 1);
  assert_true(r.error < enough.tol && r.iterations < 1000);
}

/* The accepted epsilon range is [CHR_SINKHORN_EPSILON_MIN, CHR_SINKHORN_EPSILON_MAX], edges
 * included; the message names the value and the range. */
static void test_epsilon_limits(void **state) {
  (void)state;
  chr_qhist q = {.count = 1, .bin = {3}, .mass = {1.0}};
  uint16_t bins[2] = {5, 900};
  float mass[2] = {0.5f, 0.5f};
  chr_sinkhorn_result r;
  chr_error err;
  const double refused[] = {nextafter(CHR_SINKHORN_EPSILON_MIN, 0.0), 1e-6, 1e-30, 1e-310,
                            nextafter(CHR_SINKHORN_EPSILON_MAX, INFINITY)};
  for (size_t k = 0; k < sizeof refused / sizeof *refused; ++k) {
    chr_sinkhorn_params p = {refused[k], 1e-6, 100};
    chr_sinkhorn_query *sq = NULL;
    assert_int_equal(chr_sinkhorn(&q, bins, mass, 2, &p, &r, &err), CHR_EINVAL);
    assert_non_null(strstr(err.message, "expected epsilon from 0.0001 to 10"));
    assert_int_equal(chr_sinkhorn_query_create(&q, &p, &sq, &err), CHR_EINVAL);
    assert_null(sq);
  }
  const double accepted[] = {CHR_SINKHORN_EPSILON_MIN, CHR_SINKHORN_EPSILON_MAX};
  for (size_t k = 0; k < 2; ++k) {
    chr_sinkhorn_params p = {accepted[k], 1e-6, 100};
    assert_int_equal(chr_sinkhorn(&q, bins, mass, 2, &p, &r, &err), CHR_OK);
    assert_true(r.distance >= 0.0 && r.distance <= chr_grid_cost_max());
  }
}

static void test_invalid(void **state) {
  (void)state;
  chr_qhist q = {.count = 1, .bin = {3}, .mass = {1.0}};
  uint16_t bins[2] = {5, 9};
  float mass[2] = {0.5f, 0.5f};
  chr_sinkhorn_result r;
  chr_error err;
  const chr_sinkhorn_params bad[] = {
      {0.0, 1e-6, 100}, {-1.0, 1e-6, 100}, {NAN, 1e-6, 100}, {INFINITY, 1e-6, 100},
      {0.05, -1.0, 100}, {0.05, NAN, 100}, {0.05, 1e-6, 0},  {0.05, 1e-6, -5}};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; ++k) {
    chr_error_clear(&err);
    assert_int_equal(chr_sinkhorn(&q, bins, mass, 2, &bad[k], &r, &err), CHR_EINVAL);
    assert_int_equal(err.code, CHR_EINVAL);
    assert_true(strlen(err.message) > 0);
  }
  chr_sinkhorn_params ok = {0.05, 1e-6, 100};
  assert_int_equal(chr_sinkhorn(&q, bins, mass, 0, &ok, &r, &err), CHR_EINVAL);
  assert_int_equal(chr_sinkhorn(&q, bins, mass, 2, NULL, &r, &err), CHR_EINVAL);
  float zero[2] = {0.5f, 0.0f};
  assert_int_equal(chr_sinkhorn(&q, bins, zero, 2, &ok, &r, &err), CHR_EINVAL);
  uint16_t outside[2] = {5, N};
  assert_int_equal(chr_sinkhorn(&q, outside, mass, 2, &ok, &r, &err), CHR_EINVAL);
  chr_qhist empty = {.count = 0};
  assert_int_equal(chr_sinkhorn(&empty, bins, mass, 2, &ok, &r, &err), CHR_EINVAL);
  assert_int_equal(chr_sinkhorn(&q, bins, mass, 2, &ok, &r, &err), CHR_OK);
}

/* A query's shared tables change nothing: every candidate's result equals chr_sinkhorn's bit
 * for bit, in the standard and the log domain, at full and capped iterations. */
static void test_query_tables_equal_direct(void **state) {
  (void)state;
  uint64_t seed = 33;
  const chr_sinkhorn_params params[] = {{0.05, 1e-6, 100}, {0.001, 1e-6, 100}, {0.02, 0.0, 7}};
  chr_error err;
  uint16_t bins[N];
  float mass[N];
  chr_sinkhorn_work *work = NULL;
  assert_int_equal(chr_sinkhorn_work_create(&work, &err), CHR_OK);
  for (size_t k = 0; k < sizeof params / sizeof *params; ++k) {
    chr_qhist q;
    random_query(&q, 1 + (int)(next(&seed) % CHR_QUERY_MAX_BINS), &seed);
    chr_sinkhorn_query *sq = NULL;
    assert_int_equal(chr_sinkhorn_query_create(&q, &params[k], &sq, &err), CHR_OK);
    int domains[2] = {0, 0};
    for (int round = 0; round < 12; ++round) {
      int n = random_image(bins, mass, 1 + (int)(next(&seed) % 400), &seed);
      chr_sinkhorn_result direct, shared;
      assert_int_equal(chr_sinkhorn(&q, bins, mass, n, &params[k], &direct, &err), CHR_OK);
      assert_int_equal(chr_sinkhorn_candidate(sq, bins, mass, n, &shared, &err), CHR_OK);
      /* A workspace reused across problems of every size gives the same bits. */
      chr_sinkhorn_result reused;
      assert_int_equal(chr_sinkhorn_candidate_with(sq, work, bins, mass, n, &reused, &err), CHR_OK);
      assert_memory_equal(&shared.distance, &reused.distance, sizeof shared.distance);
      assert_memory_equal(&shared.error, &reused.error, sizeof shared.error);
      assert_int_equal(shared.iterations, reused.iterations);
      assert_memory_equal(&direct.distance, &shared.distance, sizeof direct.distance);
      assert_memory_equal(&direct.error, &shared.error, sizeof direct.error);
      assert_int_equal(direct.iterations, shared.iterations);
      assert_int_equal(direct.log_domain, shared.log_domain);
      domains[direct.log_domain] = 1;
    }
    assert_true(domains[k == 1]); /* epsilon 0.001 runs in the log domain */
    chr_sinkhorn_query_destroy(&sq);
    assert_null(sq);
  }
  chr_sinkhorn_work_destroy(&work);
  assert_null(work);
  chr_sinkhorn_work_destroy(NULL);
  chr_sinkhorn_query *sq = NULL;
  chr_qhist bad = {.count = 1, .bin = {N}, .mass = {1.0}};
  assert_int_equal(chr_sinkhorn_query_create(&bad, &params[0], &sq, &err), CHR_EINVAL);
  const chr_sinkhorn_params bad_eps = {0.0, 1e-6, 100};
  chr_qhist q = {.count = 1, .bin = {3}, .mass = {1.0}};
  assert_int_equal(chr_sinkhorn_query_create(&q, &bad_eps, &sq, &err), CHR_EINVAL);
  assert_null(sq);
  chr_sinkhorn_query_destroy(NULL);
}

/* The standard-domain solver on supports as plain scalar loops, one row or column at a time:
 * the order of operations every kernel level must reproduce bit for bit. */
static chr_sinkhorn_result scalar_support_sinkhorn(const chr_qhist *q, const uint16_t *bins,
                                                   const float *mass, int n,
                                                   const chr_sinkhorn_params *p) {
  const int nq = q->count;
  double *K = malloc((size_t)nq * n * sizeof *K), *C = malloc((size_t)nq * n * sizeof *C);
  double b[N], v[N], ktu[N], u[CHR_QUERY_MAX_BINS], kv[CHR_QUERY_MAX_BINS];
  assert_non_null(K);
  assert_non_null(C);
  double eps = p->epsilon * chr_grid_cost_max(), total = 0.0;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  for (int j = 0; j < n; ++j) b[j] = (double)mass[j] / total, v[j] = 1.0;
  for (int i = 0; i < nq; ++i)
    for (int j = 0; j < n; ++j) {
      C[i * n + j] = chr_grid_cost(q->bin[i], bins[j]);
      K[i * n + j] = exp(-C[i * n + j] / eps);
    }
  chr_sinkhorn_result r = {0};
  int have_error = 0;
  for (int it = 0; it <= p->max_iter; ++it) {
    for (int i = 0; i < nq; ++i) {
      kv[i] = 0.0;
      for (int j = 0; j < n; ++j) kv[i] += K[i * n + j] * v[j];
    }
    if (it > 0) {
      r.error = 0.0;
      for (int i = 0; i < nq; ++i) r.error += fabs(u[i] * kv[i] - q->mass[i]);
      have_error = 1;
      if (r.error < p->tol || it == p->max_iter) break;
    }
    for (int i = 0; i < nq; ++i) u[i] = q->mass[i] / kv[i];
    for (int j = 0; j < n; ++j) ktu[j] = 0.0;
    for (int i = 0; i < nq; ++i)
      for (int j = 0; j < n; ++j) ktu[j] += K[i * n + j] * u[i];
    for (int j = 0; j < n; ++j) v[j] = b[j] / ktu[j];
    ++r.iterations;
    have_error = 0;
  }
  assert_true(have_error);
  for (int i = 0; i < nq; ++i)
    for (int j = 0; j < n; ++j) r.distance += u[i] * K[i * n + j] * v[j] * C[i * n + j];
  free(K);
  free(C);
  return r;
}

/* Every kernel level this CPU runs (portable, AVX2, AVX-512) gives the scalar loops' bits, for
 * query sizes across every row-block count and images of 1 to 400 bins. */
static void test_levels_equal_scalar(void **state) {
  (void)state;
  uint64_t seed = 77;
  const chr_sinkhorn_params params[] = {{0.05, 1e-6, 100}, {0.02, 0.0, 7}, {0.3, 1e-9, 100}};
  uint16_t bins[N];
  float mass[N];
  chr_error err;
  for (int round = 0; round < 60; ++round) {
    const chr_sinkhorn_params *p = &params[round % 3];
    chr_qhist q;
    random_query(&q, 1 + round % CHR_QUERY_MAX_BINS, &seed);
    int n = random_image(bins, mass, 1 + (int)(next(&seed) % 400), &seed);
    chr_sinkhorn_result want = scalar_support_sinkhorn(&q, bins, mass, n, p);
    for (int level = CHR_KERNELS_PORTABLE; level <= CHR_KERNELS_AVX512; ++level) {
      if (!chr_scan_kernels_supported((chr_kernel_level)level)) continue;
      chr_sinkhorn_result got;
      assert_int_equal(chr_sinkhorn_at((chr_kernel_level)level, &q, bins, mass, n, p, &got, &err),
                       CHR_OK);
      assert_int_equal(got.log_domain, 0);
      assert_int_equal(got.iterations, want.iterations);
      assert_memory_equal(&got.distance, &want.distance, sizeof got.distance);
      assert_memory_equal(&got.error, &want.error, sizeof got.error);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_default),     cmocka_unit_test(test_dense_few_iterations),
      cmocka_unit_test(test_dense_log_domain),  cmocka_unit_test(test_identical_is_small),
      cmocka_unit_test(test_one_bin_small_eps), cmocka_unit_test(test_tiny_epsilon_finite),
      cmocka_unit_test(test_invalid),           cmocka_unit_test(test_query_tables_equal_direct),
      cmocka_unit_test(test_small_epsilon_bounds), cmocka_unit_test(test_unconverged_reported),
      cmocka_unit_test(test_epsilon_limits),    cmocka_unit_test(test_levels_equal_scalar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
