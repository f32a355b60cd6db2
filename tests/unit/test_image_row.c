/* Image rows (histogram + palette) against a slow, obvious reference written from the spec and
 * the header: per visible pixel, its Lab colour's tri-linear spread times its alpha; palette
 * colours grouped by the bin whose cell holds them. Images here need no resizing, so the
 * reference works on the 8-bit pixels directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/grid.h"
#include "chromatica/image_row.h"
#include "test_random.h"

typedef struct {
  double histogram[CHR_BINS];
  chr_rgb palette[CHR_PALETTE_MAX];
  double palette_weight[CHR_PALETTE_MAX];
} reference_row;

/* Sums for the palette reference, per nearest bin. */
static double group_mass[CHR_BINS], group_colour[CHR_BINS][3];

static void reference_build(const uint8_t *rgba, int w, int h, reference_row *out) {
  memset(out, 0, sizeof *out);
  memset(group_mass, 0, sizeof group_mass);
  memset(group_colour, 0, sizeof group_colour);
  double total_alpha = 0.0;
  for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) {
    const uint8_t *p = rgba + 4 * i;
    if (p[3] == 0) continue;
    double alpha = p[3] / 255.0;
    chr_rgb rgb = {p[0], p[1], p[2]};
    chr_lab lab = chr_rgb_to_lab(rgb);
    chr_grid_spread spread;
    chr_grid_assign(lab, &spread);
    for (int k = 0; k < 8; ++k) out->histogram[spread.bin[k]] += alpha * spread.weight[k];
    int g = chr_grid_nearest(lab);
    group_mass[g] += alpha;
    for (int c = 0; c < 3; ++c) group_colour[g][c] += alpha * chr_srgb_to_linear(p[c] / 255.0);
    total_alpha += alpha;
  }
  double sum = 0.0;
  for (int b = 0; b < CHR_BINS; ++b) sum += out->histogram[b];
  for (int b = 0; b < CHR_BINS; ++b) out->histogram[b] /= sum;
  /* Five times the heaviest bin not yet taken; strict '>' keeps the lower bin on ties. */
  int taken[CHR_BINS] = {0};
  for (int slot = 0; slot < CHR_PALETTE_MAX; ++slot) {
    int best = -1;
    for (int b = 0; b < CHR_BINS; ++b)
      if (!taken[b] && group_mass[b] > 0.0 && (best < 0 || group_mass[b] > group_mass[best]))
        best = b;
    if (best < 0) break;
    taken[best] = 1;
    const double *c = group_colour[best];
    double m = group_mass[best];
    out->palette[slot] = chr_linear_to_rgb(c[0] / m, c[1] / m, c[2] / m);
    out->palette_weight[slot] = m / total_alpha;
  }
}

static void assert_rows_match(const chr_image_row *got, const reference_row *want) {
  for (int b = 0; b < CHR_BINS; ++b) {
    if (fabs(got->histogram[b] - want->histogram[b]) > 1e-6)
      print_error("bin %d: %.9g, reference %.9g\n", b, (double)got->histogram[b],
                  want->histogram[b]);
    assert_true(fabs(got->histogram[b] - want->histogram[b]) <= 1e-6);
  }
  for (int k = 0; k < CHR_PALETTE_MAX; ++k) {
    if (want->palette_weight[k] == 0.0) {
      assert_true(got->palette_weight[k] == 0.0f);
      continue;
    }
    assert_int_equal(got->palette[k].r, want->palette[k].r);
    assert_int_equal(got->palette[k].g, want->palette[k].g);
    assert_int_equal(got->palette[k].b, want->palette[k].b);
    assert_true(fabs(got->palette_weight[k] - want->palette_weight[k]) <= 1e-6);
  }
}

/* A w x h image of a few distinct colours (some pairs close enough to share a palette bin),
 * drawn with unequal frequencies; about 15 % of pixels are fully transparent and some are
 * partly so. Caller frees. */
