/* The exact EMD (src/core/emd.c) against its pre-issue-14 self (emd_reference.c): the same
 * pivots, so the same distance and duals bit for bit, with and without the query's cost table,
 * on random pairs of every size and on degenerate ones (single bins, equal supports, many equal
 * costs and masses, tiny masses, the whole grid); and every pricing kernel the CPU runs gives
 * the scalar kernel's bits. test_emd checks exactness against an independent min-cost flow. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "emd_kernels.h"
#include "emd_reference.h"
#include "test_random.h"

static double table[CHR_QUERY_MAX_BINS][CHR_BINS];

/* Solves with the reference, chr_emd_dual and chr_emd_dual_table: all bits equal. */
static void check_pair(const chr_qhist *q, const uint16_t *bins, const float *mass, int n) {
  double d_ref, d, d_tab, u_ref[CHR_QUERY_MAX_BINS], u[CHR_QUERY_MAX_BINS], u_tab[CHR_QUERY_MAX_BINS];
  chr_error err;
  for (int i = 0; i < q->count; ++i)
    for (int t = 0; t < CHR_BINS; ++t) table[i][t] = chr_grid_cost(q->bin[i], t);
  assert_int_equal(emd_reference_dual(q, bins, mass, n, &d_ref, u_ref, &err), CHR_OK);
  assert_int_equal(chr_emd_dual(q, bins, mass, n, &d, u, &err), CHR_OK);
  assert_int_equal(chr_emd_dual_table(q, (const double (*)[CHR_BINS])table, bins, mass, n, &d_tab,
                                      u_tab, &err), CHR_OK);
  assert_memory_equal(&d, &d_ref, sizeof d);
  assert_memory_equal(&d_tab, &d_ref, sizeof d);
  assert_memory_equal(u, u_ref, (size_t)q->count * sizeof *u);
  assert_memory_equal(u_tab, u_ref, (size_t)q->count * sizeof *u);
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
  for (int i = 0; i < m; ++i) q->bin[i] = bins[i], sum += q->mass[i] = equal ? 1.0 : uniform(state) + 1e-3;
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
    int m = 1 + (int)(next(&s) % CHR_QUERY_MAX_BINS), n = 1 + (int)(next(&s) % (t % 10 ? 160 : 1152));
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
  for (int i = 0; i < CHR_QUERY_MAX_BINS; ++i) qb[i] = 300 + 3 * i, bins[i] = (uint16_t)qb[i], mass[i] = 1.0f;
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
  for (int j = 0; j < 64; ++j) bins[j] = (uint16_t)(144 * (2 + j / 16) + 12 * (2 + (j / 4) % 4) + 3 + j % 4), mass[j] = 1.0f;
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

static void test_kernels_agree(void **state) {
  (void)state;
  static double row[1200], v[1200];
  uint64_t s = 99;
  for (int t = 0; t < 2000; ++t) {
    int n = 1 + (int)(next(&s) % 1152);
    for (int j = 0; j < n; ++j) row[j] = 200.0 * uniform(&s), v[j] = 100.0 * uniform(&s) - 50.0;
    if (t % 3 == 0) /* ties */
      for (int j = 0; j < n; ++j) row[j] = 10.0, v[j] = (double)(j % 4);
    double ui = 50.0 * uniform(&s), want = chr_emd_kernels_at(0).min(row, v, ui, n);
    int at = chr_emd_kernels_at(0).find(row, v, ui, n, want);
    assert_true(at < n);
    for (int level = 1; level <= 2; ++level) {
      chr_emd_kernels k = chr_emd_kernels_at(level);
      if (k.min == NULL) continue;
      double got = k.min(row, v, ui, n);
      assert_memory_equal(&got, &want, sizeof got);
      assert_int_equal(k.find(row, v, ui, n, want), at);
      assert_int_equal(k.find(row, v, ui, n, -1e300), n);
    }
  }
}

/* rows: the least reduced cost of a matrix and the lowest row holding it, ties across rows and
 * lanes included, as a row-by-row scan with strict < gives. */
static void test_rows_kernels_agree(void **state) {
  (void)state;
  static double c[40 * 300], u[40], v[300];
  uint64_t s = 5;
  for (int t = 0; t < 1000; ++t) {
    int m = 1 + (int)(next(&s) % 40), n = 1 + (int)(next(&s) % 300);
    for (int i = 0; i < m * n; ++i) c[i] = t % 2 ? (double)(next(&s) % 8) : 100.0 * uniform(&s);
    for (int i = 0; i < m; ++i) u[i] = t % 2 ? (double)(next(&s) % 3) : 10.0 * uniform(&s);
    for (int j = 0; j < n; ++j) v[j] = t % 2 ? (double)(next(&s) % 3) : 10.0 * uniform(&s);
    double want = INFINITY;
    int want_row = 0;
    for (int i = 0; i < m; ++i) {
      double r = chr_emd_kernels_at(0).min(c + (size_t)i * n, v, u[i], n);
      if (r < want) want = r, want_row = i;
    }
    for (int level = 0; level <= 2; ++level) {
      chr_emd_kernels k = chr_emd_kernels_at(level);
      if (k.rows == NULL) continue;
      double got;
      assert_int_equal(k.rows(c, u, v, m, n, &got), want_row);
      assert_memory_equal(&got, &want, sizeof got);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_pairs),
      cmocka_unit_test(test_degenerate_pairs),
      cmocka_unit_test(test_kernels_agree),
      cmocka_unit_test(test_rows_kernels_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
