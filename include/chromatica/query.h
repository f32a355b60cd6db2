/* The query histogram (spec section 3): 1-5 weighted colours, soft-assigned and optionally
 * sharpened per colour, as a sparse vector of at most 40 bins. Not collective. */
#ifndef CHROMATICA_QUERY_H
#define CHROMATICA_QUERY_H

#include "chromatica/color.h"
#include "chromatica/error.h"

#define CHR_QUERY_MAX_COLORS 5
#define CHR_QUERY_MAX_BINS (8 * CHR_QUERY_MAX_COLORS)

/* Sparse histogram: bins strictly ascending, every mass > 0, masses sum to 1. */
typedef struct {
  int count;
  int bin[CHR_QUERY_MAX_BINS];
  double mass[CHR_QUERY_MAX_BINS];
} chr_qhist;

/* Builds the query histogram of n colours. weights may be NULL (equal weights); otherwise
 * every weight must be finite and > 0 (they are divided by their sum). sharpen must be
 * finite and >= 1. Errors name the field (colors, weights[i], sharpen) and the value. */
chr_status chr_qhist_build(const chr_lab *colors, const double *weights, int n, double sharpen,
                           chr_qhist *out, chr_error *err);

#endif
