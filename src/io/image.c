/* Format sniffing, pre-decode checks (size, pixel count, truncation) and the two decoders. */
#include "chromatica/image.h"

#include <errno.h>
#include <stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <webp/decode.h>

typedef enum { FORMAT_NONE, FORMAT_PNG, FORMAT_JPEG, FORMAT_GIF, FORMAT_BMP, FORMAT_WEBP } format;

static const char *format_name(format f) {
  static const char *const names[] = {
      [FORMAT_NONE] = "unknown", [FORMAT_PNG] = "PNG", [FORMAT_JPEG] = "JPEG",
      [FORMAT_GIF] = "GIF",      [FORMAT_BMP] = "BMP", [FORMAT_WEBP] = "WebP"};
  return f >= FORMAT_NONE && f <= FORMAT_WEBP ? names[f] : "unknown";
}

static format sniff(const uint8_t *b, size_t n) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 8 && memcmp(b, png, 8) == 0) return FORMAT_PNG;
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return FORMAT_JPEG;
  if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) return FORMAT_GIF;
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return FORMAT_BMP;
  if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) return FORMAT_WEBP;
  return FORMAT_NONE;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

/* A JPEG's last scan (SOS, FF DA) must be followed by its end marker (FF D9). Inside
 * entropy-coded data every FF byte is stuffed (FF 00) or a restart marker, so neither marker
 * can appear there by accident. */
static int jpeg_complete(const uint8_t *b, size_t n) {
  size_t last_sos = 0;
  for (size_t i = 0; i + 1 < n; ++i)
    if (b[i] == 0xff && b[i + 1] == 0xda) last_sos = i;
  for (size_t i = last_sos; i + 1 < n; ++i)
    if (b[i] == 0xff && b[i + 1] == 0xd9) return 1;
  return 0;
}

/* A GIF ends with its trailer byte 0x3B (trailing zero padding tolerated). */
static int gif_complete(const uint8_t *b, size_t n) {
  while (n > 0 && b[n - 1] == 0) n--;
  return n > 0 && b[n - 1] == 0x3b;
}

/* An uncompressed BMP must hold every row its header declares. */
static int bmp_complete(const uint8_t *b, size_t n) {
  if (n < 26) return 0;
  uint32_t offset = le32(b + 10), header = le32(b + 14);
  int64_t width, height;
  uint32_t bpp, compression = 0;
  if (header == 12) {
    width = le16(b + 18);
    height = le16(b + 20);
    bpp = le16(b + 24);
  } else {
    if (n < 34) return 0;
    width = (int32_t)le32(b + 18);
    height = (int32_t)le32(b + 22);
    bpp = le16(b + 28);
    compression = le32(b + 30);
  }
  if (compression != 0 && compression != 3 && compression != 6) return 1; /* decoder decides */
  if (height < 0) height = -height;
  if (width <= 0 || bpp == 0) return 1;
  int64_t stride = ((width * (int64_t)bpp + 31) / 32) * 4;
  return (int64_t)offset + stride * height <= (int64_t)n;
}

/* Headers hold sides below 2^32, so the product of two positive sides is exact in 64 bits
 * unsigned (a signed product could overflow). */
static unsigned long long pixel_count(int64_t width, int64_t height) {
  return (unsigned long long)width * (unsigned long long)height;
}

static chr_status check_pixels(format f, int64_t width, int64_t height, int64_t max_pixels,
                               chr_error *err) {
  if (width < 1 || height < 1)
    return chr_error_set(err, CHR_EFORMAT, "%s header declares %lld x %lld pixels", format_name(f),
                         (long long)width, (long long)height);
  if (pixel_count(width, height) > (unsigned long long)max_pixels)
    return chr_error_set(err, CHR_EINVAL,
                         "too many pixels: %s of %lld x %lld = %llu pixels (limit %lld)",
                         format_name(f), (long long)width, (long long)height,
                         pixel_count(width, height), (long long)max_pixels);
  return CHR_OK;
}

/* stb_image refuses sides over STBI_MAX_DIMENSIONS (its default, 2^24) and buffers whose
 * size overflows an int, some at 2^30 bytes (a 4-channel PNG's raw data); 2^28 pixels stays
 * within every layout. It reports such an image as "too large", except that stbi_info gives
 * up on a PNG with "unknown image type", so the limits are checked here from the header. */
static chr_status check_decoder_limits(format f, int64_t width, int64_t height, chr_error *err) {
  if (width <= CHR_IMAGE_DECODER_MAX_SIDE && height <= CHR_IMAGE_DECODER_MAX_SIDE &&
      pixel_count(width, height) <= CHR_IMAGE_DECODER_MAX_PIXELS)
    return CHR_OK;
  return chr_error_set(err, CHR_EUNSUPPORTED,
                       "cannot decode %s data (stb_image: too large): %lld x %lld = %llu pixels "
                       "(expected at most %lld pixels and %lld per side)",
                       format_name(f), (long long)width, (long long)height,
                       pixel_count(width, height), (long long)CHR_IMAGE_DECODER_MAX_PIXELS,
                       (long long)CHR_IMAGE_DECODER_MAX_SIDE);
}

static void release_stb(void *p) {
  stbi_image_free(p);
}

static void release_webp(void *p) {
  WebPFree(p);
}

