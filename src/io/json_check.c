#include "json_check.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/utf8.h"

typedef struct {
  size_t offset, length;
} overflow;

struct chr_json_check {
  chr_json_finding *found; /* one per group at most, in increasing group order */
  size_t n_found, cap_found;
  chr_json_finding loose;
  int has_loose;
  overflow *overflows;
  size_t n_overflows, cap_overflows;
};

/* The reading state. where holds the path of the value being read; the part from base on is
 * the path relative to the current group element. */
typedef struct {
  const unsigned char *text;
  size_t len, pos;
  int depth;
  const char *group_key;
  int group_seen; /* the group array is the first root value under group_key */
  int group;      /* the group element being read, or -1 */
  char where[CHR_JSON_WHERE_MAX];
  size_t where_len, base;
  chr_json_check *out;
  chr_error *err;
} scanner;

static chr_status check_value(scanner *s, int is_group);

/* ------------------------------------------------------------------ characters */

/* The escaping is chr_utf8_escape's, shared with every JSON writer, so a byte looks the same
 * in a message about a batch and in a report listing a dataset id. */
void chr_json_show(const char *bytes, size_t len, size_t max, char *out) {
  size_t done = chr_utf8_escape(bytes, len, 1, out, max);
  strcpy(out + strlen(out), done < len ? "..." : "");
}

/* ------------------------------------------------------------------ reading helpers */

static int peek(const scanner *s) {
  return s->pos < s->len ? s->text[s->pos] : -1;
}

static int is_digit(int c) {
  return c >= '0' && c <= '9';
}

