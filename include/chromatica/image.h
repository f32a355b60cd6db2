/* Decoding image files into 8-bit RGBA (issue 4): PNG, JPEG, BMP and GIF with stb_image
 * (libstb-dev), WebP with libwebp. The format comes from the file's first bytes, never its
 * name. Files are checked before decoding: empty files, more than max_pixels pixels, files
 * over CHR_IMAGE_MAX_FILE_BYTES, truncated JPEG/GIF/BMP data (which stb_image would otherwise
 * fill in silently) and images over stb_image's own size limits are refused. No MPI calls; not
 * collective; thread-safe (each call owns its buffers). Error messages describe the content, not
 * the path: callers add it. */
#ifndef CHROMATICA_IMAGE_H
#define CHROMATICA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "chromatica/error.h"

#define CHR_IMAGE_MAX_PIXELS_DEFAULT 100000000LL /* 100 megapixels: 400 MB decoded */
#define CHR_IMAGE_MAX_FILE_BYTES (1LL << 30)
/* The largest PNG, JPEG, BMP or GIF that stb_image decodes in every pixel layout, whatever
 * max_pixels allows (WebP's own format stops at 16383 x 16383). */
#define CHR_IMAGE_DECODER_MAX_PIXELS (1LL << 28)
#define CHR_IMAGE_DECODER_MAX_SIDE (1LL << 24)

typedef struct {
  int width, height;
  uint8_t *rgba;           /* width*height*4 bytes, row-major, straight alpha; owned */
  const char *format;      /* "PNG", "JPEG", "GIF", "BMP" or "WebP" (static) */
  void (*release)(void *); /* the decoder's own free for rgba; used by chr_image_free */
} chr_image;

/* Decodes bytes[0..size). Errors: CHR_EFORMAT (empty, truncated or corrupt data, naming the
 * format and the decoder's reason), CHR_EUNSUPPORTED (not one of the five formats, or an
 * animated WebP, or a PNG/JPEG/BMP/GIF over the CHR_IMAGE_DECODER_MAX_ limits), CHR_EINVAL (more
 * than max_pixels pixels); both limits are checked from the header before any pixel is decoded.
 * CHR_ENOMEM. On success the caller frees out with chr_image_free. */
chr_status chr_image_decode(const uint8_t *bytes, size_t size, int64_t max_pixels, chr_image *out,
                            chr_error *err);

/* Reads path whole and decodes it; CHR_EIO when it cannot be opened or read, CHR_EINVAL when
 * it is larger than CHR_IMAGE_MAX_FILE_BYTES; otherwise as chr_image_decode. */
chr_status chr_image_load(const char *path, int64_t max_pixels, chr_image *out, chr_error *err);

/* Frees the pixels and zeroes the struct. Accepts an already freed one. */
void chr_image_free(chr_image *img);

#endif
