/* The bin grid and tri-linear assignment (spec section 2) and the ground cost (section 5). */
/* cmocka needs these first, in this order; clang-format must not sort them. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>

#include "chromatica/color.h"
#include "chromatica/grid.h"

/* Seeded splitmix64: the tests see the same numbers on every run and machine. */
static double uniform(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

static void assert_valid_spread(const chr_grid_spread *s) {
  double sum = 0.0;
  for (int k = 0; k < 8; ++k) {
    assert_true(s->bin[k] >= 0 && s->bin[k] < CHR_BINS);
    assert_true(s->weight[k] >= 0.0 && s->weight[k] <= 1.0);
    sum += s->weight[k];
  }
  assert_true(fabs(sum - 1.0) < 1e-12);
}

static void test_index_coords(void **state) {
  (void)state;
  assert_int_equal(CHR_BINS, 1152);
  assert_int_equal(chr_grid_index(1, 2, 3), 144 + 24 + 3);
  for (int i = 0; i < CHR_BINS; ++i) {
    int l, a, b;
    chr_grid_coords(i, &l, &a, &b);
    assert_true(l >= 0 && l < CHR_GRID_NL && a >= 0 && a < CHR_GRID_NA && b >= 0 &&
                b < CHR_GRID_NB);
    assert_int_equal(chr_grid_index(l, a, b), i);
  }
}

static void test_centres(void **state) {
  (void)state;
  chr_lab c = chr_grid_bin_centre(0);
  assert_true(fabs(c.l - 6.25) < 1e-12);
  assert_true(fabs(c.a - (-86.0 + 184.0 / 24.0)) < 1e-12);
  assert_true(fabs(c.b - (-108.0 + 203.0 / 24.0)) < 1e-12);
  c = chr_grid_bin_centre(CHR_BINS - 1);
  assert_true(fabs(c.l - 93.75) < 1e-12);
  assert_true(fabs(c.a - (98.0 - 184.0 / 24.0)) < 1e-12);
  assert_true(fabs(c.b - (95.0 - 203.0 / 24.0)) < 1e-12);
}

static void test_centre_takes_all_mass(void **state) {
  (void)state;
  for (int i = 0; i < CHR_BINS; ++i) {
    chr_grid_spread s;
    chr_grid_assign(chr_grid_bin_centre(i), &s);
    assert_valid_spread(&s);
    double own = 0.0;
    for (int k = 0; k < 8; ++k) {
      if (s.bin[k] == i)
        own += s.weight[k];
      else
        assert_true(s.weight[k] == 0.0);
    }
    assert_true(own == 1.0);
  }
}

static void test_weights_valid_random(void **state) {
  (void)state;
  uint64_t seed = 42;
  for (int n = 0; n < 20000; ++n) {
    /* Wider than the grid so clamping is exercised too. */
    chr_lab lab = {-20.0 + 140.0 * uniform(&seed), -120.0 + 250.0 * uniform(&seed),
                   -140.0 + 270.0 * uniform(&seed)};
    chr_grid_spread s;
    chr_grid_assign(lab, &s);
    assert_valid_spread(&s);
  }
}

static void test_mean_preserved(void **state) {
  (void)state;
  chr_lab lo = chr_grid_bin_centre(0), hi = chr_grid_bin_centre(CHR_BINS - 1);
  uint64_t seed = 7;
  for (int n = 0; n < 20000; ++n) {
    chr_lab lab = {lo.l + (hi.l - lo.l) * uniform(&seed), lo.a + (hi.a - lo.a) * uniform(&seed),
                   lo.b + (hi.b - lo.b) * uniform(&seed)};
    chr_grid_spread s;
    chr_grid_assign(lab, &s);
    double m[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < 8; ++k) {
      chr_lab c = chr_grid_bin_centre(s.bin[k]);
      m[0] += s.weight[k] * c.l;
      m[1] += s.weight[k] * c.a;
      m[2] += s.weight[k] * c.b;
    }
    assert_true(fabs(m[0] - lab.l) < 1e-9);
    assert_true(fabs(m[1] - lab.a) < 1e-9);
    assert_true(fabs(m[2] - lab.b) < 1e-9);
  }
}

static void test_extreme_colours_clamped(void **state) {
  (void)state;
  /* Pure green and magenta lie outside the a/b ranges; they must clamp, not fail. */
  const chr_rgb colours[] = {{0, 255, 0},   {255, 0, 255},   {0, 0, 255},
                             {255, 255, 0}, {255, 255, 255}, {0, 0, 0}};
  for (size_t i = 0; i < sizeof colours / sizeof colours[0]; ++i) {
    chr_grid_spread s;
    chr_grid_assign(chr_rgb_to_lab(colours[i]), &s);
    assert_valid_spread(&s);
  }
  chr_lab nan_lab = {NAN, NAN, NAN};
  chr_grid_spread s;
  chr_grid_assign(nan_lab, &s);
  assert_valid_spread(&s);
}

static void test_cost(void **state) {
  (void)state;
  double brute = 0.0;
  for (int i = 0; i < CHR_BINS; ++i) {
    assert_true(chr_grid_cost(i, i) == 0.0);
    for (int j = 0; j < CHR_BINS; ++j) {
      double c = chr_grid_cost(i, j);
      assert_true(c == chr_grid_cost(j, i));
      if (c > brute) brute = c;
    }
  }
  assert_true(chr_grid_cost_max() == brute);
  /* Adjacent along L: one bin width. */
  assert_true(fabs(chr_grid_cost(0, chr_grid_index(1, 0, 0)) - 12.5) < 1e-12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_coords),
      cmocka_unit_test(test_centres),
      cmocka_unit_test(test_centre_takes_all_mass),
      cmocka_unit_test(test_weights_valid_random),
      cmocka_unit_test(test_mean_preserved),
      cmocka_unit_test(test_extreme_colours_clamped),
      cmocka_unit_test(test_cost),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
