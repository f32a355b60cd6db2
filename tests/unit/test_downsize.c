/* Area-averaging downsizing against a slow, obvious reference: every output pixel is computed
 * from the 2-D overlap of every source pixel with the output box, in double. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/downsize.h"
#include "test_random.h"

/* A random RGBA image: a few colours, random alphas (0 and 255 common) and, when asked, a
 * fully transparent rectangle. Caller frees. */
static uint8_t *random_image(uint64_t *rng, int w, int h, int with_hole) {
  uint8_t *px = malloc(4 * (size_t)w * (size_t)h);
  assert_non_null(px);
  int hx0 = (int)(uniform(rng) * w), hy0 = (int)(uniform(rng) * h);
  int hx1 = hx0 + 1 + (int)(uniform(rng) * (w - hx0)),
      hy1 = hy0 + 1 + (int)(uniform(rng) * (h - hy0));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t *p = px + 4 * ((size_t)y * (size_t)w + (size_t)x);
      for (int c = 0; c < 3; ++c) p[c] = (uint8_t)(next(rng) & 0xff);
      double u = uniform(rng);
      p[3] = u < 0.2 ? 0 : u < 0.6 ? 255 : (uint8_t)(next(rng) & 0xff);
      if (with_hole && x >= hx0 && x < hx1 && y >= hy0 && y < hy1) p[3] = 0;
    }
  return px;
}

static double overlap(double a0, double a1, double b0, double b1) {
  double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
  return hi > lo ? hi - lo : 0.0;
}

/* The reference: out has 4*ow*oh doubles, laid out as chr_linear_image.pixels. */
static void reference_downsize(const uint8_t *rgba, int w, int h, int ow, int oh, double *out) {
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      double bx0 = (double)ox * w / ow, bx1 = (double)(ox + 1) * w / ow;
      double by0 = (double)oy * h / oh, by1 = (double)(oy + 1) * h / oh;
      double sum[3] = {0.0, 0.0, 0.0}, alpha_sum = 0.0, coverage_sum = 0.0;
      for (int sy = 0; sy < h; ++sy)
        for (int sx = 0; sx < w; ++sx) {
          double cov = overlap(sx, sx + 1.0, bx0, bx1) * overlap(sy, sy + 1.0, by0, by1);
          if (cov == 0.0) continue;
          const uint8_t *p = rgba + 4 * ((size_t)sy * (size_t)w + (size_t)sx);
          double a = p[3];
          for (int c = 0; c < 3; ++c) sum[c] += cov * a * chr_srgb_to_linear(p[c] / 255.0);
          alpha_sum += cov * a;
          coverage_sum += cov * a / 255.0;
        }
      double *o = out + 4 * ((size_t)oy * (size_t)ow + (size_t)ox);
      for (int c = 0; c < 3; ++c) o[c] = alpha_sum > 0.0 ? sum[c] / alpha_sum : 0.0;
      o[3] = coverage_sum / ((bx1 - bx0) * (by1 - by0));
    }
}

static void size_fits_is_unchanged(void **state) {
  (void)state;
  static const int cases[][3] = {
      {10, 20, 20}, {20, 20, 20}, {1, 1, 1}, {255, 3, 256}, {7, 256, 256}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    int w = -1, h = -1;
    chr_downsize_size(cases[i][0], cases[i][1], cases[i][2], &w, &h);
    assert_int_equal(w, cases[i][0]);
    assert_int_equal(h, cases[i][1]);
  }
}

static void size_known_cases(void **state) {
  (void)state;
  /* width, height, max_side, expected width, expected height */
  static const int cases[][5] = {
      {400, 300, 100, 100, 75},  {300, 400, 100, 75, 100},  {500, 500, 100, 100, 100},
      {37, 23, 10, 10, 6},       {300, 7, 64, 64, 1},       {1, 500, 16, 1, 16},
      {10000, 1, 256, 256, 1},   {1, 10000, 256, 1, 256},   {600, 300, 256, 256, 128},
      {1000, 3, 2, 2, 1},        {257, 256, 256, 256, 255}, {300, 200, 256, 256, 171},
      {200, 300, 256, 171, 256}, {1000, 999, 10, 10, 10}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    int w = -1, h = -1;
    chr_downsize_size(cases[i][0], cases[i][1], cases[i][2], &w, &h);
    assert_int_equal(w, cases[i][3]);
    assert_int_equal(h, cases[i][4]);
  }
}

