/* The HTML page of a search report (issue 16, spec section 11 "A report people can look at"):
 * one self-contained file with no script, stylesheet, font or image outside it. Per query: the
 * palette as swatches sized by weight, the results in rank order with an embedded thumbnail
 * (thumbnail.h), image id, distance, confidence and dominant-colour chips, or the query's error;
 * for the run: layout, phase times, latency distribution and per-rank figures. Every string from
 * the report is made UTF-8 and HTML-escaped. An image that cannot be read gets a placeholder
 * and a note on the page, never a failure. No MPI calls; not collective. */
#ifndef CHROMATICA_HTML_REPORT_H
#define CHROMATICA_HTML_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "chromatica/error.h"

#define CHR_HTML_REPORT_FILE_MAX (1LL << 30) /* larger report files are refused */

typedef struct {
  const char *images_root;   /* folder the dataset's file paths are relative to; NULL: none */
  int max_thumbnail_queries; /* queries with index >= this are listed without thumbnails */
  int thumbnail_side;        /* longest side of a thumbnail in pixels (thumbnail.h limits) */
  const char *source;        /* the report's path, shown on the page (any bytes) */
} chr_html_options;

typedef struct {
  int queries, failed_queries;
  int thumbnails;                               /* thumbnails embedded */
  int placeholders;                             /* results whose image could not be read */
  char first_unreadable[CHR_ERROR_MESSAGE_MAX]; /* the first of those reasons, or "" */
  int modes;                                    /* an eval report's modes (0 for a search) */
} chr_html_stats;

/* 1 when report is an eval report (an object with "modes" and no "results"), else 0. */
int chr_html_report_is_eval(const cJSON *report);

/* Reads the report at path and checks that it is one: a search report (a JSON object with a
 * "results" array) or an eval report (chr_html_report_is_eval) whose modes the page can draw,
 * else CHR_EFORMAT naming the field, what was found and what was expected; unreadable files
 * CHR_EIO, files over CHR_HTML_REPORT_FILE_MAX CHR_EINVAL. Messages start with path. On success
 * the caller frees *out with cJSON_Delete. */
chr_status chr_html_report_load(const char *path, cJSON **out, chr_error *err);

/* CHR_EINVAL when out_path is the same file (paths.h) as an image the page would read: the
 * -o option must never replace an input. Not an error when images_root is NULL. */
chr_status chr_html_report_check_output(const cJSON *report, const char *images_root,
                                        const char *out_path, chr_error *err);

/* Renders the page of report (as chr_html_report_load gives it): for an eval report, its
 * setup, a table of its modes and recall against mean latency per mode as an inline SVG plot. On
 * success *html (freed by the caller) holds the page and stats says what went in; CHR_ENOMEM
 * otherwise. */
chr_status chr_html_report_render(const cJSON *report, const chr_html_options *o, char **html,
                                  chr_html_stats *stats, chr_error *err);

#endif
