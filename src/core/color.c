#include "chromatica/color.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* D65 reference white, 2 degree observer (scikit-image xyz_ref_white). */
static const double white[3] = {0.95047, 1.0, 1.08883};

/* sRGB -> XYZ as in the spec (scikit-image xyz_from_rgb). */
static const double xyz_from_rgb[3][3] = {
    {0.412453, 0.357580, 0.180423}, {0.212671, 0.715160, 0.072169}, {0.019334, 0.119193, 0.950227}};

/* numpy.linalg.inv(xyz_from_rgb), printed to round-trip precision: the same numbers
 * scikit-image uses for lab2rgb, so our inverse matches it bit for bit where numpy does. */
static const double rgb_from_xyz[3][3] = {
    {3.2404813432005266, -1.5371515162713183, -0.4985363261688878},
    {-0.9692549499965682, 1.8759900014898907, 0.04155592655829284},
    {0.055646639135177166, -0.20404133836651123, 1.0573110696453443}};

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

chr_status chr_hex_parse(const char *text, chr_rgb *out, chr_error *err) {
  if (text == NULL) return chr_error_set(err, CHR_EINVAL, "missing hex colour");
  const char *digits = text[0] == '#' ? text + 1 : text;
  size_t len = strlen(digits);
  int value[6];
  int ok = (len == 3 || len == 6);
  for (size_t i = 0; ok && i < len; ++i) {
    value[i] = hex_digit(digits[i]);
    if (value[i] < 0) ok = 0;
  }
  if (!ok)
    return chr_error_set(err, CHR_EINVAL, "'%.64s': not a hex colour (expected RGB or RRGGBB)",
                         text);
  if (len == 3) {
    /* Short form doubles each digit: F00 means FF0000. */
    out->r = (uint8_t)(value[0] * 17);
    out->g = (uint8_t)(value[1] * 17);
    out->b = (uint8_t)(value[2] * 17);
  } else {
    out->r = (uint8_t)(value[0] * 16 + value[1]);
    out->g = (uint8_t)(value[2] * 16 + value[3]);
    out->b = (uint8_t)(value[4] * 16 + value[5]);
  }
  return CHR_OK;
}

void chr_rgb_to_hex(chr_rgb rgb, char out[8]) {
  snprintf(out, 8, "#%02x%02x%02x", (unsigned)rgb.r, (unsigned)rgb.g, (unsigned)rgb.b);
}

static double linearise(double c) {
  return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double lab_f(double t) {
  return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
}

/* Inverse of lab_f with scikit-image's threshold (0.2068966 ~ cbrt(0.008856)), so that
 * lab2rgb here and in Python agree on which branch a value takes. */
static double lab_f_inv(double t) {
  return t > 0.2068966 ? t * t * t : (t - 16.0 / 116.0) / 7.787;
}

static double gamma_encode(double c) {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

double chr_srgb_to_linear(double c) {
  return linearise(c);
}

chr_lab chr_linear_to_lab(double r, double g, double b) {
  const double lin[3] = {r, g, b};
  double f[3];
  for (int i = 0; i < 3; ++i) {
    double xyz =
        xyz_from_rgb[i][0] * lin[0] + xyz_from_rgb[i][1] * lin[1] + xyz_from_rgb[i][2] * lin[2];
    f[i] = lab_f(xyz / white[i]);
  }
  chr_lab lab = {116.0 * f[1] - 16.0, 500.0 * (f[0] - f[1]), 200.0 * (f[1] - f[2])};
  return lab;
}

chr_lab chr_srgb_unit_to_lab(double r, double g, double b) {
  return chr_linear_to_lab(linearise(r), linearise(g), linearise(b));
}

chr_lab chr_rgb_to_lab(chr_rgb rgb) {
  return chr_srgb_unit_to_lab(rgb.r / 255.0, rgb.g / 255.0, rgb.b / 255.0);
}

static uint8_t to_byte(double c) {
  /* Written so that NaN lands on 0 rather than in undefined conversion behaviour. */
  if (!(c > 0.0)) return 0;
  if (c >= 1.0) return 255;
  return (uint8_t)floor(c * 255.0 + 0.5);
}

chr_rgb chr_linear_to_rgb(double r, double g, double b) {
  chr_rgb rgb = {to_byte(gamma_encode(r)), to_byte(gamma_encode(g)), to_byte(gamma_encode(b))};
  return rgb;
}

chr_rgb chr_lab_to_rgb(chr_lab lab) {
  double f[3];
  f[1] = (lab.l + 16.0) / 116.0;
  f[0] = lab.a / 500.0 + f[1];
  f[2] = f[1] - lab.b / 200.0;
  /* scikit-image clips a negative z (impossible colour) to 0 before inverting f. */
  if (f[2] < 0.0) f[2] = 0.0;
  double xyz[3];
  for (int i = 0; i < 3; ++i) xyz[i] = lab_f_inv(f[i]) * white[i];
  double c[3];
  for (int i = 0; i < 3; ++i)
    c[i] = gamma_encode(rgb_from_xyz[i][0] * xyz[0] + rgb_from_xyz[i][1] * xyz[1] +
                        rgb_from_xyz[i][2] * xyz[2]);
  chr_rgb rgb = {to_byte(c[0]), to_byte(c[1]), to_byte(c[2])};
  return rgb;
}