/* Over many shapes: the longer side becomes max_side, the shorter keeps the aspect ratio to
 * within rounding and is at least 1. */
static void size_keeps_aspect(void **state) {
  (void)state;
  for (int w = 1; w <= 300; w += 7)
    for (int h = 1; h <= 300; h += 11)
      for (int m = 1; m <= 64; m += 3) {
        int ow = -1, oh = -1;
        chr_downsize_size(w, h, m, &ow, &oh);
        int longer = w > h ? w : h;
        if (longer <= m) {
          assert_int_equal(ow, w);
          assert_int_equal(oh, h);
          continue;
        }
        int out_long = w >= h ? ow : oh, out_short = w >= h ? oh : ow;
        int shorter = w >= h ? h : w;
        assert_int_equal(out_long, m);
        assert_true(out_short >= 1 && out_short <= m);
        double exact = (double)shorter * m / longer;
        if (exact >= 0.5) assert_true(fabs(out_short - exact) <= 0.5 + 1e-12);
      }
}

static void no_resize_is_exact(void **state) {
  (void)state;
  uint64_t rng = 11;
  static const int sizes[][2] = {{1, 1}, {5, 3}, {16, 16}, {37, 23}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
    int w = sizes[s][0], h = sizes[s][1];
    uint8_t *px = random_image(&rng, w, h, 1);
    chr_linear_image img;
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_downsize(px, w, h, 64, &img, &err), CHR_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) {
      const uint8_t *p = px + 4 * i;
      const double *o = img.pixels + 4 * i;
      for (int c = 0; c < 3; ++c) {
        double want = p[3] == 0 ? 0.0 : chr_srgb_to_linear(p[c] / 255.0);
        assert_true(o[c] == want);
      }
      assert_true(o[3] == p[3] / 255.0);
    }
    chr_linear_image_free(&img);
    assert_null(img.pixels);
    free(px);
  }
}

static void check_against_reference(uint64_t *rng, int w, int h, int max_side, int with_hole) {
  uint8_t *px = random_image(rng, w, h, with_hole);
  int ow, oh;
  chr_downsize_size(w, h, max_side, &ow, &oh);
  double *want = malloc(4 * (size_t)ow * (size_t)oh * sizeof *want);
  assert_non_null(want);
  reference_downsize(px, w, h, ow, oh, want);
  chr_linear_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_downsize(px, w, h, max_side, &img, &err), CHR_OK);
  assert_int_equal(img.width, ow);
  assert_int_equal(img.height, oh);
  for (size_t i = 0; i < 4 * (size_t)ow * (size_t)oh; ++i) {
    if (fabs(img.pixels[i] - want[i]) > 1e-9)
      print_error("%d x %d -> %d x %d: value %zu is %.17g, reference %.17g\n", w, h, ow, oh, i,
                  img.pixels[i], want[i]);
    assert_true(fabs(img.pixels[i] - want[i]) <= 1e-9);
    if (i % 4 == 3 && want[i] == 0.0) /* no visible source pixel: colour exactly 0 */
      for (size_t c = 1; c <= 3; ++c) assert_true(img.pixels[i - c] == 0.0);
  }
  chr_linear_image_free(&img);
  free(want);
  free(px);
}

