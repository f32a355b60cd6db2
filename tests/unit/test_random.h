/* Seeded splitmix64 for the unit tests: the same numbers on every run and machine. */
#ifndef CHROMATICA_TEST_RANDOM_H
#define CHROMATICA_TEST_RANDOM_H

#include <stdint.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/grid.h"
#include "chromatica/query.h"

static inline uint64_t next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double uniform(uint64_t *state) {
  return (double)(next(state) >> 11) / 9007199254740992.0;
}

/* A histogram of 1-60 bins around 1-3 random centres (neighbouring bins), summing to 1: image
 * rows whose bounds and EMDs are neither trivial nor all alike (the cascade's tests). */
static inline void random_blob_row(float *row, uint64_t *s) {
  memset(row, 0, CHR_BINS * sizeof *row);
  int centres = 1 + (int)(next(s) % 3), n = 1 + (int)(next(s) % 60), centre[3];
  for (int c = 0; c < centres; ++c) centre[c] = (int)(next(s) % CHR_BINS);
  double total = 0.0;
  for (int j = 0; j < n; ++j) {
    int l, a, b;
    chr_grid_coords(centre[next(s) % (uint64_t)centres], &l, &a, &b);
    l += (int)(next(s) % 3) - 1, a += (int)(next(s) % 5) - 2, b += (int)(next(s) % 5) - 2;
    l = l < 0 ? 0 : l >= CHR_GRID_NL ? CHR_GRID_NL - 1 : l;
    a = a < 0 ? 0 : a >= CHR_GRID_NA ? CHR_GRID_NA - 1 : a;
    b = b < 0 ? 0 : b >= CHR_GRID_NB ? CHR_GRID_NB - 1 : b;
    float m = (float)(uniform(s) + 0.01);
    row[chr_grid_index(l, a, b)] += m;
    total += m;
  }
  for (int t = 0; t < CHR_BINS; ++t) row[t] = (float)(row[t] / total);
}

/* A query of 1 to CHR_QUERY_MAX_COLORS random sRGB colours with random weights, sharpening 1
 * (the cascade's tests): chr_qhist_build's status. */
static inline chr_status random_rgb_query(chr_qhist *q, uint64_t *s) {
  int n = 1 + (int)(next(s) % CHR_QUERY_MAX_COLORS);
  chr_lab col[CHR_QUERY_MAX_COLORS];
  double w[CHR_QUERY_MAX_COLORS];
  for (int k = 0; k < n; ++k) {
    chr_rgb rgb = {(uint8_t)(next(s) & 255), (uint8_t)(next(s) & 255), (uint8_t)(next(s) & 255)};
    col[k] = chr_rgb_to_lab(rgb);
    w[k] = uniform(s) + 0.05;
  }
  chr_error err;
  return chr_qhist_build(col, w, n, 1.0, q, &err);
}

#endif
