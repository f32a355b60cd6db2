/* Deterministic synthetic images (spec section 9 content, issue "synth"): image i of seed s is
 * a function of (s, i) only, so any split of the rows over ranks gives the same dataset.
 * Each image is a mixture of 1-4 Lab colour blobs sampled as pixels and soft-assigned.
 * Not collective. */
#ifndef CHROMATICA_SYNTH_H
#define CHROMATICA_SYNTH_H

#include <stdint.h>
#include "chromatica/color.h"
#include "chromatica/grid.h"

#define CHR_PALETTE_MAX 5

typedef struct {
  float histogram[CHR_BINS]; /* L1-normalised */
  chr_rgb palette[CHR_PALETTE_MAX];
  float palette_weight[CHR_PALETTE_MAX]; /* heaviest first; 0 marks an unused slot */
} chr_synth_image;

/* Fills *out with image `index` of dataset `seed`. */
void chr_synth_image_make(uint64_t seed, int64_t index, chr_synth_image *out);

#endif
