#include "chromatica/lists.h"

#include <stdlib.h>
#include <string.h>

/* Copies element `index` of a comma-separated list (without the commas) into buf. Returns the
 * number of elements in text. Elements longer than the buffer are truncated, which is harmless:
 * no valid element is that long and the error message shows the truncated text. */
static int list_element(const char *text, int index, char *buf, size_t size) {
  int count = 1;
  const char *start = text;
  for (const char *p = text; *p != '\0'; ++p) {
    if (*p != ',') continue;
    if (count - 1 == index) {
      size_t len = (size_t)(p - start);
      if (len >= size) len = size - 1;
      memcpy(buf, start, len);
      buf[len] = '\0';
    }
    count++;
    start = p + 1;
  }
  if (count - 1 == index) {
    size_t len = strlen(start);
    if (len >= size) len = size - 1;
    memcpy(buf, start, len);
    buf[len] = '\0';
  }
  return count;
}

static void trim(char *s) {
  size_t len = strlen(s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) s[--len] = '\0';
  size_t lead = strspn(s, " \t");
  memmove(s, s + lead, len - lead + 1);
}

static chr_status check_count(const char *field, const char *text, int count, int max,
                              chr_error *err) {
  if (text[0] == '\0')
    return chr_error_set(err, CHR_EINVAL, "%s '': empty (expected 1 to %d values)", field, max);
  if (count > max)
    return chr_error_set(err, CHR_EINVAL, "%s '%.200s': %d values (expected 1 to %d)", field,
                         text, count, max);
  return CHR_OK;
}

chr_status chr_colors_parse(const char *text, chr_rgb *out, int max, int *n, chr_error *err) {
  char element[64];
  int count = list_element(text, 0, element, sizeof element);
  chr_status status = check_count("colors", text, count, max, err);
  if (status != CHR_OK) return status;
  for (int i = 0; i < count; ++i) {
    list_element(text, i, element, sizeof element);
    trim(element);
    chr_error inner;
    if (chr_hex_parse(element, &out[i], &inner) != CHR_OK)
      return chr_error_set(err, CHR_EINVAL, "colors[%d] %s", i, inner.message);
  }
  *n = count;
  return CHR_OK;
}

chr_status chr_weights_parse(const char *text, double *out, int max, int *n, chr_error *err) {
  char element[64];
  int count = list_element(text, 0, element, sizeof element);
  chr_status status = check_count("weights", text, count, max, err);
  if (status != CHR_OK) return status;
  for (int i = 0; i < count; ++i) {
    list_element(text, i, element, sizeof element);
    trim(element);
    char *end = NULL;
    double value = strtod(element, &end);
    if (element[0] == '\0' || end == NULL || *end != '\0')
      return chr_error_set(err, CHR_EINVAL, "weights[%d] '%s': not a number (expected a number > 0)",
                           i, element);
    out[i] = value;
  }
  *n = count;
  return CHR_OK;
}
