/* The query histogram (spec section 3). */
/* cmocka needs these first, in this order; clang-format must not sort them. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/grid.h"
#include "chromatica/query.h"

static chr_lab lab_of(uint8_t r, uint8_t g, uint8_t b) {
  chr_rgb rgb = {r, g, b};
  return chr_rgb_to_lab(rgb);
}

static void assert_well_formed(const chr_qhist *q) {
  assert_true(q->count >= 1 && q->count <= CHR_QUERY_MAX_BINS);
  double sum = 0.0;
  for (int k = 0; k < q->count; ++k) {
    assert_true(q->bin[k] >= 0 && q->bin[k] < CHR_BINS);
    if (k > 0) assert_true(q->bin[k] > q->bin[k - 1]);
    assert_true(q->mass[k] > 0.0);
    sum += q->mass[k];
  }
  assert_true(fabs(sum - 1.0) < 1e-12);
}

/* Sum of the masses of q's bins that appear in colour c's spread. */
static double mass_of_colour(const chr_qhist *q, chr_lab c) {
  chr_grid_spread s;
  chr_grid_assign(c, &s);
  double m = 0.0;
  for (int k = 0; k < q->count; ++k)
    for (int j = 0; j < 8; ++j)
      if (s.bin[j] == q->bin[k]) {
        m += q->mass[k];
        break;
      }
  return m;
}

static void test_single_colour(void **state) {
  (void)state;
  chr_lab c = lab_of(0xea, 0x6a, 0x81);
  chr_qhist q;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_qhist_build(&c, NULL, 1, 1.0, &q, &err), CHR_OK);
  assert_well_formed(&q);
  assert_true(q.count <= 8);
}

static void test_equal_weights_default(void **state) {
  (void)state;
  chr_lab c[3] = {lab_of(255, 0, 0), lab_of(0, 0, 255), lab_of(0, 255, 0)};
  double w[3] = {2.0, 2.0, 2.0};
  chr_qhist a, b;
  assert_int_equal(chr_qhist_build(c, NULL, 3, 1.0, &a, NULL), CHR_OK);
  assert_int_equal(chr_qhist_build(c, w, 3, 1.0, &b, NULL), CHR_OK);
  assert_well_formed(&a);
  assert_int_equal(a.count, b.count);
  for (int k = 0; k < a.count; ++k) {
    assert_int_equal(a.bin[k], b.bin[k]);
    assert_true(fabs(a.mass[k] - b.mass[k]) < 1e-15);
  }
}

static void test_weights_preserved_with_sharpen(void **state) {
  (void)state;
  /* Far apart in Lab, so their spreads share no bin. */
  chr_lab c[2] = {lab_of(0xea, 0x6a, 0x81), lab_of(0x10, 0x20, 0xd0)};
  double w[2] = {0.49, 0.51};
  const double gammas[] = {1.0, 1.5, 2.0, 4.0};
  for (size_t g = 0; g < sizeof gammas / sizeof gammas[0]; ++g) {
    chr_qhist q;
    assert_int_equal(chr_qhist_build(c, w, 2, gammas[g], &q, NULL), CHR_OK);
    assert_well_formed(&q);
    assert_true(fabs(mass_of_colour(&q, c[0]) - 0.49) < 1e-12);
    assert_true(fabs(mass_of_colour(&q, c[1]) - 0.51) < 1e-12);
  }
}

static void test_sharpen_concentrates(void **state) {
  (void)state;
  chr_lab c = {37.0, 11.0, -23.0};
  chr_qhist soft, sharp;
  assert_int_equal(chr_qhist_build(&c, NULL, 1, 1.0, &soft, NULL), CHR_OK);
  assert_int_equal(chr_qhist_build(&c, NULL, 1, 3.0, &sharp, NULL), CHR_OK);
  double max_soft = 0.0, max_sharp = 0.0;
  for (int k = 0; k < soft.count; ++k) max_soft = fmax(max_soft, soft.mass[k]);
  for (int k = 0; k < sharp.count; ++k) max_sharp = fmax(max_sharp, sharp.mass[k]);
  assert_true(max_sharp > max_soft);
}

static void test_shared_bins_merge(void **state) {
  (void)state;
  chr_lab c[5];
  for (int i = 0; i < 5; ++i) c[i] = lab_of(200, (uint8_t)(100 + i), 50);
  chr_qhist q;
  assert_int_equal(chr_qhist_build(c, NULL, 5, 1.0, &q, NULL), CHR_OK);
  assert_well_formed(&q);
  assert_true(q.count <= 16);
}

static void test_max_colours_extremes(void **state) {
  (void)state;
  chr_lab c[5] = {lab_of(0, 255, 0), lab_of(255, 0, 255), lab_of(255, 255, 255), lab_of(0, 0, 0),
                  lab_of(255, 255, 0)};
  chr_qhist q;
  assert_int_equal(chr_qhist_build(c, NULL, 5, 2.0, &q, NULL), CHR_OK);
  assert_well_formed(&q);
}

static void expect_einval(const chr_lab *c, const double *w, int n, double sharpen,
                          const char *needle) {
  chr_qhist q;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_qhist_build(c, w, n, sharpen, &q, &err), CHR_EINVAL);
  assert_int_equal(err.code, CHR_EINVAL);
  assert_non_null(strstr(err.message, needle));
}

static void test_invalid(void **state) {
  (void)state;
  chr_lab c[6];
  for (int i = 0; i < 6; ++i) c[i] = lab_of((uint8_t)(40 * i), 80, 120);
  double w[2] = {1.0, 0.0};
  expect_einval(c, w, 2, 1.0, "weights[1]");
  w[1] = -1.0;
  expect_einval(c, w, 2, 1.0, "weights[1] -1");
  w[1] = NAN;
  expect_einval(c, w, 2, 1.0, "weights[1]");
  w[1] = INFINITY;
  expect_einval(c, w, 2, 1.0, "weights[1] inf");
  w[0] = 0.0;
  w[1] = 1.0;
  expect_einval(c, w, 2, 1.0, "weights[0] 0");
  expect_einval(c, NULL, 0, 1.0, "colors: 0 colours given (expected 1 to 5)");
  expect_einval(c, NULL, 6, 1.0, "colors: 6 colours given (expected 1 to 5)");
  expect_einval(c, NULL, 2, 0.5, "sharpen 0.5");
  expect_einval(c, NULL, 2, NAN, "sharpen");
  expect_einval(c, NULL, 2, INFINITY, "sharpen");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_colour),
      cmocka_unit_test(test_equal_weights_default),
      cmocka_unit_test(test_weights_preserved_with_sharpen),
      cmocka_unit_test(test_sharpen_concentrates),
      cmocka_unit_test(test_shared_bins_merge),
      cmocka_unit_test(test_max_colours_extremes),
      cmocka_unit_test(test_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