static chr_status decode_stb(format f, const uint8_t *b, size_t n, int64_t max_pixels,
                             chr_image *out, chr_error *err) {
  /* stb_image refuses to even describe a PNG whose pixels would pass 1 GiB, so the pixel
   * limit reads PNG sizes from the IHDR chunk itself. */
  if (f == FORMAT_PNG && n >= 24 && memcmp(b + 12, "IHDR", 4) == 0) {
    chr_status st = check_pixels(f, be32(b + 16), be32(b + 20), max_pixels, err);
    if (st == CHR_OK) st = check_decoder_limits(f, be32(b + 16), be32(b + 20), err);
    if (st != CHR_OK) return st;
  }
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(b, (int)n, &w, &h, &comp))
    return chr_error_set(err, CHR_EFORMAT, "cannot read the %s header (stb_image: %s)",
                         format_name(f), stbi_failure_reason());
  chr_status st = check_pixels(f, w, h, max_pixels, err);
  if (st != CHR_OK) return st;
  int complete = f == FORMAT_JPEG  ? jpeg_complete(b, n)
                 : f == FORMAT_GIF ? gif_complete(b, n)
                 : f == FORMAT_BMP ? bmp_complete(b, n)
                                   : 1;
  if (!complete)
    return chr_error_set(err, CHR_EFORMAT, "truncated %s data (its end is missing)",
                         format_name(f));
  if ((st = check_decoder_limits(f, w, h, err)) != CHR_OK) return st;
  uint8_t *pixels = stbi_load_from_memory(b, (int)n, &w, &h, &comp, 4);
  if (pixels == NULL)
    return chr_error_set(err, CHR_EFORMAT, "cannot decode %s data (stb_image: %s)", format_name(f),
                         stbi_failure_reason());
  out->width = w;
  out->height = h;
  out->rgba = pixels;
  out->format = format_name(f);
  out->release = release_stb;
  return CHR_OK;
}

static chr_status decode_webp(const uint8_t *b, size_t n, int64_t max_pixels, chr_image *out,
                              chr_error *err) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(b, n, &features) != VP8_STATUS_OK)
    return chr_error_set(err, CHR_EFORMAT, "cannot read the WebP header (libwebp)");
  if (features.has_animation)
    return chr_error_set(err, CHR_EUNSUPPORTED, "animated WebP (expected a still image)");
  chr_status st = check_pixels(FORMAT_WEBP, features.width, features.height, max_pixels, err);
  if (st != CHR_OK) return st;
  int w = 0, h = 0;
  uint8_t *pixels = WebPDecodeRGBA(b, n, &w, &h);
  if (pixels == NULL)
    return chr_error_set(err, CHR_EFORMAT,
                         "cannot decode WebP data (libwebp: corrupt or truncated)");
  out->width = w;
  out->height = h;
  out->rgba = pixels;
  out->format = "WebP";
  out->release = release_webp;
  return CHR_OK;
}

chr_status chr_image_decode(const uint8_t *bytes, size_t size, int64_t max_pixels, chr_image *out,
                            chr_error *err) {
  memset(out, 0, sizeof *out);
  if (size == 0) return chr_error_set(err, CHR_EFORMAT, "empty file (0 bytes)");
  if (size > (size_t)CHR_IMAGE_MAX_FILE_BYTES)
    return chr_error_set(err, CHR_EINVAL, "file of %zu bytes (limit %lld)", size,
                         (long long)CHR_IMAGE_MAX_FILE_BYTES);
  format f = sniff(bytes, size);
  if (f == FORMAT_NONE) {
    char shown[3 * 8 + 1] = "";
    for (size_t i = 0; i < size && i < 8; ++i)
      snprintf(shown + 3 * i, sizeof shown - 3 * i, "%02x ", bytes[i]);
    if (shown[0] != '\0') shown[strlen(shown) - 1] = '\0';
    return chr_error_set(
        err, CHR_EUNSUPPORTED,
        "unsupported format (first bytes %s; expected JPEG, PNG, WebP, BMP or GIF)", shown);
  }
  if (f == FORMAT_WEBP) return decode_webp(bytes, size, max_pixels, out, err);
  return decode_stb(f, bytes, size, max_pixels, out, err);
}

chr_status chr_image_load(const char *path, int64_t max_pixels, chr_image *out, chr_error *err) {
  memset(out, 0, sizeof *out);
  chr_status st = CHR_OK;
  uint8_t *bytes = NULL;
  struct stat info;
  /* Checked before opening: opening a pipe would block. */
  if (stat(path, &info) == 0 && !S_ISREG(info.st_mode))
    return chr_error_set(err, CHR_EUNSUPPORTED, "not a regular file");
  FILE *f = fopen(path, "rb");
  if (f == NULL || fstat(fileno(f), &info) != 0) {
    st = chr_error_set(err, CHR_EIO, "cannot open (%s)", strerror(errno));
    goto cleanup;
  }
  if (!S_ISREG(info.st_mode)) {
    st = chr_error_set(err, CHR_EUNSUPPORTED, "not a regular file");
    goto cleanup;
  }
  if (info.st_size > CHR_IMAGE_MAX_FILE_BYTES) {
    st = chr_error_set(err, CHR_EINVAL, "file of %lld bytes (limit %lld)", (long long)info.st_size,
                       (long long)CHR_IMAGE_MAX_FILE_BYTES);
    goto cleanup;
  }
  size_t size = (size_t)info.st_size;
  if (size > 0 && (bytes = malloc(size)) == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "out of memory for %zu bytes", size);
    goto cleanup;
  }
  if (size > 0 && fread(bytes, 1, size, f) != size) {
    st = chr_error_set(err, CHR_EIO, "cannot read %zu bytes (%s)", size,
                       ferror(f) ? strerror(errno) : "file shrank while reading");
    goto cleanup;
  }
  st = chr_image_decode(bytes, size, max_pixels, out, err);
cleanup:
  free(bytes);
  if (f != NULL) fclose(f);
  return st;
}

void chr_image_free(chr_image *img) {
  if (img == NULL) return;
  if (img->rgba != NULL && img->release != NULL) img->release(img->rgba);
  memset(img, 0, sizeof *img);
}
