/* Small thumbnails for the HTML report (issue 16): an image file decoded with the same readers
 * `chromatica build` uses (image.h), downsized by area averaging in linear light (downsize.h),
 * encoded as PNG with stb_image_write (libstb-dev) and written as a base64 data URI, so a page
 * holding it needs no other file. No MPI calls; not collective; thread-safe. */
#ifndef CHROMATICA_THUMBNAIL_H
#define CHROMATICA_THUMBNAIL_H

#include <stddef.h>
#include <stdint.h>

#include "chromatica/error.h"

#define CHR_THUMBNAIL_SIDE_MIN 8
#define CHR_THUMBNAIL_SIDE_MAX 512

/* The RFC 4648 base64 text (with '=' padding, no line breaks) of len bytes at data, NUL
 * terminated; NULL when out of memory. The caller frees it. */
char *chr_base64_encode(const uint8_t *data, size_t len);

/* Encodes width x height 8-bit RGBA pixels (straight alpha) as a PNG file in memory. On success
 * *png (freed by the caller with free()) holds *png_len bytes. CHR_EINVAL for sizes < 1,
 * CHR_ENOMEM when the encoder fails (it only fails for lack of memory). */
chr_status chr_png_encode(const uint8_t *rgba, int width, int height, uint8_t **png,
                          size_t *png_len, chr_error *err);

/* Loads the image file at path (chr_image_load, default pixel limit), shrinks it so that its
 * longer side is at most max_side pixels (CHR_THUMBNAIL_SIDE_MIN..MAX; never enlarged) and
 * returns "data:image/png;base64,..." in *uri (freed by the caller), its size in *width and
 * *height. Errors are those of chr_image_load and chr_downsize, the message prefixed with path. */
chr_status chr_thumbnail_data_uri(const char *path, int max_side, char **uri, int *width,
                                  int *height, chr_error *err);

#endif
