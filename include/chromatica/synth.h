/* Deterministic synthetic images (spec section 9 content, issue "synth"): image i of seed s is
 * a function of (s, i) only, so any split of the rows over ranks gives the same dataset.
 * Each image is a mixture of 1-4 Lab colour blobs sampled as pixels and soft-assigned.
 * Not collective. */
#ifndef CHROMATICA_SYNTH_H
#define CHROMATICA_SYNTH_H

#include <stdint.h>

#include "chromatica/image_row.h"

/* Fills *out with image `index` of dataset `seed`. */
void chr_synth_image_make(uint64_t seed, int64_t index, chr_image_row *out);

#endif
