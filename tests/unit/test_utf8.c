// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/json_text.h"
#include "chromatica/utf8.h"
#include "test_random.h"

/* The slow reference: decodes the code point at p by the definition (RFC 3629) and says how
 * many bytes it takes, or 0 when the bytes there are not one. */
static size_t reference_char(const unsigned char *p, size_t avail) {
  if (p[0] < 0x80) return 1;
  size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
  if (n == 0 || p[0] >= 0xF8 || avail < n) return 0;
  uint32_t cp = p[0] & (0xFF >> (n + 1));
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/* The reference escaping: one \xNN per byte not in a character. out holds 4 * len + 1. */
static void reference_escape(const unsigned char *in, size_t len, char *out) {
  size_t used = 0, i = 0;
  while (i < len) {
    size_t n = reference_char(in + i, len - i);
    if (n == 0) {
      used += (size_t)sprintf(out + used, "\\x%02x", in[i]);
      i++;
    } else {
      memcpy(out + used, in + i, n);
      used += n;
      i += n;
    }
  }
  out[used] = '\0';
}

static void escapes_to(const char *in, size_t len, const char *expected) {
  char out[256];
  size_t done = chr_utf8_escape(in, len, 0, out, sizeof out - 1);
  assert_int_equal(done, len);
  assert_string_equal(out, expected);
  assert_true(chr_utf8_valid(out, strlen(out)));
}

static void test_valid_unchanged(void **state) {
  (void)state;
  const char *texts[] = {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 20",
                         "\xF0\x9F\x8E\xA8 palette", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBF",
                         "\xED\x9F\xBF", "\xEE\x80\x80", "tab\tand\x7F", "a\\xe9 stays"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; ++i) {
    assert_true(chr_utf8_valid(texts[i], strlen(texts[i])));
    escapes_to(texts[i], strlen(texts[i]), texts[i]);
    char *copy = chr_utf8_sanitize(texts[i]);
    assert_non_null(copy);
    assert_string_equal(copy, texts[i]);
    free(copy);
  }
}

static void test_each_invalid_class(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"\xFF\xFE" "bad", "\\xff\\xfebad"},                   /* bytes never in UTF-8 */
      {"caf\xE9", "caf\\xe9"},                               /* Latin-1 */
      {"caf\xE9!", "caf\\xe9!"},                             /* lead byte, then ASCII */
      {"\xC0\xAF", "\\xc0\\xaf"},                            /* overlong '/' */
      {"\xE0\x80\xAF", "\\xe0\\x80\\xaf"},                   /* overlong, 3 bytes */
      {"\xF0\x80\x80\xAF", "\\xf0\\x80\\x80\\xaf"},          /* overlong, 4 bytes */
      {"x\x80y", "x\\x80y"},                                 /* lone continuation byte */
      {"\xED\xA0\x80", "\\xed\\xa0\\x80"},                   /* surrogate U+D800 */
      {"\xED\xBF\xBF", "\\xed\\xbf\\xbf"},                   /* surrogate U+DFFF */
      {"\xF4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},          /* U+110000 */
      {"\xF5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},          /* lead byte beyond F4 */
      {"cut\xE2\x82", "cut\\xe2\\x82"},                      /* truncated at the end */
      {"\xE2\x82\xE2\x82\xAC", "\\xe2\\x82\xE2\x82\xAC"},    /* truncated, then a whole one */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    assert_false(chr_utf8_valid(cases[i].in, strlen(cases[i].in)));
    escapes_to(cases[i].in, strlen(cases[i].in), cases[i].out);
    char *copy = chr_utf8_sanitize(cases[i].in);
    assert_non_null(copy);
    assert_string_equal(copy, cases[i].out);
    free(copy);
  }
}

/* controls: control characters escaped too (one-line messages), the rest as before. */
static void test_controls_and_width(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(chr_utf8_escape("a\tb\x7F\xE9", 5, 1, out, 63), 5);
  assert_string_equal(out, "a\\x09b\\x7f\\xe9");
  /* A character or an escape is never cut: what fits is written, the rest counted out. */
  assert_int_equal(chr_utf8_escape("ab\xE9", 3, 0, out, 5), 2);
  assert_string_equal(out, "ab");
  assert_int_equal(chr_utf8_escape("a\xE2\x82\xAC", 4, 0, out, 3), 1);
  assert_string_equal(out, "a");
  assert_int_equal(chr_utf8_escape("a\xE2\x82\xAC", 4, 0, out, 4), 4);
  assert_string_equal(out, "a\xE2\x82\xAC");
}

/* Random byte strings, biased towards bytes that start or continue sequences: the escaping
 * equals the reference's, is valid UTF-8, and valid input comes back unchanged. */
static void test_random_against_reference(void **state) {
  (void)state;
  static const unsigned char interesting[] = {0x00, 0x41, 0x5C, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                              0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED,
                                              0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xFE, 0xFF};
  uint64_t seed = 20240613;
  unsigned char in[24];
  char got[4 * sizeof in + 1], want[4 * sizeof in + 1];
  for (int round = 0; round < 200000; ++round) {
    size_t len = (size_t)(next(&seed) % sizeof in);
    for (size_t i = 0; i < len; ++i) {
      uint64_t r = next(&seed);
      in[i] = r & 1 ? interesting[(r >> 1) % sizeof interesting] : (unsigned char)(r >> 8);
      if (in[i] == 0) in[i] = 0x01; /* chr_utf8_sanitize takes NUL-terminated text */
    }
    reference_escape(in, len, want);
    size_t done = chr_utf8_escape((const char *)in, len, 0, got, sizeof got - 1);
    assert_int_equal(done, len);
    assert_string_equal(got, want);
    assert_true(chr_utf8_valid(got, strlen(got)));
    int valid = 1;
    for (size_t i = 0; i < len && valid;) {
      size_t n = reference_char(in + i, len - i);
      valid = n != 0;
      i += n;
    }
    assert_int_equal(chr_utf8_valid((const char *)in, len), valid);
    if (valid) assert_memory_equal(got, in, len);
    char text[sizeof in + 1];
    memcpy(text, in, len);
    text[len] = '\0';
    char *copy = chr_utf8_sanitize(text);
    assert_non_null(copy);
    assert_string_equal(copy, want);
    free(copy);
  }
}

/* What the JSON writers produce: a document Python's json.load reads, the bytes as \xNN. */
static void test_json_text(void **state) {
  (void)state;
  cJSON *o = cJSON_CreateObject();
  assert_true(chr_json_add_text(o, "id", "caf\xE9"));
  assert_true(chr_json_add_text(o, "ok", "caf\xC3\xA9"));
  assert_true(chr_json_add_text(o, "none", NULL));
  cJSON *a = cJSON_AddArrayToObject(o, "list");
  assert_true(chr_json_push_text(a, "\xFF"));
  char *text = cJSON_PrintUnformatted(o);
  assert_string_equal(text,
                      "{\"id\":\"caf\\\\xe9\",\"ok\":\"caf\xC3\xA9\",\"none\":\"\",\"list\":[\"\\\\xff\"]}");
  assert_true(chr_utf8_valid(text, strlen(text)));
  cJSON_free(text);
  cJSON_Delete(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_unchanged),
      cmocka_unit_test(test_each_invalid_class),
      cmocka_unit_test(test_controls_and_width),
      cmocka_unit_test(test_random_against_reference),
      cmocka_unit_test(test_json_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
