#include "chromatica/thumbnail.h"

#include <math.h>
#include <stb_image_write.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/downsize.h"
#include "chromatica/image.h"

static const char base64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *chr_base64_encode(const uint8_t *data, size_t len) {
  if (len > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
  size_t out_len = (len + 2) / 3 * 4;
  char *out = malloc(out_len + 1);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < len) v |= data[i + 2];
    out[o++] = base64_digits[(v >> 18) & 63];
    out[o++] = base64_digits[(v >> 12) & 63];
    out[o++] = i + 1 < len ? base64_digits[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? base64_digits[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

typedef struct {
  uint8_t *data;
  size_t len, cap;
  int failed;
} byte_sink;

/* stb_image_write hands the file over in pieces; they are gathered in one growing buffer. */
static void sink_write(void *context, void *data, int size) {
  byte_sink *s = context;
  if (s->failed || size <= 0) return;
  if (s->len + (size_t)size > s->cap) {
    size_t cap = s->cap == 0 ? 4096 : s->cap;
    while (cap < s->len + (size_t)size) cap *= 2;
    uint8_t *grown = realloc(s->data, cap);
    if (grown == NULL) {
      s->failed = 1;
      return;
    }
    s->data = grown;
    s->cap = cap;
  }
  memcpy(s->data + s->len, data, (size_t)size);
  s->len += (size_t)size;
}

chr_status chr_png_encode(const uint8_t *rgba, int width, int height, uint8_t **png,
                          size_t *png_len, chr_error *err) {
  *png = NULL;
  *png_len = 0;
  if (width < 1 || height < 1 || width > (1 << 20) / 4 || height > (1 << 20))
    return chr_error_set(err, CHR_EINVAL,
                         "png: image size %d x %d (expected 1..262144 x 1..1048576)", width,
                         height);
  byte_sink sink = {NULL, 0, 0, 0};
  int ok = stbi_write_png_to_func(sink_write, &sink, width, height, 4, rgba, width * 4);
  if (!ok || sink.failed) {
    free(sink.data);
    return chr_error_set(err, CHR_ENOMEM, "png: out of memory encoding a %d x %d image", width,
                         height);
  }
  *png = sink.data;
  *png_len = sink.len;
  return CHR_OK;
}

/* Back from linear light to 8-bit sRGB with straight alpha. */
static uint8_t *linear_to_rgba(const chr_linear_image *lin) {
  size_t n = (size_t)lin->width * (size_t)lin->height;
  uint8_t *rgba = malloc(n * 4);
  if (rgba == NULL) return NULL;
  for (size_t i = 0; i < n; ++i) {
    const double *p = &lin->pixels[4 * i];
    chr_rgb c = chr_linear_to_rgb(p[0], p[1], p[2]);
    double a = p[3] < 0 ? 0 : p[3] > 1 ? 1 : p[3];
    rgba[4 * i] = c.r;
    rgba[4 * i + 1] = c.g;
    rgba[4 * i + 2] = c.b;
    rgba[4 * i + 3] = (uint8_t)lround(a * 255.0);
  }
  return rgba;
}

chr_status chr_thumbnail_data_uri(const char *path, int max_side, char **uri, int *width,
                                  int *height, chr_error *err) {
  static const char prefix[] = "data:image/png;base64,";
  *uri = NULL;
  chr_status st = CHR_OK;
  chr_image img = {0};
  chr_linear_image lin = {0};
  uint8_t *rgba = NULL, *png = NULL;
  char *text = NULL;
  size_t png_len = 0;
  chr_error inner;
  if (max_side < CHR_THUMBNAIL_SIDE_MIN || max_side > CHR_THUMBNAIL_SIDE_MAX) {
    st = chr_error_set(err, CHR_EINVAL, "thumbnail side %d (expected %d..%d)", max_side,
                       CHR_THUMBNAIL_SIDE_MIN, CHR_THUMBNAIL_SIDE_MAX);
    goto cleanup;
  }
  if ((st = chr_image_load(path, CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &inner)) != CHR_OK ||
      (st = chr_downsize(img.rgba, img.width, img.height, max_side, &lin, &inner)) != CHR_OK ||
      ((rgba = linear_to_rgba(&lin)) == NULL &&
       (st = chr_error_set(&inner, CHR_ENOMEM, "out of memory")) != CHR_OK) ||
      (st = chr_png_encode(rgba, lin.width, lin.height, &png, &png_len, &inner)) != CHR_OK) {
    chr_error_set(err, st, "%s: %s", path, inner.message);
    goto cleanup;
  }
  if ((text = chr_base64_encode(png, png_len)) == NULL ||
      (*uri = malloc(sizeof prefix + strlen(text))) == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "%s: out of memory for its thumbnail", path);
    goto cleanup;
  }
  memcpy(*uri, prefix, sizeof prefix - 1);
  strcpy(*uri + sizeof prefix - 1, text);
  *width = lin.width;
  *height = lin.height;
cleanup:
  free(text);
  free(png);
  free(rgba);
  chr_linear_image_free(&lin);
  chr_image_free(&img);
  return st;
}
