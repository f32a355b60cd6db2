/* Separable box filter with exact integer coverage weights: output pixel o on an axis of n_src
 * source and n_out output pixels covers [o*n_src, (o+1)*n_src) in units of 1/n_out source
 * pixels, so source pixel i overlaps it by min((o+1)*n_src, (i+1)*n_out) - max(o*n_src, i*n_out)
 * such units. The weights are small integers, exact in double, and every output pixel's weights
 * sum to n_src: no rounding decides which source pixels count. */
#include "chromatica/downsize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"

typedef struct {
  int first, count; /* source pixels first .. first+count-1 */
  double *weight;   /* count entries, in units of 1/n_out source pixels */
} span;

typedef struct {
  span *spans;
  double *weights;
} axis_plan;

static void plan_free(axis_plan *p) {
  free(p->spans);
  free(p->weights);
  p->spans = NULL;
  p->weights = NULL;
}

static int plan_make(int n_src, int n_out, axis_plan *p) {
  p->spans = malloc((size_t)n_out * sizeof *p->spans);
  /* Each span touches at most ceil(n_src/n_out) + 1 source pixels. */
  size_t per_span = (size_t)(n_src / n_out) + 2;
  p->weights = malloc((size_t)n_out * per_span * sizeof *p->weights);
  if (p->spans == NULL || p->weights == NULL) return 0;
  for (int o = 0; o < n_out; ++o) {
    int64_t lo = (int64_t)o * n_src, hi = (int64_t)(o + 1) * n_src;
    int first = (int)(lo / n_out), last = (int)((hi + n_out - 1) / n_out) - 1;
    span *s = &p->spans[o];
    s->first = first;
    s->count = last - first + 1;
    s->weight = p->weights + (size_t)o * per_span;
    for (int i = first; i <= last; ++i) {
      int64_t a = (int64_t)i * n_out, b = (int64_t)(i + 1) * n_out;
      int64_t overlap = (hi < b ? hi : b) - (lo > a ? lo : a);
      s->weight[i - first] = (double)overlap;
    }
  }
  return 1;
}

void chr_downsize_size(int width, int height, int max_side, int *out_width, int *out_height) {
  int longer = width > height ? width : height;
  if (longer <= max_side) {
    *out_width = width;
    *out_height = height;
    return;
  }
  double scale = (double)max_side / longer;
  int w = width >= height ? max_side : (int)floor(width * scale + 0.5);
  int h = height > width ? max_side : (int)floor(height * scale + 0.5);
  *out_width = w < 1 ? 1 : w;
  *out_height = h < 1 ? 1 : h;
}

void chr_linear_image_free(chr_linear_image *img) {
  if (img == NULL) return;
  free(img->pixels);
  img->pixels = NULL;
  img->width = img->height = 0;
}

static void copy_exact(const uint8_t *rgba, size_t n, const double *lut, double *out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t *p = rgba + 4 * i;
    double *o = out + 4 * i;
    int visible = p[3] != 0;
    o[0] = visible ? lut[p[0]] : 0.0;
    o[1] = visible ? lut[p[1]] : 0.0;
    o[2] = visible ? lut[p[2]] : 0.0;
    o[3] = p[3] / 255.0;
  }
}

/* Sums of weight*alpha*colour and weight*alpha of one source row for every output column. */
static void row_pass(const uint8_t *row, const axis_plan *x_plan, int out_w, const double *lut,
                     double *tmp) {
  for (int ox = 0; ox < out_w; ++ox) {
    const span *s = &x_plan->spans[ox];
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (int k = 0; k < s->count; ++k) {
      const uint8_t *p = row + 4 * (size_t)(s->first + k);
      double wa = s->weight[k] * p[3];
      acc[0] += wa * lut[p[0]];
      acc[1] += wa * lut[p[1]];
      acc[2] += wa * lut[p[2]];
      acc[3] += wa;
    }
    memcpy(tmp + 4 * (size_t)ox, acc, sizeof acc);
  }
}

static void average(const uint8_t *rgba, int width, int height, const axis_plan *x_plan,
                    const axis_plan *y_plan, int out_w, int out_h, const double *lut, double *tmp,
                    double *out) {
  /* Each output pixel's weights total width*height (units of 1/out_w by 1/out_h pixels);
   * the alpha sums carry alpha in 0..255. */
  double full = (double)width * (double)height * 255.0;
  for (int oy = 0; oy < out_h; ++oy) {
    double *orow = out + 4 * (size_t)oy * (size_t)out_w;
    memset(orow, 0, 4 * (size_t)out_w * sizeof *orow);
    const span *s = &y_plan->spans[oy];
    for (int k = 0; k < s->count; ++k) {
      row_pass(rgba + 4 * (size_t)(s->first + k) * (size_t)width, x_plan, out_w, lut, tmp);
      for (size_t i = 0; i < 4 * (size_t)out_w; ++i) orow[i] += s->weight[k] * tmp[i];
    }
    for (int ox = 0; ox < out_w; ++ox) {
      double *o = orow + 4 * (size_t)ox;
      double alpha = o[3];
      for (int c = 0; c < 3; ++c) o[c] = alpha > 0.0 ? o[c] / alpha : 0.0;
      o[3] = alpha / full;
    }
  }
}

chr_status chr_downsize(const uint8_t *rgba, int width, int height, int max_side,
                        chr_linear_image *out, chr_error *err) {
  out->width = out->height = 0;
  out->pixels = NULL;
  if (width < 1 || height < 1 || max_side < 1)
    return chr_error_set(err, CHR_EINVAL,
                         "downsize: %d x %d pixels, max side %d (expected all >= 1)", width, height,
                         max_side);
  int out_w, out_h;
  chr_downsize_size(width, height, max_side, &out_w, &out_h);
  double lut[256];
  for (int c = 0; c < 256; ++c) lut[c] = chr_srgb_to_linear(c / 255.0);
  chr_status st = CHR_OK;
  axis_plan x_plan = {0}, y_plan = {0};
  double *tmp = NULL;
  double *pixels = malloc(4 * (size_t)out_w * (size_t)out_h * sizeof *pixels);
  if (pixels == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "downsize: out of memory for %d x %d pixels", out_w, out_h);
    goto cleanup;
  }
  if (out_w == width && out_h == height) {
    copy_exact(rgba, (size_t)width * (size_t)height, lut, pixels);
  } else {
    tmp = malloc(4 * (size_t)out_w * sizeof *tmp);
    if (tmp == NULL || !plan_make(width, out_w, &x_plan) || !plan_make(height, out_h, &y_plan)) {
      st = chr_error_set(err, CHR_ENOMEM, "downsize: out of memory for %d x %d pixels", out_w,
                         out_h);
      goto cleanup;
    }
    average(rgba, width, height, &x_plan, &y_plan, out_w, out_h, lut, tmp, pixels);
  }
  out->width = out_w;
  out->height = out_h;
  out->pixels = pixels;
  pixels = NULL;
cleanup:
  free(pixels);
  free(tmp);
  plan_free(&x_plan);
  plan_free(&y_plan);
  return st;
}
