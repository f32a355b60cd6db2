/* The exact EMD (src/core/emd.c) against its pre-issue-14 self (emd_reference.c, which takes
 * another pivot path: column-minimum start, Dantzig pricing): distances within 1e-12 relative,
 * and the duals optimal (v_j = min_i (C_ij - u_i) makes them feasible; their objective must
 * equal the distance, so by strong duality both are optimal and the distance is the minimum),
 * on random pairs of every size and on degenerate ones (single bins, equal supports, many equal
 * costs and masses, tiny masses, the whole grid). With and without the query's cost table, and
 * solved twice, the bits are the same. Every pricing kernel the CPU runs gives the scalar
 * kernel's bits. test_emd checks exactness against an independent min-cost flow. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "emd_kernels.h"
#include "emd_reference.h"
#include "test_random.h"

static double table[CHR_QUERY_MAX_BINS][CHR_BINS];

static double worst_rel, worst_gap;

/* sum_i a_i u_i + sum_j b_j min_i (C_ij - u_i): the objective of the feasible dual that u gives;
 * *cmax the largest cost. */
static double dual_objective(const chr_qhist *q, const double *u, const uint16_t *bins,
                             const float *mass, int n, double *cmax) {
  double total = 0.0, sum = 0.0;
  *cmax = 0.0;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  for (int i = 0; i < q->count; ++i) sum += q->mass[i] * u[i];
  for (int j = 0; j < n; ++j) {
    double v = INFINITY;
    for (int i = 0; i < q->count; ++i) {
      v = fmin(v, table[i][bins[j]] - u[i]);
      *cmax = fmax(*cmax, table[i][bins[j]]);
    }
    sum += (double)mass[j] / total * v;
  }
  return sum;
}

/* Solves with the reference, chr_emd_dual (twice) and chr_emd_dual_table: the three current
 * solves agree bit for bit; the distance is within 1e-12 relative of the reference's (1e-12 of
 * the largest cost where the distance is 0) and the duals' objective equals it. */
static void check_pair(const chr_qhist *q, const uint16_t *bins, const float *mass, int n) {
  double d_ref, d, d2, d_tab, u_ref[CHR_QUERY_MAX_BINS], u[CHR_QUERY_MAX_BINS];
  double u2[CHR_QUERY_MAX_BINS], u_tab[CHR_QUERY_MAX_BINS], cmax;
  chr_error err;
  for (int i = 0; i < q->count; ++i)
    for (int t = 0; t < CHR_BINS; ++t) table[i][t] = chr_grid_cost(q->bin[i], t);
  assert_int_equal(emd_reference_dual(q, bins, mass, n, &d_ref, u_ref, &err), CHR_OK);
  assert_int_equal(chr_emd_dual(q, bins, mass, n, &d, u, &err), CHR_OK);
  assert_int_equal(chr_emd_dual(q, bins, mass, n, &d2, u2, &err), CHR_OK);
  assert_int_equal(
      chr_emd_dual_table(q, (const double(*)[CHR_BINS])table, bins, mass, n, &d_tab, u_tab, &err),
      CHR_OK);
  assert_memory_equal(&d2, &d, sizeof d);
  assert_memory_equal(&d_tab, &d, sizeof d);
  assert_memory_equal(u2, u, (size_t)q->count * sizeof *u);
  assert_memory_equal(u_tab, u, (size_t)q->count * sizeof *u);
  double obj = dual_objective(q, u, bins, mass, n, &cmax), scale = fmax(cmax, 1e-300);
  double rel = fabs(d - d_ref) / (d_ref > 0.0 ? d_ref : scale);
  double gap = fabs(obj - d) / (d > 0.0 ? d : scale);
  worst_rel = fmax(worst_rel, rel), worst_gap = fmax(worst_gap, gap);
  if (!(rel <= 1e-12) || !(gap <= 1e-12))
    fail_msg("%d x %d: distance %.17g, reference %.17g, dual objective %.17g", q->count, n, d,
             d_ref, obj);
}

/* n distinct ascending bins out of [lo, lo + span). */
static void some_bins(int *out, int n, int lo, int span, uint64_t *state) {
  unsigned char used[CHR_BINS] = {0};
  for (int have = 0; have < n;) {
    int b = lo + (int)(next(state) % (uint64_t)span);
    if (!used[b]) used[b] = 1, ++have;
  }
  for (int b = 0, k = 0; b < CHR_BINS; ++b)
    if (used[b]) out[k++] = b;
}

static void make_query(chr_qhist *q, const int *bins, int m, int equal, uint64_t *state) {
  double sum = 0.0;
  q->count = m;
  for (int i = 0; i < m; ++i)
    q->bin[i] = bins[i], sum += q->mass[i] = equal ? 1.0 : uniform(state) + 1e-3;
  for (int i = 0; i < m; ++i) q->mass[i] /= sum;
}

