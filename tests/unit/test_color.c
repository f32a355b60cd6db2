/* Hex parsing and sRGB <-> Lab against the spec's reference values (spec section 1). */
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

static chr_rgb hex(const char *text) {
  chr_rgb rgb = {0, 0, 0};
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_hex_parse(text, &rgb, &err), CHR_OK);
  return rgb;
}

static void assert_lab(const char *text, double l, double a, double b, double tol) {
  chr_lab lab = chr_rgb_to_lab(hex(text));
  assert_true(fabs(lab.l - l) < tol);
  assert_true(fabs(lab.a - a) < tol);
  assert_true(fabs(lab.b - b) < tol);
}

static void test_reference_values(void **state) {
  (void)state;
  /* The spec prints two decimals; the true values are within 0.005 of them. */
  assert_lab("FF0000", 53.24, 80.09, 67.20, 0.005);
  assert_lab("0000FF", 32.30, 79.19, -107.86, 0.005);
  assert_lab("00FF00", 87.74, -86.18, 83.18, 0.005);
  /* White is (100, 0, 0) only to ~5e-3 in a and b: M's rows are rounded to 6 digits and do not
   * sum exactly to the D65 white point (scikit-image gives a = -0.00245, b = 0.00465). */
  assert_lab("FFFFFF", 100.0, 0.0, 0.0, 0.005);
  assert_lab("000000", 0.0, 0.0, 0.0, 1e-12);
}

static void test_unit_matches_bytes(void **state) {
  (void)state;
  chr_rgb rgb = {12, 200, 99};
  chr_lab a = chr_rgb_to_lab(rgb);
  chr_lab b = chr_srgb_unit_to_lab(12 / 255.0, 200 / 255.0, 99 / 255.0);
  assert_true(a.l == b.l && a.a == b.a && a.b == b.b);
}

static void test_round_trip_cube(void **state) {
  (void)state;
  /* 16 steps per channel including both ends: 0, 17, ..., 255. */
  for (int r = 0; r < 16; ++r)
    for (int g = 0; g < 16; ++g)
      for (int b = 0; b < 16; ++b) {
        chr_rgb in = {(uint8_t)(r * 17), (uint8_t)(g * 17), (uint8_t)(b * 17)};
        chr_rgb out = chr_lab_to_rgb(chr_rgb_to_lab(in));
        assert_int_equal(out.r, in.r);
        assert_int_equal(out.g, in.g);
        assert_int_equal(out.b, in.b);
      }
}

static void test_round_trip_all_grey_and_primaries(void **state) {
  (void)state;
  for (int v = 0; v < 256; ++v) {
    chr_rgb cases[4] = {{(uint8_t)v, (uint8_t)v, (uint8_t)v},
                        {(uint8_t)v, 0, 0},
                        {0, (uint8_t)v, 0},
                        {0, 0, (uint8_t)v}};
    for (int k = 0; k < 4; ++k) {
      chr_rgb out = chr_lab_to_rgb(chr_rgb_to_lab(cases[k]));
      assert_memory_equal(&out, &cases[k], sizeof out);
    }
  }
}

static void test_lab_to_rgb_clips(void **state) {
  (void)state;
  chr_lab far = {100.0, 200.0, -200.0};
  chr_rgb rgb = chr_lab_to_rgb(far);
  assert_int_equal(rgb.r, 255);
  assert_int_equal(rgb.g, 0);
  chr_lab nan_lab = {NAN, NAN, NAN};
  (void)chr_lab_to_rgb(nan_lab); /* must not crash or trap */
}

static void test_hex_forms(void **state) {
  (void)state;
  chr_rgb a = hex("F00");
  chr_rgb b = hex("#ff0000");
  assert_memory_equal(&a, &b, sizeof a);
  a = hex("#EA6A81");
  b = hex("ea6a81");
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(a.r, 0xea);
  assert_int_equal(a.g, 0x6a);
  assert_int_equal(a.b, 0x81);
  a = hex("#aBc");
  assert_int_equal(a.r, 0xaa);
  assert_int_equal(a.g, 0xbb);
  assert_int_equal(a.b, 0xcc);
}

static void test_hex_output(void **state) {
  (void)state;
  char out[8];
  chr_rgb rgb = {0xEA, 0x0A, 0xFF};
  chr_rgb_to_hex(rgb, out);
  assert_string_equal(out, "#ea0aff");
  chr_rgb black = {0, 0, 0};
  chr_rgb_to_hex(black, out);
  assert_string_equal(out, "#000000");
}

static void test_hex_invalid(void **state) {
  (void)state;
  const char *bad[] = {"",       "#",        "ff00",  "fffff", "fffffff", "gg0000",
                       "ff 000", "#ff00001", "##f00", " fff",  "fff "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    chr_rgb rgb;
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_hex_parse(bad[i], &rgb, &err), CHR_EINVAL);
    assert_int_equal(err.code, CHR_EINVAL);
    assert_non_null(strstr(err.message, "not a hex colour"));
  }
  chr_rgb rgb;
  chr_error err;
  chr_hex_parse("GG0000", &rgb, &err);
  assert_string_equal(err.message, "'GG0000': not a hex colour (expected RGB or RRGGBB)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_values),
      cmocka_unit_test(test_unit_matches_bytes),
      cmocka_unit_test(test_round_trip_cube),
      cmocka_unit_test(test_round_trip_all_grey_and_primaries),
      cmocka_unit_test(test_lab_to_rgb_clips),
      cmocka_unit_test(test_hex_forms),
      cmocka_unit_test(test_hex_output),
      cmocka_unit_test(test_hex_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
