/* One dataset row made from pixels (issue 4): the tri-linear Lab histogram of spec section 2 and
 * the image's dominant colours for /palettes. Pixels are first brought to at most max_side on
 * the longer side by area averaging in linear light (chromatica/downsize.h); each pixel then
 * counts by its alpha coverage, so fully transparent pixels contribute nothing.
 * Palette: every visible pixel also goes to the bin whose cell holds its colour; the up-to-5
 * heaviest such bins (ties: lower bin) give the palette, each colour being the alpha-weighted
 * mean, in linear light, of the pixels in that bin and each weight that bin's share of the
 * image's visible mass. Pure; not collective; thread-safe. */
#ifndef CHROMATICA_IMAGE_ROW_H
#define CHROMATICA_IMAGE_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "chromatica/color.h"
#include "chromatica/downsize.h"
#include "chromatica/error.h"
#include "chromatica/grid.h"

#define CHR_PALETTE_MAX 5
#define CHR_MAX_SIDE_DEFAULT 256
#define CHR_MAX_SIDE_LIMIT 2048

typedef struct {
  float histogram[CHR_BINS]; /* L1-normalised */
  chr_rgb palette[CHR_PALETTE_MAX];
  float palette_weight[CHR_PALETTE_MAX]; /* heaviest first; 0 marks an unused slot */
} chr_image_row;

/* Builds the row of an image already in linear light. CHR_EINVAL "no visible pixel ..." when
 * every pixel has alpha 0 (out is then unspecified). */
chr_status chr_image_row_from_linear(const chr_linear_image *img, chr_image_row *out,
                                     chr_error *err);

/* Downsizes rgba (width*height*4 bytes, straight alpha) to at most max_side
 * (1..CHR_MAX_SIDE_LIMIT) and builds its row. Errors as chr_downsize and
 * chr_image_row_from_linear. */
chr_status chr_image_row_build(const uint8_t *rgba, int width, int height, int max_side,
                               chr_image_row *out, chr_error *err);

/* Rows laid out as the dataset stores them and chr_dataset_writer_put takes them: histograms
 * rows x CHR_BINS, palettes and their weights rows x CHR_PALETTE_MAX, row i at i times that. */
typedef struct {
  float *hists;
  chr_rgb *palettes;
  float *weights;
} chr_image_columns;

/* Allocates columns for rows rows (rows >= 1); 1 on success, 0 when any allocation failed (the
 * caller says so in its own terms; chr_image_columns_free is safe either way). */
int chr_image_columns_alloc(chr_image_columns *c, size_t rows);

void chr_image_columns_free(chr_image_columns *c);

/* Copies row into row i of c. */
void chr_image_columns_set(chr_image_columns *c, size_t i, const chr_image_row *row);

#endif