static void test_random_pairs(void **state) {
  (void)state;
  static uint16_t bins[CHR_BINS];
  static float mass[CHR_BINS];
  int qb[CHR_QUERY_MAX_BINS], ib[CHR_BINS];
  uint64_t s = 2026;
  for (int t = 0; t < 400; ++t) {
    chr_qhist q;
    int m = 1 + (int)(next(&s) % CHR_QUERY_MAX_BINS),
        n = 1 + (int)(next(&s) % (t % 10 ? 160 : 1152));
    /* Half the pairs near each other in the grid (as a query and its candidates are). */
    int lo = t % 2 ? 0 : 144 * (int)(next(&s) % 5), span = t % 2 ? CHR_BINS : 432;
    if (n > span) n = span;
    some_bins(qb, m, lo, span, &s);
    some_bins(ib, n, lo, span, &s);
    make_query(&q, qb, m, 0, &s);
    for (int j = 0; j < n; ++j) bins[j] = (uint16_t)ib[j], mass[j] = (float)(uniform(&s) + 1e-3);
    check_pair(&q, bins, mass, n);
  }
}

static void test_degenerate_pairs(void **state) {
  (void)state;
  static uint16_t bins[CHR_BINS];
  static float mass[CHR_BINS];
  int qb[CHR_QUERY_MAX_BINS];
  uint64_t s = 7;
  chr_qhist q;
  /* One bin each side: the same bin, then another. */
  qb[0] = 500;
  make_query(&q, qb, 1, 1, &s);
  bins[0] = 500, mass[0] = 0.25f;
  check_pair(&q, bins, mass, 1);
  bins[0] = 7;
  check_pair(&q, bins, mass, 1);
  /* Equal supports with equal masses (distance 0, every basis degenerate), and one bin against
   * the whole grid. */
  for (int i = 0; i < CHR_QUERY_MAX_BINS; ++i)
    qb[i] = 300 + 3 * i, bins[i] = (uint16_t)qb[i], mass[i] = 1.0f;
  make_query(&q, qb, CHR_QUERY_MAX_BINS, 1, &s);
  check_pair(&q, bins, mass, CHR_QUERY_MAX_BINS);
  for (int t = 0; t < CHR_BINS; ++t) bins[t] = (uint16_t)t, mass[t] = 1.0f;
  make_query(&q, qb, 1, 1, &s);
  check_pair(&q, bins, mass, CHR_BINS);
  make_query(&q, qb, CHR_QUERY_MAX_BINS, 1, &s);
  check_pair(&q, bins, mass, CHR_BINS);
  /* Many ties: a lattice block of equal masses against its neighbours, equal masses. */
  for (int i = 0; i < 27; ++i) qb[i] = 144 * (2 + i / 9) + 12 * (3 + (i / 3) % 3) + 4 + i % 3;
  make_query(&q, qb, 27, 1, &s);
  for (int j = 0; j < 64; ++j)
    bins[j] = (uint16_t)(144 * (2 + j / 16) + 12 * (2 + (j / 4) % 4) + 3 + j % 4), mass[j] = 1.0f;
  check_pair(&q, bins, mass, 64);
  /* Tiny masses beside large ones, on both sides. */
  for (int j = 0; j < 64; ++j) mass[j] = j % 3 ? 1e-30f : 1.0f;
  check_pair(&q, bins, mass, 64);
  for (int i = 0; i < 27; ++i) q.mass[i] = i % 2 ? 1e-15 : 1.0;
  double sum = 0.0;
  for (int i = 0; i < 27; ++i) sum += q.mass[i];
  for (int i = 0; i < 27; ++i) q.mass[i] /= sum;
  check_pair(&q, bins, mass, 64);
}

/* Pairs sharing bins, whose common mass the solver leaves in place (remove_shared_mass): the
 * image holding every query bin with more, less or (up to its float rounding) the same mass, a
 * query bin twice in the image (its mass split over both entries), and every query bin emptied
 * but one. */
static void test_shared_mass(void **state) {
  (void)state;
  static uint16_t bins[2 * CHR_QUERY_MAX_BINS + 64];
  static float mass[2 * CHR_QUERY_MAX_BINS + 64];
  int qb[CHR_QUERY_MAX_BINS], ib[CHR_QUERY_MAX_BINS + 64];
  uint64_t s = 31;
  for (int t = 0; t < 60; ++t) {
    chr_qhist q;
    const int m = 1 + (int)(next(&s) % CHR_QUERY_MAX_BINS), extra = (int)(next(&s) % 64);
    some_bins(qb, m, 288, 432, &s);
    make_query(&q, qb, m, t % 7 == 0, &s);
    int n = 0;
    for (int i = 0; i < m; ++i) { /* each query bin in the image: more, less, same, twice */
      const double scale = t % 4 == 0 ? 1.0 : 0.5 + uniform(&s);
      bins[n] = (uint16_t)qb[i], mass[n++] = (float)(q.mass[i] * scale);
      if (i % 5 == t % 5) bins[n] = (uint16_t)qb[i], mass[n++] = (float)(q.mass[i] * 0.25);
    }
    some_bins(ib, extra, 0, CHR_BINS, &s);
    for (int j = 0; j < extra; ++j)
      bins[n] = (uint16_t)ib[j], mass[n++] = (float)(uniform(&s) * 0.02 + 1e-6);
    check_pair(&q, bins, mass, n);
  }
  /* The image is the query but for one bin's mass moved to another query bin: every other row
   * and column empties, one row and one column are left. */
  some_bins(qb, 12, 300, 200, &s);
  chr_qhist q;
  make_query(&q, qb, 12, 1, &s);
  for (int i = 0; i < 12; ++i) bins[i] = (uint16_t)qb[i], mass[i] = i == 0 ? 0.0f : 1.0f;
  mass[1] = 2.0f;
  check_pair(&q, bins + 1, mass + 1, 11);
}

