/* Pieces of the HTML report shared by its sections (html_report.c, html_run.c): a growing text
 * buffer that remembers an allocation failure instead of reporting each one, and the one way
 * outside text enters the page (made UTF-8, then HTML-escaped). Private to src/io. No MPI
 * calls; not collective. */
#ifndef CHR_IO_HTML_PARTS_H
#define CHR_IO_HTML_PARTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "chromatica/error.h"

typedef struct {
  char *data;
  size_t len, cap;
  int failed; /* an allocation failed: every later append is ignored */
} chr_html_buf;

/* Appends s as it is (markup written by this module, never outside text). */
void chr_html_put(chr_html_buf *b, const char *s);

/* Appends printf-formatted markup; arguments that are outside text must not be given here. */
void chr_html_printf(chr_html_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends outside text s (any bytes; NULL appends nothing): bytes that are not UTF-8 as \xNN
 * (utf8.h), control characters other than tab and newline as \xNN too, then & < > " ' as
 * character references, so it is safe both in element content and in quoted attributes. */
void chr_html_text(chr_html_buf *b, const char *s);

/* A cJSON value as text for a table cell: integers without decimals, other numbers with 4
 * significant digits, null and a missing value as an em dash, strings escaped, anything else
 * "?". */
void chr_html_value(chr_html_buf *b, const cJSON *v);

/* Appends markup before, v as chr_html_value shows it, then markup after: a value set in
 * markup, the commonest piece of every section. */
void chr_html_wrap(chr_html_buf *b, const char *before, const cJSON *v, const char *after);

/* One row of a "kv" table: label (markup) in the header cell, v in the data cell. */
void chr_html_kv_row(chr_html_buf *b, const char *label, const cJSON *v);

/* Opens a "kv" table whose first row is "ranks x threads" from obj's "ranks" and
 * "threads_per_rank": how both the search and the eval page begin their setup table. */
void chr_html_kv_open(chr_html_buf *b, const cJSON *obj);

/* 1 when s is a colour this page may put in a style attribute: exactly "#rrggbb" (hex). */
int chr_html_is_colour(const char *s);

/* The number held by v, or fallback when v is missing or not a finite number. */
double chr_html_number(const cJSON *v, double fallback);

/* The run section: ranks x threads, io mode, dataset, phase times, latency distribution with
 * a histogram of per-query times, per-rank figures. report is the whole search report. */
void chr_html_run_section(chr_html_buf *b, const cJSON *report);

/* CHR_EFORMAT naming the field (e.g. "modes[2].recall_at_k_mean") unless report is an eval
 * report the page can draw: a non-empty "modes" array of objects, each with a string "mode",
 * recall_at_k_mean and recall_at_k_min from 0 to 1 (min <= mean) and latency_ms.total.mean a
 * finite number >= 0. Messages start with path. */
chr_status chr_html_eval_check(const cJSON *report, const char *path, chr_error *err);

/* The whole page of a checked eval report: setup, recall against mean latency per mode as an
 * inline SVG plot, and the table of modes. source is the report's path (any bytes). */
void chr_html_eval_page(chr_html_buf *b, const cJSON *report, const char *source);

#endif