static void skip_space(scanner *s) {
  while (s->pos < s->len) {
    int c = s->text[s->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    s->pos++;
  }
}

static size_t skip_digits(scanner *s) {
  size_t start = s->pos;
  while (is_digit(peek(s))) s->pos++;
  return s->pos - start;
}

/* The value of the 4 hex digits at p (avail bytes readable), or -1. */
static long hex4(const unsigned char *p, size_t avail) {
  long value = 0;
  if (avail < 4) return -1;
  for (size_t i = 0; i < 4; ++i) {
    int c = p[i];
    int digit = is_digit(c)            ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/* expected may be NULL. */
static chr_status fail_at(scanner *s, size_t at, const char *what, const char *expected) {
  return chr_error_set(s->err, CHR_EINVAL, "not valid JSON (%s near byte %zu%s%s)", what, at,
                       expected ? "; expected " : "", expected ? expected : "");
}

static chr_status fail_expected(scanner *s, const char *what) {
  return chr_error_set(s->err, CHR_EINVAL, "not valid JSON (expected %s%s near byte %zu)", what,
                       s->pos == s->len ? ", found the end of the text" : "", s->pos);
}

/* items (of *cap elements of size bytes) with room for need elements, or NULL (items is then
 * unchanged and still owned by the caller). */
static void *grow(void *items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return items;
  size_t cap2 = *cap ? *cap * 2 : 16;
  void *bigger = realloc(items, cap2 * size);
  if (bigger != NULL) *cap = cap2;
  return bigger;
}

/* ------------------------------------------------------------------ paths and findings */

static size_t where_push_key(scanner *s, size_t key_start, size_t key_end) {
  size_t saved = s->where_len, room = sizeof s->where - s->where_len;
  if (room < 8) return saved; /* no room left: the path stays cut short */
  if (s->where_len > s->base) {
    s->where[s->where_len++] = '.';
    room--;
  }
  chr_json_show((const char *)s->text + key_start, key_end - key_start,
                room - 4 < 40 ? room - 4 : 40, s->where + s->where_len);
  s->where_len += strlen(s->where + s->where_len);
  return saved;
}

static size_t where_push_index(scanner *s, size_t index) {
  size_t saved = s->where_len;
  snprintf(s->where + saved, sizeof s->where - saved, "[%zu]", index);
  s->where_len += strlen(s->where + saved);
  return saved;
}

static void where_pop(scanner *s, size_t saved) {
  s->where_len = saved;
  s->where[saved] = '\0';
}

/* Records a flawed string (its opening quote at start; s->pos just after its closing quote),
 * keeping only the first per group element and the first outside them. */
static chr_status note_finding(scanner *s, chr_json_flaw flaw, int in_key, size_t start) {
  chr_json_check *c = s->out;
  chr_json_finding *f = NULL;
  if (s->group < 0 && c->has_loose) return CHR_OK;
  if (s->group >= 0 && c->n_found > 0 && c->found[c->n_found - 1].group == s->group) return CHR_OK;
  if (s->group < 0) {
    f = &c->loose;
    c->has_loose = 1;
  } else {
    chr_json_finding *found = grow(c->found, &c->cap_found, c->n_found + 1, sizeof *found);
    if (found == NULL)
      return chr_error_set(s->err, CHR_ENOMEM, "out of memory listing flawed strings");
    c->found = found;
    f = &c->found[c->n_found++];
  }
  f->flaw = flaw;
  f->group = s->group;
  f->in_key = in_key;
  f->offset = start;
  snprintf(f->where, sizeof f->where, "%s", s->where + s->base);
  chr_json_show((const char *)s->text + start + 1, s->pos - start - 2, CHR_JSON_SHOWN_MAX - 4,
                f->shown);
  return CHR_OK;
}

/* Records the number just read (from start to s->pos) if it is too large for a double. */
static chr_status note_overflow(scanner *s, size_t start) {
  chr_json_check *c = s->out;
  size_t length = s->pos - start;
  char small[64];
  char *copy = length < sizeof small ? small : malloc(length + 1);
  if (copy == NULL) return chr_error_set(s->err, CHR_ENOMEM, "out of memory reading a number");
  memcpy(copy, s->text + start, length);
  copy[length] = '\0';
  int overflows = isinf(strtod(copy, NULL));
  if (copy != small) free(copy);
  if (!overflows) return CHR_OK;
  overflow *list = grow(c->overflows, &c->cap_overflows, c->n_overflows + 1, sizeof *list);
  if (list == NULL) return chr_error_set(s->err, CHR_ENOMEM, "out of memory listing large numbers");
  c->overflows = list;
  c->overflows[c->n_overflows].offset = start;
  c->overflows[c->n_overflows].length = length;
  c->n_overflows++;
  return CHR_OK;
}

/* ------------------------------------------------------------------ the grammar */

/* At a backslash inside a string: checks one escape (a surrogate pair counts as one). */
static chr_status check_escape(scanner *s, int *has_nul) {
  size_t at = s->pos;
  int c = at + 1 < s->len ? s->text[at + 1] : -1;
  if (c > 0 && strchr("\"\\/bfnrt", c) != NULL) {
    s->pos += 2;
    return CHR_OK;
  }
  long unit = c == 'u' ? hex4(s->text + at + 2, s->len - at - 2) : -1;
  char what[40];
  if (unit < 0) {
    if (c == 'u')
      snprintf(what, sizeof what, "\\u escape without 4 hex digits");
    else if (c > 0x20 && c < 0x7F)
      snprintf(what, sizeof what, "invalid escape \\%c", c);
    else
      snprintf(what, sizeof what, "invalid escape");
    return fail_at(s, at, what, "\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and 4 hex digits");
  }
  s->pos = at + 6;
  *has_nul |= unit == 0;
  if (unit >= 0xD800 && unit <= 0xDBFF && peek(s) == '\\' && s->pos + 1 < s->len &&
      s->text[s->pos + 1] == 'u') {
    long low = hex4(s->text + s->pos + 2, s->len - s->pos - 2);
    if (low >= 0xDC00 && low <= 0xDFFF) {
      s->pos += 6;
      return CHR_OK;
    }
  }
  if (unit < 0xD800 || unit > 0xDFFF) return CHR_OK;
  snprintf(what, sizeof what, "lone UTF-16 surrogate %.6s", (const char *)s->text + at);
  return fail_at(s, at, what, "a \\uD800-\\uDBFF escape followed by a \\uDC00-\\uDFFF one");
}

/* At the opening quote of a string (a key if is_key): reads it up to its closing quote. */
static chr_status check_string(scanner *s, int is_key) {
  size_t start = s->pos++;
  int has_nul = 0, bad_utf8 = 0;
  for (int c = peek(s); c != '"'; c = peek(s)) {
    char what[64];
    if (c < 0) return fail_at(s, start, "string not closed before the end of the text", NULL);
    if (c < 0x20) {
      snprintf(what, sizeof what, "raw control character 0x%02x in a string", (unsigned)c);
      return fail_at(s, s->pos, what, "it written as an escape such as \\t or \\u0001");
    }
    if (c == '\\') {
      chr_status status = check_escape(s, &has_nul);
      if (status != CHR_OK) return status;
      continue;
    }
    size_t n = chr_utf8_char((const char *)s->text + s->pos, s->len - s->pos);
    bad_utf8 |= n == 0;
    s->pos += n == 0 ? 1 : n;
  }
  s->pos++;
  if (has_nul) return note_finding(s, CHR_JSON_HAS_NUL, is_key, start);
  /* A key that is not UTF-8 matches no known key; its warning shows the bytes escaped. */
  if (bad_utf8 && !is_key) return note_finding(s, CHR_JSON_BAD_UTF8, is_key, start);
  return CHR_OK;
}

static chr_status check_number(scanner *s) {
  size_t start = s->pos;
  if (peek(s) == '-') s->pos++;
  if (peek(s) == '0') {
    s->pos++;
    if (is_digit(peek(s)))
      return fail_at(s, start, "number with a leading zero", "0 alone or a digit 1-9 first");
  } else if (skip_digits(s) == 0) {
    return fail_expected(s, "a digit");
  }
  if (peek(s) == '.') {
    s->pos++;
    if (skip_digits(s) == 0) return fail_expected(s, "a digit after '.'");
  }
  if (peek(s) == 'e' || peek(s) == 'E') {
    s->pos++;
    if (peek(s) == '+' || peek(s) == '-') s->pos++;
    if (skip_digits(s) == 0) return fail_expected(s, "a digit in the exponent");
  }
  return note_overflow(s, start);
}

static chr_status check_literal(scanner *s, const char *word) {
  size_t n = strlen(word);
  if (s->len - s->pos < n || memcmp(s->text + s->pos, word, n) != 0)
    return fail_expected(s, "a value");
  s->pos += n;
  return CHR_OK;
}

/* Whether the key text (as written, between its quotes) reads as the plain ASCII name. */
static int key_equals(const unsigned char *key, size_t len, const char *name) {
  size_t i = 0, j = 0;
  for (; i < len && name[j] != '\0'; ++j) {
    int c = key[i];
    if (c == '\\' && i + 1 < len && key[i + 1] == 'u') {
      c = (int)hex4(key + i + 2, len - i - 2);
      i += 6;
    } else if (c == '\\' && i + 1 < len) {
      c = key[i + 1] == '/' || key[i + 1] == '"' || key[i + 1] == '\\' ? key[i + 1] : -1;
      i += 2;
    } else {
      i++;
    }
    if (c != (unsigned char)name[j]) return 0;
  }
  return i == len && name[j] == '\0';
}

static chr_status enter(scanner *s) {
  if (s->depth == CHR_JSON_DEPTH_MAX)
    return chr_error_set(s->err, CHR_EINVAL,
                         "nested deeper than %d levels near byte %zu (expected at most %d "
                         "arrays and objects one inside another)",
                         CHR_JSON_DEPTH_MAX, s->pos, CHR_JSON_DEPTH_MAX);
  s->depth++;
  s->pos++;
  return CHR_OK;
}

/* At the closing bracket of an array or object. */
static chr_status leave(scanner *s) {
  s->depth--;
  s->pos++;
  return CHR_OK;
}

/* At the opening quote of a key: reads "key": value. */
static chr_status check_member(scanner *s) {
  size_t key_start = s->pos + 1;
  chr_status status = check_string(s, 1);
  if (status != CHR_OK) return status;
  size_t key_end = s->pos - 1;
  skip_space(s);
  if (peek(s) != ':') return fail_expected(s, "':' after the key");
  s->pos++;
  int is_group = s->depth == 1 && !s->group_seen &&
                 key_equals(s->text + key_start, key_end - key_start, s->group_key);
  size_t saved = where_push_key(s, key_start, key_end);
  status = check_value(s, is_group);
  where_pop(s, saved);
  return status;
}

static chr_status check_object(scanner *s) {
  chr_status status = enter(s);
  if (status != CHR_OK) return status;
  skip_space(s);
  if (peek(s) == '}') return leave(s);
  for (;;) {
    skip_space(s);
    if (peek(s) != '"') return fail_expected(s, "a string key");
    status = check_member(s);
    if (status != CHR_OK) return status;
    skip_space(s);
    if (peek(s) == '}') return leave(s);
    if (peek(s) != ',') return fail_expected(s, "',' or '}'");
    s->pos++;
  }
}

/* Reads element index of an array; an element of the group array starts a new group. */
static chr_status check_element(scanner *s, size_t index, int is_group) {
  size_t saved = where_push_index(s, index), saved_base = s->base;
  int saved_group = s->group;
  if (is_group) {
    s->group = index <= INT_MAX ? (int)index : -1;
    s->base = s->where_len;
  }
  chr_status status = check_value(s, 0);
  s->group = saved_group;
  s->base = saved_base;
  where_pop(s, saved);
  return status;
}

static chr_status check_array(scanner *s, int is_group) {
  chr_status status = enter(s);
  if (status != CHR_OK) return status;
  s->group_seen |= is_group;
  skip_space(s);
  if (peek(s) == ']') return leave(s);
  for (size_t index = 0;; ++index) {
    status = check_element(s, index, is_group);
    if (status != CHR_OK) return status;
    skip_space(s);
    if (peek(s) == ']') return leave(s);
    if (peek(s) != ',') return fail_expected(s, "',' or ']'");
    s->pos++;
  }
}

/* is_group: this value is the group array (when it is an array at all). */
static chr_status check_value(scanner *s, int is_group) {
  skip_space(s);
  int c = peek(s);
  if (c == '{') return check_object(s);
  if (c == '[') return check_array(s, is_group);
  if (c == '"') return check_string(s, 0);
  if (c == '-' || is_digit(c)) return check_number(s);
  if (c == 't') return check_literal(s, "true");
  if (c == 'f') return check_literal(s, "false");
  if (c == 'n') return check_literal(s, "null");
  return fail_expected(s, "a value");
}

static chr_status check_text(scanner *s) {
  if (s->len >= 3 && memcmp(s->text, "\xEF\xBB\xBF", 3) == 0) s->pos = 3;
  if (s->len >= 2 && (memcmp(s->text, "\xFF\xFE", 2) == 0 || memcmp(s->text, "\xFE\xFF", 2) == 0))
    return fail_at(s, 0, "UTF-16 byte-order mark", "UTF-8 text");
  chr_status status = check_value(s, 0);
  if (status != CHR_OK) return status;
  skip_space(s);
  if (s->pos < s->len) return fail_at(s, s->pos, "unexpected text after the JSON value", NULL);
  return CHR_OK;
}

/* ------------------------------------------------------------------ public */

chr_status chr_json_check_run(const char *text, size_t len, const char *group_key,
                              chr_json_check **out, chr_error *err) {
  *out = NULL;
  chr_json_check *c = calloc(1, sizeof *c);
  if (c == NULL) return chr_error_set(err, CHR_ENOMEM, "out of memory checking the JSON text");
  scanner s = {.text = (const unsigned char *)text,
               .len = len,
               .group_key = group_key,
               .group = -1,
               .out = c,
               .err = err};
  chr_status status = check_text(&s);
  if (status != CHR_OK) chr_json_check_destroy(&c);
  *out = c;
  return status;
}

void chr_json_check_destroy(chr_json_check **p) {
  if (p == NULL || *p == NULL) return;
  free((*p)->found);
  free((*p)->overflows);
  free(*p);
  *p = NULL;
}

const chr_json_finding *chr_json_check_group_finding(const chr_json_check *c, int g) {
  size_t lo = 0, hi = c->n_found;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->found[mid].group < g)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->n_found && c->found[lo].group == g ? &c->found[lo] : NULL;
}

const chr_json_finding *chr_json_check_loose_finding(const chr_json_check *c) {
  return c->has_loose ? &c->loose : NULL;
}

size_t chr_json_check_overflow_count(const chr_json_check *c) {
  return c->n_overflows;
}

void chr_json_check_overflow(const chr_json_check *c, size_t i, size_t *offset, size_t *length) {
  *offset = c->overflows[i].offset;
  *length = c->overflows[i].length;
}