static void resize_matches_reference(void **state) {
  (void)state;
  uint64_t rng = 2024;
  /* width, height, max_side */
  static const int cases[][3] = {{37, 23, 10}, {300, 7, 64},  {1, 500, 16}, {23, 37, 10},
                                 {64, 64, 17}, {100, 99, 33}, {9, 8, 5},    {120, 90, 32},
                                 {2, 2, 1},    {257, 3, 256}, {5, 300, 2}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    for (int hole = 0; hole <= 1; ++hole)
      check_against_reference(&rng, cases[i][0], cases[i][1], cases[i][2], hole);
}

/* A block of fully transparent pixels that covers whole output boxes: those outputs are
 * colour 0, alpha 0, and lend nothing to their neighbours. */
static void transparent_region_stays_transparent(void **state) {
  (void)state;
  int w = 40, h = 20;
  uint8_t *px = malloc(4 * (size_t)w * (size_t)h);
  assert_non_null(px);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t *p = px + 4 * ((size_t)y * (size_t)w + (size_t)x);
      int left = x < w / 2;
      p[0] = left ? 255 : 10;
      p[1] = left ? 255 : 200;
      p[2] = left ? 255 : 30;
      p[3] = left ? 0 : 255; /* white but invisible on the left */
    }
  chr_linear_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_downsize(px, w, h, 10, &img, &err), CHR_OK);
  assert_int_equal(img.width, 10);
  assert_int_equal(img.height, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 10; ++x) {
      const double *o = img.pixels + 4 * (y * 10 + x);
      if (x < 5) {
        for (int c = 0; c < 4; ++c) assert_true(o[c] == 0.0);
      } else {
        assert_float_equal(o[0], chr_srgb_to_linear(10 / 255.0), 1e-12);
        assert_float_equal(o[1], chr_srgb_to_linear(200 / 255.0), 1e-12);
        assert_float_equal(o[2], chr_srgb_to_linear(30 / 255.0), 1e-12);
        assert_float_equal(o[3], 1.0, 1e-12);
      }
    }
  chr_linear_image_free(&img);
  free(px);
}

static void uniform_image_keeps_its_colour(void **state) {
  (void)state;
  static const int sizes[][3] = {{600, 300, 256}, {37, 23, 10}, {1, 500, 16}, {999, 997, 100}};
  static const uint8_t colour[3] = {234, 106, 129};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
    int w = sizes[s][0], h = sizes[s][1];
    uint8_t *px = malloc(4 * (size_t)w * (size_t)h);
    assert_non_null(px);
    for (size_t i = 0; i < (size_t)w * (size_t)h; ++i) {
      memcpy(px + 4 * i, colour, 3);
      px[4 * i + 3] = 255;
    }
    chr_linear_image img;
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_downsize(px, w, h, sizes[s][2], &img, &err), CHR_OK);
    for (size_t i = 0; i < (size_t)img.width * (size_t)img.height; ++i) {
      for (int c = 0; c < 3; ++c)
        assert_float_equal(img.pixels[4 * i + c], chr_srgb_to_linear(colour[c] / 255.0), 1e-12);
      assert_float_equal(img.pixels[4 * i + 3], 1.0, 1e-12);
    }
    chr_linear_image_free(&img);
    free(px);
  }
}

static void bad_arguments_are_refused(void **state) {
  (void)state;
  static const uint8_t px[4 * 4] = {0};
  static const int cases[][3] = {{0, 2, 8},  {2, 0, 8},  {2, 2, 0},
                                 {-1, 2, 8}, {2, -3, 8}, {2, 2, -1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    chr_linear_image img = {7, 7, NULL};
    chr_error err;
    chr_error_clear(&err);
    assert_int_equal(chr_downsize(px, cases[i][0], cases[i][1], cases[i][2], &img, &err),
                     CHR_EINVAL);
    assert_int_equal(err.code, CHR_EINVAL);
    assert_true(err.message[0] != '\0');
    assert_null(img.pixels);
    chr_linear_image_free(&img); /* safe on the failed output */
  }
  chr_linear_image_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(size_fits_is_unchanged),
      cmocka_unit_test(size_known_cases),
      cmocka_unit_test(size_keeps_aspect),
      cmocka_unit_test(no_resize_is_exact),
      cmocka_unit_test(resize_matches_reference),
      cmocka_unit_test(transparent_region_stays_transparent),
      cmocka_unit_test(uniform_image_keeps_its_colour),
      cmocka_unit_test(bad_arguments_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