/* Level k's col_least against the scalar level's, and the scalar one against its definition:
 * the least and second least of each column less the shifts, the lowest row of the least. */
static void check_col_least(const chr_emd_kernels *k, const double *c, const double *shift, int m,
                            int n) {
  static double lo[1152], lo2[1152], want_lo[1152], want_lo2[1152];
  static int at[1152], want_at[1152];
  chr_emd_kernels_at(0).least(c, shift, m, n, want_lo, want_lo2, want_at);
  k->least(c, shift, m, n, lo, lo2, at);
  assert_memory_equal(lo, want_lo, sizeof(double) * n);
  assert_memory_equal(lo2, want_lo2, sizeof(double) * n);
  assert_memory_equal(at, want_at, sizeof(int) * n);
  for (int j = 0; j < n; ++j) {
    double a = INFINITY, b = INFINITY;
    int row = 0;
    for (int i = 0; i < m; ++i) {
      const double x = c[(size_t)i * n + j] - shift[i];
      if (x < a)
        b = a, a = x, row = i;
      else if (x < b)
        b = x;
    }
    assert_true(want_lo[j] == a && want_lo2[j] == b && want_at[j] == row);
  }
}

/* The scalar level's row minima and find against their definition, and every pricing level
 * against the scalar one bit for bit (four-row blocks, the rows left over, masked and scalar
 * tails: m and n random): find points at the first minimum, and the start's column minima
 * (col_least) agree too. */
static void test_kernels_agree(void **state) {
  (void)state;
  enum { MAXM = 7, MAXN = 1152 };
  static double c[MAXM * MAXN], v[MAXN];
  double u[MAXM], want[MAXM], got[MAXM];
  uint64_t s = 99;
  for (int t = 0; t < 2000; ++t) {
    int m = 1 + (int)(next(&s) % MAXM), n = 1 + (int)(next(&s) % MAXN);
    for (int j = 0; j < n; ++j) v[j] = 100.0 * uniform(&s) - 50.0;
    for (int k = 0; k < m * n; ++k) c[k] = 200.0 * uniform(&s);
    for (int i = 0; i < m; ++i) u[i] = 50.0 * uniform(&s);
    if (t % 3 == 0) /* ties */
      for (int k = 0; k < m * n; ++k) c[k] = 10.0, v[k % n] = (double)(k % n % 4);
    chr_emd_kernels_at(0).min(c, m, n, u, v, want);
    for (int i = 0; i < m; ++i) { /* the scalar level against the definition */
      const double *row = c + (size_t)i * n;
      double least = INFINITY;
      int first = n;
      for (int j = 0; j < n; ++j) {
        const double r = (row[j] - u[i]) - v[j];
        if (r < least) least = r, first = j;
      }
      assert_true(want[i] == least);
      assert_int_equal(chr_emd_kernels_at(0).find(row, v, u[i], n, least), first);
    }
    const chr_emd_kernels scalar = chr_emd_kernels_at(0);
    check_col_least(&scalar, c, u, m, n);
    for (int level = 1; level <= 2; ++level) {
      chr_emd_kernels k = chr_emd_kernels_at(level);
      if (k.min == NULL) continue;
      k.min(c, m, n, u, v, got);
      assert_memory_equal(got, want, sizeof(double) * m);
      check_col_least(&k, c, u, m, n);
      for (int i = 0; i < m; ++i) {
        const double *row = c + (size_t)i * n;
        int at = chr_emd_kernels_at(0).find(row, v, u[i], n, want[i]);
        assert_true(at < n);
        assert_int_equal(k.find(row, v, u[i], n, want[i]), at);
        assert_int_equal(k.find(row, v, u[i], n, -1e300), n);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_pairs),
      cmocka_unit_test(test_degenerate_pairs),
      cmocka_unit_test(test_shared_mass),
      cmocka_unit_test(test_kernels_agree),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  printf("emd vs reference: max relative distance difference %.3g, max duality gap %.3g\n",
         worst_rel, worst_gap);
  return failed;
}
