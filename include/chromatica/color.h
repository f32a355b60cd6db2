/* Hex colours and sRGB <-> CIE Lab (D65, 2 degree observer), exactly as spec section 1
 * (identical to scikit-image rgb2lab / lab2rgb). Not collective; no allocation. */
#ifndef CHROMATICA_COLOR_H
#define CHROMATICA_COLOR_H

#include <stdint.h>

#include "chromatica/error.h"

typedef struct {
  uint8_t r, g, b;
} chr_rgb;
typedef struct {
  double l, a, b;
} chr_lab;

/* Parses "#rgb", "rgb", "#rrggbb" or "rrggbb" (case-insensitive). Anything else (empty,
 * 4/5/7+ digits, non-hex characters, spaces) is CHR_EINVAL with a message quoting text. */
chr_status chr_hex_parse(const char *text, chr_rgb *out, chr_error *err);

/* Writes lower-case "#rrggbb" and a terminating NUL into out (8 bytes). */
void chr_rgb_to_hex(chr_rgb rgb, char out[8]);

/* sRGB (8-bit) to Lab. */
chr_lab chr_rgb_to_lab(chr_rgb rgb);

/* sRGB with components in [0,1] (not clipped) to Lab; used for averaged pixels. */
chr_lab chr_srgb_unit_to_lab(double r, double g, double b);

/* The spec's sRGB linearisation of one component c in [0,1]. */
double chr_srgb_to_linear(double c);

/* Linear-light RGB (components in [0,1]) to Lab. chr_rgb_to_lab(c) is exactly
 * chr_linear_to_lab of the linearised components, so pixels converted either way agree bit for
 * bit. */
chr_lab chr_linear_to_lab(double r, double g, double b);

/* Linear-light RGB to 8-bit sRGB: gamma-encoded, clipped to [0,1], rounded. */
chr_rgb chr_linear_to_rgb(double r, double g, double b);

/* The exact inverse of chr_rgb_to_lab, clipped to [0,1] and rounded to 8 bits. */
chr_rgb chr_lab_to_rgb(chr_lab lab);

#endif