static uint8_t *few_colour_image(uint64_t *rng, int w, int h) {
  enum { COLOURS = 8 };
  uint8_t colours[COLOURS][3];
  for (int k = 0; k < COLOURS; ++k) {
    if (k % 3 == 2) { /* a near neighbour of the previous colour */
      for (int c = 0; c < 3; ++c) {
        int v = colours[k - 1][c] + (int)(next(rng) % 7) - 3;
        colours[k][c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    } else {
      for (int c = 0; c < 3; ++c) colours[k][c] = (uint8_t)(next(rng) & 0xff);
    }
  }
  uint8_t *px = malloc(4 * (size_t)w * (size_t)h);
  assert_non_null(px);
  for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) {
    /* Squaring skews the choice towards the first colours. */
    double u = uniform(rng);
    int k = (int)(u * u * COLOURS);
    memcpy(px + 4 * i, colours[k], 3);
    double a = uniform(rng);
    px[4 * i + 3] = a < 0.15 ? 0 : a < 0.75 ? 255 : (uint8_t)(1 + next(rng) % 254);
  }
  return px;
}

static void random_images_match_reference(void **state) {
  (void)state;
  uint64_t rng = 77;
  static const int sizes[][2] = {{1, 1},   {3, 5},   {16, 16},  {37, 23},
                                 {64, 48}, {256, 3}, {100, 100}};
  static chr_image_row got;
  static reference_row want;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s)
    for (int rep = 0; rep < 4; ++rep) {
      int w = sizes[s][0], h = sizes[s][1];
      uint8_t *px = few_colour_image(&rng, w, h);
      int visible = 0;
      for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) visible |= px[4 * i + 3] != 0;
      if (!visible) px[3] = 255; /* a 1x1 image may have drawn alpha 0 */
      chr_error err;
      chr_error_clear(&err);
      assert_int_equal(chr_image_row_build(px, w, h, CHR_MAX_SIDE_DEFAULT, &got, &err), CHR_OK);
      reference_build(px, w, h, &want);
      assert_rows_match(&got, &want);
      free(px);
    }
}

/* Six colours in six different bins with equal mass: the palette keeps the five lowest bins,
 * in bin order. */
static void palette_ties_go_to_the_lower_bin(void **state) {
  (void)state;
  static const chr_rgb colours[6] = {{255, 0, 0},   {0, 255, 0}, {0, 0, 255},
                                     {255, 255, 0}, {0, 0, 0},   {255, 255, 255}};
  int bins[6];
  for (int k = 0; k < 6; ++k) {
    bins[k] = chr_grid_nearest(chr_rgb_to_lab(colours[k]));
    for (int j = 0; j < k; ++j) assert_int_not_equal(bins[j], bins[k]);
  }
  uint8_t px[6 * 4 * 4];
  for (int i = 0; i < 24; ++i) {
    const chr_rgb *c = &colours[i % 6];
    px[4 * i] = c->r;
    px[4 * i + 1] = c->g;
    px[4 * i + 2] = c->b;
    px[4 * i + 3] = 255;
  }
  static chr_image_row got;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_row_build(px, 6, 4, 16, &got, &err), CHR_OK);
  int prev_bin = -1;
  for (int slot = 0; slot < CHR_PALETTE_MAX; ++slot) {
    /* the lowest bin above prev_bin */
    int want = -1;
    for (int k = 0; k < 6; ++k)
      if (bins[k] > prev_bin && (want < 0 || bins[k] < bins[want])) want = k;
    assert_int_equal(got.palette[slot].r, colours[want].r);
    assert_int_equal(got.palette[slot].g, colours[want].g);
    assert_int_equal(got.palette[slot].b, colours[want].b);
    assert_float_equal(got.palette_weight[slot], 1.0 / 6.0, 1e-6);
    prev_bin = bins[want];
  }
  static reference_row ref;
  reference_build(px, 6, 4, &ref);
  assert_rows_match(&got, &ref);
}

