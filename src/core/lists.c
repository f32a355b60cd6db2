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

/* Element `index` of text, without surrounding blanks, in buf. */
static void element_at(const char *text, int index, char *buf, size_t size) {
  list_element(text, index, buf, size);
  size_t len = strlen(buf);
  while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) buf[--len] = '\0';
  size_t lead = strspn(buf, " \t");
  memmove(buf, buf + lead, len - lead + 1);
}

/* *count = the number of elements of text, which must be 1 to max. */
static chr_status count_elements(const char *field, const char *text, int max, int *count,
                                 chr_error *err) {
  char ignored[1];
  *count = list_element(text, 0, ignored, sizeof ignored);
  if (text[0] == '\0')
    return chr_error_set(err, CHR_EINVAL, "%s '': empty (expected 1 to %d values)", field, max);
  if (*count > max)
    return chr_error_set(err, CHR_EINVAL, "%s '%.200s': %d values (expected 1 to %d)", field, text,
                         *count, max);
  return CHR_OK;
}

/* Parses element i (already trimmed) into slot i of out. */
typedef chr_status (*element_parser)(const char *element, int i, void *out, chr_error *err);

/* The one shape of every list: 1 to max elements, each parsed by parse; *n set on success. */
static chr_status parse_list(const char *field, const char *text, int max, element_parser parse,
                             void *out, int *n, chr_error *err) {
  int count = 0;
  chr_status status = count_elements(field, text, max, &count, err);
  for (int i = 0; status == CHR_OK && i < count; ++i) {
    char element[64];
    element_at(text, i, element, sizeof element);
    status = parse(element, i, out, err);
  }
  if (status == CHR_OK) *n = count;
  return status;
}

static chr_status parse_color(const char *element, int i, void *out, chr_error *err) {
  chr_error inner;
  if (chr_hex_parse(element, &((chr_rgb *)out)[i], &inner) != CHR_OK)
    return chr_error_set(err, CHR_EINVAL, "colors[%d] %s", i, inner.message);
  return CHR_OK;
}

static chr_status parse_weight(const char *element, int i, void *out, chr_error *err) {
  char *end = NULL;
  double value = strtod(element, &end);
  if (element[0] == '\0' || end == NULL || *end != '\0')
    return chr_error_set(err, CHR_EINVAL, "weights[%d] '%s': not a number (expected a number > 0)",
                         i, element);
  ((double *)out)[i] = value;
  return CHR_OK;
}

chr_status chr_colors_parse(const char *text, chr_rgb *out, int max, int *n, chr_error *err) {
  return parse_list("colors", text, max, parse_color, out, n, err);
}

chr_status chr_weights_parse(const char *text, double *out, int max, int *n, chr_error *err) {
  return parse_list("weights", text, max, parse_weight, out, n, err);
}
