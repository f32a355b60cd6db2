#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "chromatica/synth.h"

static void same_seed_and_index_are_identical(void **state) {
  (void)state;
  static chr_image_row a, b;
  chr_synth_image_make(7, 123, &a);
  chr_synth_image_make(99, 5, &b); /* a different image in between must not matter */
  chr_synth_image_make(7, 123, &b);
  assert_memory_equal(a.histogram, b.histogram, sizeof a.histogram);
  assert_memory_equal(a.palette, b.palette, sizeof a.palette);
  assert_memory_equal(a.palette_weight, b.palette_weight, sizeof a.palette_weight);
}

static void histograms_are_normalised(void **state) {
  (void)state;
  static chr_image_row img;
  for (int64_t i = 0; i < 200; ++i) {
    chr_synth_image_make(1, i, &img);
    double sum = 0.0;
    for (int b = 0; b < CHR_BINS; ++b) {
      assert_true(isfinite(img.histogram[b]) && img.histogram[b] >= 0.0f);
      sum += img.histogram[b];
    }
    assert_true(fabs(sum - 1.0) < 1e-5);
  }
}

static void different_indices_and_seeds_differ(void **state) {
  (void)state;
  static chr_image_row a, b, c;
  chr_synth_image_make(7, 0, &a);
  chr_synth_image_make(7, 1, &b);
  chr_synth_image_make(8, 0, &c);
  assert_memory_not_equal(a.histogram, b.histogram, sizeof a.histogram);
  assert_memory_not_equal(a.histogram, c.histogram, sizeof a.histogram);
}

static void palettes_sorted_and_padded(void **state) {
  (void)state;
  static chr_image_row img;
  int seen_blobs[5] = {0};
  for (int64_t i = 0; i < 500; ++i) {
    chr_synth_image_make(3, i, &img);
    double sum = 0.0;
    int used = 0;
    for (int k = 0; k < CHR_PALETTE_MAX; ++k) {
      if (k > 0) assert_true(img.palette_weight[k - 1] >= img.palette_weight[k]);
      if (img.palette_weight[k] > 0) {
        assert_int_equal(used, k); /* used slots come first */
        ++used;
      } else {
        assert_int_equal(img.palette[k].r, 0);
        assert_int_equal(img.palette[k].g, 0);
        assert_int_equal(img.palette[k].b, 0);
      }
      sum += img.palette_weight[k];
    }
    assert_in_range(used, 1, 4);
    seen_blobs[used]++;
    assert_true(fabs(sum - 1.0) < 1e-5);
  }
  for (int n = 1; n <= 4; ++n) assert_true(seen_blobs[n] > 0); /* all blob counts occur */
}

/* The heaviest palette colour's bin neighbourhood holds real mass: the histogram is made of
 * the palette colours. */
static void heaviest_colour_is_in_the_histogram(void **state) {
  (void)state;
  static chr_image_row img;
  for (int64_t i = 0; i < 50; ++i) {
    chr_synth_image_make(11, i, &img);
    chr_grid_spread spread;
    chr_grid_assign(chr_rgb_to_lab(img.palette[0]), &spread);
    double mass = 0.0;
    for (int k = 0; k < 8; ++k) mass += img.histogram[spread.bin[k]];
    assert_true(mass > 0.0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_seed_and_index_are_identical),
      cmocka_unit_test(histograms_are_normalised),
      cmocka_unit_test(different_indices_and_seeds_differ),
      cmocka_unit_test(palettes_sorted_and_padded),
      cmocka_unit_test(heaviest_colour_is_in_the_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
