#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/utf8.h"
#include "html_parts.h"

static int reserve(chr_html_buf *b, size_t more) {
  if (b->failed) return 0;
  if (b->len + more + 1 <= b->cap) return 1;
  size_t cap = b->cap == 0 ? 65536 : b->cap;
  while (cap < b->len + more + 1) {
    if (cap > SIZE_MAX / 2) {
      b->failed = 1;
      return 0;
    }
    cap *= 2;
  }
  char *grown = realloc(b->data, cap);
  if (grown == NULL) {
    b->failed = 1;
    return 0;
  }
  b->data = grown;
  b->cap = cap;
  return 1;
}

static void put_n(chr_html_buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void chr_html_put(chr_html_buf *b, const char *s) {
  put_n(b, s, strlen(s));
}

void chr_html_printf(chr_html_buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    put_n(b, small, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void chr_html_text(chr_html_buf *b, const char *s) {
  if (s == NULL) return;
  size_t len = strlen(s);
  /* Worst case: every byte becomes \xNN (4 bytes); escaping a long text in one piece. */
  char *utf8 = len < SIZE_MAX / 4 - 1 ? malloc(4 * len + 1) : NULL;
  if (utf8 == NULL) {
    b->failed = 1;
    return;
  }
  chr_utf8_escape(s, len, 0, utf8, 4 * len);
  /* The five characters HTML gives a meaning, each with its character reference. */
  static const char special[] = "&<>\"'";
  static const char *const entity[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
  for (const char *p = utf8; *p != '\0'; ++p) {
    unsigned char c = (unsigned char)*p;
    const char *hit = strchr(special, c);
    if (hit != NULL) {
      chr_html_put(b, entity[hit - special]);
    } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      /* HTML forbids most C0 controls and DEL in text; shown the way utf8.h shows bytes. */
      chr_html_printf(b, "\\x%02x", c);
    } else {
      put_n(b, p, 1);
    }
  }
  free(utf8);
}

double chr_html_number(const cJSON *v, double fallback) {
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return fallback;
  return v->valuedouble;
}

void chr_html_value(chr_html_buf *b, const cJSON *v) {
  if (v == NULL || cJSON_IsNull(v)) {
    chr_html_put(b, "\xE2\x80\x94");
  } else if (cJSON_IsNumber(v)) {
    double x = v->valuedouble;
    if (!isfinite(x))
      chr_html_put(b, "?");
    else if (x == floor(x) && fabs(x) < 1e15)
      chr_html_printf(b, "%.0f", x);
    else
      chr_html_printf(b, "%.4g", x);
  } else if (cJSON_IsBool(v)) {
    chr_html_put(b, cJSON_IsTrue(v) ? "yes" : "no");
  } else if (cJSON_IsString(v)) {
    chr_html_text(b, v->valuestring);
  } else {
    chr_html_put(b, "?");
  }
}

void chr_html_wrap(chr_html_buf *b, const char *before, const cJSON *v, const char *after) {
  chr_html_put(b, before);
  chr_html_value(b, v);
  chr_html_put(b, after);
}

void chr_html_kv_row(chr_html_buf *b, const char *label, const cJSON *v) {
  chr_html_printf(b, "<tr><th>%s</th><td>", label);
  chr_html_wrap(b, "", v, "</td></tr>\n");
}

void chr_html_kv_open(chr_html_buf *b, const cJSON *obj) {
  chr_html_wrap(b, "<table class=\"kv\">\n<tr><th>ranks &times; threads</th><td>",
                cJSON_GetObjectItemCaseSensitive(obj, "ranks"), " &times; ");
  chr_html_wrap(b, "", cJSON_GetObjectItemCaseSensitive(obj, "threads_per_rank"), "</td></tr>\n");
}

int chr_html_is_colour(const char *s) {
  if (s == NULL || s[0] != '#' || strlen(s) != 7) return 0;
  for (int i = 1; i < 7; ++i) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return 1;
}
