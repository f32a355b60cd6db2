#include "chromatica/image_row.h"

#include <stdlib.h>
#include <string.h>

#include "chromatica/topk.h"

/* Per-bin sums for the palette: alpha-weighted linear colour and alpha. */
typedef struct {
  double colour[CHR_BINS][3];
  double mass[CHR_BINS];
} palette_sums;

/* Where one colour goes: its tri-linear spread and the bin whose cell holds it. */
typedef struct {
  double colour[3];
  chr_grid_spread spread;
  int nearest;
} colour_place;

static void place_colour(const double *colour, colour_place *place) {
  memcpy(place->colour, colour, sizeof place->colour);
  chr_lab lab = chr_linear_to_lab(colour[0], colour[1], colour[2]);
  chr_grid_assign(lab, &place->spread);
  place->nearest = chr_grid_nearest(lab);
}

static void add_pixel(const double *px, const colour_place *place, double *hist,
                      palette_sums *sums) {
  double alpha = px[3];
  for (int k = 0; k < 8; ++k) hist[place->spread.bin[k]] += alpha * place->spread.weight[k];
  for (int c = 0; c < 3; ++c) sums->colour[place->nearest][c] += alpha * px[c];
  sums->mass[place->nearest] += alpha;
}

static void pick_palette(const palette_sums *sums, double total, chr_image_row *out) {
  chr_bin_mass chosen[CHR_PALETTE_MAX];
  int n = 0;
  for (int bin = 0; bin < CHR_BINS; ++bin)
    if (sums->mass[bin] > 0.0)
      n = chr_heaviest_offer(chosen, n, CHR_PALETTE_MAX, sums->mass[bin], bin);
  for (int i = 0; i < CHR_PALETTE_MAX; ++i) {
    chr_rgb black = {0, 0, 0};
    out->palette[i] = black;
    out->palette_weight[i] = 0.0f;
    if (i >= n) continue;
    const double m = chosen[i].mass;
    const double *c = sums->colour[chosen[i].bin];
    out->palette[i] = chr_linear_to_rgb(c[0] / m, c[1] / m, c[2] / m);
    out->palette_weight[i] = (float)(m / total);
  }
}

chr_status chr_image_row_from_linear(const chr_linear_image *img, chr_image_row *out,
                                     chr_error *err) {
  double *hist = calloc(CHR_BINS, sizeof *hist);
  palette_sums *sums = calloc(1, sizeof *sums);
  chr_status st = CHR_OK;
  if (hist == NULL || sums == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "image row: out of memory");
    goto cleanup;
  }
  size_t n = (size_t)img->width * (size_t)img->height;
  colour_place place;
  int placed = 0;
  for (size_t i = 0; i < n; ++i) {
    const double *px = img->pixels + 4 * i;
    if (!(px[3] > 0.0)) continue;
    /* Flat areas repeat a colour many times: reuse the previous pixel's conversion. */
    if (!placed || memcmp(place.colour, px, sizeof place.colour) != 0) place_colour(px, &place);
    placed = 1;
    add_pixel(px, &place, hist, sums);
  }
  double total = 0.0;
  for (int b = 0; b < CHR_BINS; ++b) total += hist[b];
  if (!(total > 0.0)) {
    st = chr_error_set(err, CHR_EINVAL, "no visible pixel (all %zu pixels are fully transparent)",
                       n);
    goto cleanup;
  }
  for (int b = 0; b < CHR_BINS; ++b) out->histogram[b] = (float)(hist[b] / total);
  pick_palette(sums, total, out);
cleanup:
  free(hist);
  free(sums);
  return st;
}

chr_status chr_image_row_build(const uint8_t *rgba, int width, int height, int max_side,
                               chr_image_row *out, chr_error *err) {
  if (max_side < 1 || max_side > CHR_MAX_SIDE_LIMIT)
    return chr_error_set(err, CHR_EINVAL, "max side %d (expected 1 to %d)", max_side,
                         CHR_MAX_SIDE_LIMIT);
  chr_linear_image img;
  chr_status st = chr_downsize(rgba, width, height, max_side, &img, err);
  if (st == CHR_OK) st = chr_image_row_from_linear(&img, out, err);
  chr_linear_image_free(&img);
  return st;
}

int chr_image_columns_alloc(chr_image_columns *c, size_t rows) {
  c->hists = malloc(rows * CHR_BINS * sizeof *c->hists);
  c->palettes = malloc(rows * CHR_PALETTE_MAX * sizeof *c->palettes);
  c->weights = malloc(rows * CHR_PALETTE_MAX * sizeof *c->weights);
  return c->hists != NULL && c->palettes != NULL && c->weights != NULL;
}

void chr_image_columns_free(chr_image_columns *c) {
  free(c->hists);
  free(c->palettes);
  free(c->weights);
}

void chr_image_columns_set(chr_image_columns *c, size_t i, const chr_image_row *row) {
  memcpy(c->hists + i * CHR_BINS, row->histogram, sizeof row->histogram);
  memcpy(c->palettes + i * CHR_PALETTE_MAX, row->palette, sizeof row->palette);
  memcpy(c->weights + i * CHR_PALETTE_MAX, row->palette_weight, sizeof row->palette_weight);
}
