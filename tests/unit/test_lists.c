#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chromatica/lists.h"

static void colors_both_forms(void **state) {
  (void)state;
  chr_rgb rgb[5];
  int n = 0;
  chr_error err;
  assert_int_equal(chr_colors_parse("ea6a81, #F6D727,F00", rgb, 5, &n, &err), CHR_OK);
  assert_int_equal(n, 3);
  assert_int_equal(rgb[0].r, 0xea);
  assert_int_equal(rgb[1].b, 0x27);
  assert_int_equal(rgb[2].r, 0xff);
  assert_int_equal(rgb[2].g, 0);
}

static void colors_errors_name_the_element(void **state) {
  (void)state;
  chr_rgb rgb[5];
  int n = 0;
  chr_error err;
  assert_int_equal(chr_colors_parse("ff0000,GG0000", rgb, 5, &n, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "colors[1]"));
  assert_non_null(strstr(err.message, "GG0000"));
  assert_int_equal(chr_colors_parse("", rgb, 5, &n, &err), CHR_EINVAL);
  assert_int_equal(chr_colors_parse("f00,f00,f00,f00,f00,f00", rgb, 5, &n, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "6 values"));
  assert_int_equal(chr_colors_parse("f00,,f00", rgb, 5, &n, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "colors[1]"));
}

static void weights_parse_and_reject(void **state) {
  (void)state;
  double w[5];
  int n = 0;
  chr_error err;
  assert_int_equal(chr_weights_parse("0.49, 0.51", w, 5, &n, &err), CHR_OK);
  assert_int_equal(n, 2);
  assert_true(w[0] == 0.49 && w[1] == 0.51);
  assert_int_equal(chr_weights_parse("0.5,abc", w, 5, &n, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "weights[1] 'abc'"));
  assert_int_equal(chr_weights_parse("1,", w, 5, &n, &err), CHR_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(colors_both_forms),
      cmocka_unit_test(colors_errors_name_the_element),
      cmocka_unit_test(weights_parse_and_reject),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
