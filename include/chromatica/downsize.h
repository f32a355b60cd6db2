/* Area-averaging downsizing of 8-bit RGBA pixels in linear light (issue 4): every output
 * pixel is the coverage-weighted mean of the source pixels under its box, never an upscale.
 * Colours are averaged weighted by alpha, so a fully transparent pixel lends no colour to its
 * neighbours. Pure; not collective; thread-safe. */
#ifndef CHROMATICA_DOWNSIZE_H
#define CHROMATICA_DOWNSIZE_H

#include <stdint.h>

#include "chromatica/error.h"

/* A picture in linear light: pixels[4*(y*width+x) + c] holds, for c = 0..2, the linear sRGB
 * component of the pixel's colour (straight, not premultiplied; 0 where alpha is 0) and, for
 * c = 3, its alpha coverage in [0,1]. Owned by the struct; free with chr_linear_image_free. */
typedef struct {
  int width, height;
  double *pixels;
} chr_linear_image;

/* The output size for a width x height source and a longest-side limit max_side >= 1: the
 * source size when it fits, else the longer side becomes max_side and the shorter side keeps
 * the aspect ratio (rounded, at least 1). */
void chr_downsize_size(int width, int height, int max_side, int *out_width, int *out_height);

/* Converts rgba (width*height*4 bytes, straight alpha) to linear light at the size
 * chr_downsize_size gives. Without resizing, each output pixel is its source pixel exactly
 * (linear value of the 8-bit component, alpha/255). CHR_EINVAL for sizes < 1 or max_side < 1,
 * CHR_ENOMEM when the output cannot be allocated. */
chr_status chr_downsize(const uint8_t *rgba, int width, int height, int max_side,
                        chr_linear_image *out, chr_error *err);

/* Frees the pixels and zeroes the struct. Accepts an already freed one. */
void chr_linear_image_free(chr_linear_image *img);

#endif