/* The histogram a single colour should give: its own tri-linear spread. */
static void spread_histogram(chr_rgb colour, double *hist) {
  memset(hist, 0, CHR_BINS * sizeof *hist);
  chr_grid_spread spread;
  chr_grid_assign(chr_rgb_to_lab(colour), &spread);
  for (int k = 0; k < 8; ++k) hist[spread.bin[k]] += spread.weight[k];
}

static uint8_t *solid_image(chr_rgb colour, uint8_t alpha, int w, int h) {
  uint8_t *px = malloc(4 * (size_t)w * (size_t)h);
  assert_non_null(px);
  for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) {
    px[4 * i] = colour.r;
    px[4 * i + 1] = colour.g;
    px[4 * i + 2] = colour.b;
    px[4 * i + 3] = alpha;
  }
  return px;
}

static void assert_single_colour(const chr_image_row *got, chr_rgb colour, double tol) {
  static double want[CHR_BINS];
  spread_histogram(colour, want);
  for (int b = 0; b < CHR_BINS; ++b) assert_true(fabs(got->histogram[b] - want[b]) <= tol);
  assert_int_equal(got->palette[0].r, colour.r);
  assert_int_equal(got->palette[0].g, colour.g);
  assert_int_equal(got->palette[0].b, colour.b);
  assert_float_equal(got->palette_weight[0], 1.0, 1e-6);
  for (int k = 1; k < CHR_PALETTE_MAX; ++k) assert_true(got->palette_weight[k] == 0.0f);
}

static void solid_colour_is_its_spread(void **state) {
  (void)state;
  /* Includes pure green and magenta (outside the grid's a/b ranges: clamped, never refused),
   * black, white and a grey. */
  static const chr_rgb colours[] = {{255, 0, 0},     {0, 255, 0},     {255, 0, 255},
                                    {0, 0, 255},     {0, 0, 0},       {255, 255, 255},
                                    {128, 128, 128}, {234, 106, 129}, {246, 215, 39}};
  static const uint8_t alphas[] = {255, 1, 128};
  static chr_image_row got;
  for (size_t i = 0; i < sizeof colours / sizeof colours[0]; ++i)
    for (size_t a = 0; a < sizeof alphas; ++a) {
      uint8_t *px = solid_image(colours[i], alphas[a], 8, 8);
      chr_error err;
      chr_error_clear(&err);
      assert_int_equal(chr_image_row_build(px, 8, 8, 16, &got, &err), CHR_OK);
      assert_single_colour(&got, colours[i], 1e-7);
      free(px);
    }
}

static void transparent_image_is_refused(void **state) {
  (void)state;
  chr_rgb red = {255, 0, 0};
  uint8_t *px = solid_image(red, 0, 3, 3);
  static chr_image_row got;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_row_build(px, 3, 3, 16, &got, &err), CHR_EINVAL);
  assert_int_equal(err.code, CHR_EINVAL);
  if (strstr(err.message, "no visible pixel") == NULL) print_error("message: %s\n", err.message);
  assert_non_null(strstr(err.message, "no visible pixel"));
  free(px);
}

static void max_side_out_of_range_is_refused(void **state) {
  (void)state;
  chr_rgb red = {255, 0, 0};
  uint8_t *px = solid_image(red, 255, 4, 4);
  static chr_image_row got;
  static const int bad[] = {0, -1, CHR_MAX_SIDE_LIMIT + 1, 5000};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_image_row_build(px, 4, 4, bad[i], &got, &err), CHR_EINVAL);
    assert_int_equal(err.code, CHR_EINVAL);
  }
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_row_build(px, 4, 4, 1, &got, &err), CHR_OK);
  assert_int_equal(chr_image_row_build(px, 4, 4, CHR_MAX_SIDE_LIMIT, &got, &err), CHR_OK);
  assert_int_equal(chr_image_row_build(px, 0, 4, 16, &got, &err), CHR_EINVAL);
  free(px);
}

