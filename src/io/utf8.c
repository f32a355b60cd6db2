#include "chromatica/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t chr_utf8_char(const char *p, size_t avail) {
  const unsigned char *u = (const unsigned char *)p;
  unsigned lead = u[0], lo = 0x80, hi = 0xBF;
  size_t n = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) n = 2; /* C0, C1: overlong forms of ASCII */
  if (lead >= 0xE0 && lead <= 0xEF) n = 3;
  if (lead >= 0xF0 && lead <= 0xF4) n = 4; /* F5 and above: beyond U+10FFFF */
  if (lead == 0xE0) lo = 0xA0;             /* E0 80-9F: overlong */
  if (lead == 0xED) hi = 0x9F;             /* ED A0-BF: surrogates */
  if (lead == 0xF0) lo = 0x90;             /* F0 80-8F: overlong */
  if (lead == 0xF4) hi = 0x8F;             /* F4 90 and above: beyond U+10FFFF */
  if (n == 0 || avail < n || u[1] < lo || u[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (u[i] < 0x80 || u[i] > 0xBF) return 0;
  return n;
}

int chr_utf8_valid(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t n = chr_utf8_char(s + i, len - i);
    if (n == 0) return 0;
    i += n;
  }
  return 1;
}

size_t chr_utf8_escape(const char *in, size_t len, int controls, char *out, size_t max) {
  const unsigned char *p = (const unsigned char *)in;
  size_t used = 0, i = 0;
  while (i < len) {
    int control = p[i] < 0x20 || p[i] == 0x7F;
    size_t n = controls && control ? 0 : chr_utf8_char(in + i, len - i);
    size_t width = n == 0 ? 4 : n;
    if (used + width > max) break;
    if (n == 0)
      snprintf(out + used, 5, "\\x%02x", (unsigned)p[i]);
    else
      memcpy(out + used, p + i, n);
    used += width;
    i += n == 0 ? 1 : n;
  }
  out[used] = '\0';
  return i;
}

char *chr_utf8_sanitize(const char *s) {
  size_t len = strlen(s), need = 0, i = 0;
  while (i < len) { /* exact size: an escape takes 4 bytes, a character its own length */
    size_t n = chr_utf8_char(s + i, len - i);
    if (need > SIZE_MAX - 5) return NULL;
    need += n == 0 ? 4 : n;
    i += n == 0 ? 1 : n;
  }
  char *out = malloc(need + 1);
  if (out != NULL) chr_utf8_escape(s, len, 0, out, need);
  return out;
}