static void resized_uniform_image_keeps_its_colour(void **state) {
  (void)state;
  static const chr_rgb colours[] = {{234, 106, 129}, {0, 255, 0}, {17, 17, 17}};
  static chr_image_row got;
  for (size_t i = 0; i < sizeof colours / sizeof colours[0]; ++i) {
    uint8_t *px = solid_image(colours[i], 255, 600, 300);
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_image_row_build(px, 600, 300, CHR_MAX_SIDE_DEFAULT, &got, &err), CHR_OK);
    assert_single_colour(&got, colours[i], 1e-6);
    free(px);
  }
}

static void histogram_is_normalised(void **state) {
  (void)state;
  uint64_t rng = 5;
  static chr_image_row got;
  for (int rep = 0; rep < 5; ++rep) {
    uint8_t *px = few_colour_image(&rng, 300, 200); /* resized to 256 x 171 */
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_image_row_build(px, 300, 200, CHR_MAX_SIDE_DEFAULT, &got, &err), CHR_OK);
    double sum = 0.0, palette_sum = 0.0;
    for (int b = 0; b < CHR_BINS; ++b) {
      assert_true(got.histogram[b] >= 0.0f);
      sum += got.histogram[b];
    }
    for (int k = 0; k < CHR_PALETTE_MAX; ++k) {
      if (k > 0) assert_true(got.palette_weight[k - 1] >= got.palette_weight[k]);
      palette_sum += got.palette_weight[k];
    }
    assert_float_equal(sum, 1.0, 1e-5);
    assert_true(palette_sum > 0.0 && palette_sum <= 1.0 + 1e-6);
    free(px);
  }
}

/* chr_image_columns_set puts row i at i * CHR_BINS and i * CHR_PALETTE_MAX, leaving the other
 * rows as they were. */
static void columns_hold_each_row_in_its_slot(void **state) {
  (void)state;
  chr_image_columns c;
  assert_true(chr_image_columns_alloc(&c, 3));
  memset(c.hists, 0, 3 * CHR_BINS * sizeof *c.hists);
  memset(c.palettes, 0, 3 * CHR_PALETTE_MAX * sizeof *c.palettes);
  memset(c.weights, 0, 3 * CHR_PALETTE_MAX * sizeof *c.weights);
  chr_image_row row;
  memset(&row, 0, sizeof row);
  row.histogram[7] = 1.0f;
  row.palette[0] = (chr_rgb){10, 20, 30};
  row.palette_weight[0] = 1.0f;
  chr_image_columns_set(&c, 1, &row);
  assert_memory_equal(c.hists + CHR_BINS, row.histogram, sizeof row.histogram);
  assert_memory_equal(c.palettes + CHR_PALETTE_MAX, row.palette, sizeof row.palette);
  assert_memory_equal(c.weights + CHR_PALETTE_MAX, row.palette_weight, sizeof row.palette_weight);
  for (int b = 0; b < CHR_BINS; ++b) {
    assert_true(c.hists[b] == 0.0f);
    assert_true(c.hists[2 * CHR_BINS + b] == 0.0f);
  }
  assert_true(c.weights[0] == 0.0f && c.weights[2 * CHR_PALETTE_MAX] == 0.0f);
  chr_image_columns_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_images_match_reference),
      cmocka_unit_test(palette_ties_go_to_the_lower_bin),
      cmocka_unit_test(solid_colour_is_its_spread),
      cmocka_unit_test(transparent_image_is_refused),
      cmocka_unit_test(max_side_out_of_range_is_refused),
      cmocka_unit_test(resized_uniform_image_keeps_its_colour),
      cmocka_unit_test(histogram_is_normalised),
      cmocka_unit_test(columns_hold_each_row_in_its_slot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
