#include "chromatica/html_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/paths.h"
#include "chromatica/textfile.h"
#include "chromatica/thumbnail.h"
#include "chromatica/utf8.h"
#include "html_parts.h"

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff;max-width:1150px}"
    "h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{padding:2px 8px;text-align:left}"
    "table.grid td,table.grid th{border:1px solid #ddd}td.num{text-align:right}"
    ".kv th{font-weight:normal;color:#555}.barcell{width:200px}"
    ".bar{height:12px;background:#4a78b5;min-width:1px}"
    ".cols{display:flex;gap:3em;flex-wrap:wrap}h3{margin:.6em 0 .2em}"
    ".latency{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}"
    ".query{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}"
    ".query h3{margin:.2em 0}.failed{background:#fff4f4}.error{color:#a00}"
    ".palette{display:flex;height:34px;width:100%;max-width:700px;border:1px solid #999}"
    ".sw{display:flex;align-items:center;justify-content:center;font-size:11px;overflow:hidden;"
    "white-space:nowrap}"
    ".meta{color:#555;font-size:.85em}"
    "ol.results{display:flex;flex-wrap:wrap;gap:10px;list-style:none;padding:0}"
    ".result{width:150px;font-size:11px;border:1px solid #eee;padding:4px;overflow-wrap:anywhere}"
    ".thumb{width:100px;height:100px;display:flex;align-items:center;justify-content:center;"
    "background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}"
    ".px{image-rendering:pixelated}.ph{width:96px;height:96px;display:flex;align-items:center;"
    "justify-content:center;"
    "background:#ddd;color:#666;font-size:11px;text-align:center}"
    ".chips span{display:inline-block;width:16px;height:16px;border:1px solid "
    "#888;margin-right:2px}"
    ".note{color:#855;font-size:.85em}.rank{font-weight:bold}.dups{color:#555}";

int chr_html_report_is_eval(const cJSON *report) {
  return cJSON_IsObject(report) && cJSON_HasObjectItem(report, "modes") &&
         !cJSON_HasObjectItem(report, "results");
}

chr_status chr_html_report_load(const char *path, cJSON **out, chr_error *err) {
  *out = NULL;
  char *text = NULL;
  size_t size = 0;
  chr_status st = chr_text_read(path, CHR_HTML_REPORT_FILE_MAX, "search report", "a search report",
                                "", &text, &size, err);
  if (st != CHR_OK) return st;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
  if (root == NULL) {
    long at = end != NULL && end >= text ? (long)(end - text) : -1;
    if (at < 0 && cJSON_GetErrorPtr() != NULL) at = (long)(cJSON_GetErrorPtr() - text);
    st = chr_error_set(err, CHR_EFORMAT,
                       "%s: not valid JSON (near byte %ld; expected a search "
                       "report written by chromatica search)",
                       path, at);
    goto cleanup;
  }
  if (chr_html_report_is_eval(root)) {
    st = chr_html_eval_check(root, path, err);
    if (st != CHR_OK)
      cJSON_Delete(root);
    else
      *out = root;
    goto cleanup;
  }
  if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "results"))) {
    const char *found = !cJSON_IsObject(root) ? "a JSON value that is not an object"
                                              : "an object without a \"results\" array";
    st = chr_error_set(err, CHR_EFORMAT,
                       "%s: not a search or eval report: %s (expected an object with a "
                       "\"results\" array of queries, as chromatica search writes, or a "
                       "\"modes\" array, as chromatica eval writes)",
                       path, found);
    cJSON_Delete(root);
    goto cleanup;
  }
  *out = root;
cleanup:
  free(text);
  return st;
}

/* ROOT/<file_path>, or ROOT/<image_id> for a dataset without file paths; NULL when the result
 * names neither or memory runs out. An absolute file path is used as it is. */
static char *image_path(const char *root, const cJSON *hit) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(hit, "file_path");
  if (!cJSON_IsString(p)) p = cJSON_GetObjectItemCaseSensitive(hit, "image_id");
  if (root == NULL || !cJSON_IsString(p) || p->valuestring[0] == '\0') return NULL;
  const char *rel = p->valuestring;
  size_t n = strlen(root) + strlen(rel) + 2;
  char *path = malloc(n);
  if (path == NULL) return NULL;
  if (rel[0] == '/')
    snprintf(path, n, "%s", rel);
  else
    snprintf(path, n, "%s/%s", root, rel);
  return path;
}

chr_status chr_html_report_check_output(const cJSON *report, const char *images_root,
                                        const char *out_path, chr_error *err) {
  const cJSON *q, *hit;
  cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(report, "results")) {
    cJSON_ArrayForEach(hit, cJSON_GetObjectItemCaseSensitive(q, "results")) {
      char *path = image_path(images_root, hit);
      chr_status st =
          path == NULL ? CHR_OK : chr_path_check_distinct("-o", out_path, "image", path, err);
      free(path);
      if (st != CHR_OK) return st;
    }
  }
  return CHR_OK;
}

/* A colour the report wrote, as "#rrggbb", or 0 when it is not one. */
static int colour_of(const cJSON *v, char hex[8], chr_rgb *rgb) {
  chr_error ignored;
  if (!cJSON_IsString(v) || chr_hex_parse(v->valuestring, rgb, &ignored) != CHR_OK) return 0;
  chr_rgb_to_hex(*rgb, hex);
  return chr_html_is_colour(hex);
}

static void palette(chr_html_buf *b, const cJSON *query) {
  const cJSON *colours = cJSON_GetObjectItemCaseSensitive(query, "colors");
  const cJSON *weights = cJSON_GetObjectItemCaseSensitive(query, "weights");
  int n = cJSON_GetArraySize(colours);
  if (!cJSON_IsArray(colours) || n == 0) {
    chr_html_put(b, "<p class=\"note\">The report does not echo this query's palette.</p>\n");
    return;
  }
  double total = 0;
  for (int i = 0; i < n; ++i) total += chr_html_number(cJSON_GetArrayItem(weights, i), 1.0 / n);
  chr_html_put(b, "<div class=\"palette\">");
  for (int i = 0; i < n; ++i) {
    double w = chr_html_number(cJSON_GetArrayItem(weights, i), 1.0 / n);
    double share = total > 0 && w > 0 ? w / total : 0;
    char hex[8];
    chr_rgb c;
    const cJSON *given = cJSON_GetArrayItem(colours, i);
    if (!colour_of(given, hex, &c)) {
      chr_html_printf(b, "<div class=\"sw\" style=\"flex:%.4f 1 0\">?</div>", share);
      continue;
    }
    /* Dark text on light swatches: Rec. 601 luma as the cut. */
    const char *ink = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b > 140 ? "#000" : "#fff";
    chr_html_printf(b,
                    "<div class=\"sw\" style=\"flex:%.4f 1 0;background:%s;color:%s\" "
                    "title=\"%s weight %.4g\">%s %.2f</div>",
                    share, hex, ink, hex, w, hex, w);
  }
  chr_html_put(b, "</div>\n");
}

static void thumbnail(chr_html_buf *b, const chr_html_options *o, const cJSON *hit, int with,
                      chr_html_stats *stats) {
  if (!with) return;
  char *path = image_path(o->images_root, hit), *uri = NULL;
  int w = 0, h = 0;
  chr_error why;
  chr_status st = path == NULL
                      ? chr_error_set(&why, CHR_EINVAL, "the result names no image file")
                      : chr_thumbnail_data_uri(path, o->thumbnail_side, &uri, &w, &h, &why);
  if (st == CHR_OK) {
    /* Images smaller than a thumbnail are shown enlarged, pixels kept sharp, so that a 4 x 4
     * icon is still seen; the embedded PNG keeps its own size. */
    int longer = w > h ? w : h;
    int dw = (int)((double)w * o->thumbnail_side / longer + 0.5);
    int dh = (int)((double)h * o->thumbnail_side / longer + 0.5);
    chr_html_printf(b, "<div class=\"thumb\"><img src=\"%s\" width=\"%d\" height=\"%d\"%s alt=\"",
                    uri, dw > 0 ? dw : 1, dh > 0 ? dh : 1,
                    longer < o->thumbnail_side ? " class=\"px\"" : "");
    chr_html_text(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hit, "image_id")));
    chr_html_put(b, "\"></div>");
    stats->thumbnails++;
  } else {
    chr_html_put(b,
                 "<div class=\"thumb\"><div class=\"ph\">no thumbnail</div></div>"
                 "<div class=\"note\">cannot read: ");
    chr_html_text(b, why.message);
    chr_html_put(b, "</div>");
    if (stats->placeholders++ == 0)
      chr_utf8_escape(why.message, strlen(why.message), 1, stats->first_unreadable,
                      sizeof stats->first_unreadable - 1);
  }
  free(uri);
  free(path);
}

/* "+N identical: first ids" for a result that stands for collapsed copies (issue 16). */
static void duplicates_note(chr_html_buf *b, const cJSON *dups) {
  int n = cJSON_IsArray(dups) ? cJSON_GetArraySize(dups) : 0;
  if (n == 0) return;
  chr_html_printf(b, "<div class=\"dups\" data-duplicates=\"%d\">+%d identical: ", n, n);
  for (int i = 0; i < n && i < 3; ++i) {
    if (i > 0) chr_html_put(b, ", ");
    chr_html_value(b, cJSON_GetArrayItem(dups, i));
  }
  chr_html_put(b, n > 3 ? ", &hellip;</div>" : "</div>");
}

static void hit_item(chr_html_buf *b, const chr_html_options *o, const cJSON *hit, int with,
                     chr_html_stats *stats) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(hit, "image_id");
  chr_html_put(b, "<li class=\"result\" data-rank=\"");
  chr_html_value(b, cJSON_GetObjectItemCaseSensitive(hit, "rank"));
  chr_html_put(b, "\" data-image-id=\"");
  chr_html_text(b, cJSON_GetStringValue(id));
  chr_html_put(b, "\">");
  thumbnail(b, o, hit, with, stats);
  chr_html_wrap(b, "<div><span class=\"rank\">#", cJSON_GetObjectItemCaseSensitive(hit, "rank"),
                "</span> <span class=\"id\">");
  chr_html_wrap(b, "", id, "</span></div><div>distance ");
  chr_html_wrap(b, "", cJSON_GetObjectItemCaseSensitive(hit, "distance"), "<br>confidence ");
  chr_html_wrap(b, "", cJSON_GetObjectItemCaseSensitive(hit, "confidence"), "</div>");
  duplicates_note(b, cJSON_GetObjectItemCaseSensitive(hit, "duplicates"));
  chr_html_put(b, "<div class=\"chips\">");
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(hit, "dominant_colors")) {
    char hex[8];
    chr_rgb rgb;
    if (colour_of(c, hex, &rgb))
      chr_html_printf(b, "<span style=\"background:%s\" title=\"%s\"></span>", hex, hex);
  }
  chr_html_put(b, "</div></li>\n");
}

static void query_meta(chr_html_buf *b, const cJSON *q) {
  static const char *const keys[] = {"candidate_stage", "metric",        "rerank_scope",
                                     "candidates",      "total_time_ms", "duplicates_collapsed"};
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(q, "metadata");
  chr_html_put(b, "<p class=\"meta\">results: ");
  chr_html_value(b, cJSON_GetObjectItemCaseSensitive(q, "results_count"));
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, keys[i]);
    /* Most queries collapse nothing: the count is shown only when there is one. */
    if (v == NULL || (strcmp(keys[i], "duplicates_collapsed") == 0 && chr_html_number(v, 0) == 0))
      continue;
    chr_html_printf(b, " &middot; %s: ", keys[i]);
    chr_html_value(b, v);
  }
  chr_html_put(b, "</p>\n");
}

static void query_article(chr_html_buf *b, const chr_html_options *o, const cJSON *q, int index,
                          chr_html_stats *stats) {
  int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "success"));
  chr_html_printf(b, "<article class=\"query%s\" id=\"q%d\"><h3>%d. <span class=\"qid\">",
                  ok ? "" : " failed", index + 1, index + 1);
  chr_html_wrap(b, "", cJSON_GetObjectItemCaseSensitive(q, "query_id"), "</span></h3>\n");
  palette(b, cJSON_GetObjectItemCaseSensitive(q, "query"));
  stats->queries++;
  if (!ok) {
    stats->failed_queries++;
    chr_html_wrap(b, "<p class=\"error\">failed: ", cJSON_GetObjectItemCaseSensitive(q, "error"),
                  "</p></article>\n");
    return;
  }
  query_meta(b, q);
  int with = o->images_root != NULL && index < o->max_thumbnail_queries;
  chr_html_put(b, "<ol class=\"results\">\n");
  const cJSON *hit;
  cJSON_ArrayForEach(hit, cJSON_GetObjectItemCaseSensitive(q, "results"))
      hit_item(b, o, hit, with, stats);
  chr_html_put(b, "</ol></article>\n");
}

static void header(chr_html_buf *b, const cJSON *report, const chr_html_options *o) {
  chr_html_put(b,
               "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"generator\" content=\"chromatica report\">\n<title>"
               "Chromatica report: ");
  chr_html_text(b, o->source);
  chr_html_printf(b,
                  "</title>\n<style>%s</style></head>\n<body>\n<h1>Chromatica search report"
                  "</h1>\n<p class=\"meta\">",
                  style);
  chr_html_text(b, o->source);
  chr_html_wrap(b, ": ", cJSON_GetObjectItemCaseSensitive(report, "total_queries"), " queries, ");
  chr_html_wrap(b, "", cJSON_GetObjectItemCaseSensitive(report, "failed_queries"), " failed</p>\n");
  const cJSON *w;
  cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(report, "warnings"))
      chr_html_wrap(b, "<p class=\"note\">warning: ", w, "</p>\n");
}

chr_status chr_html_report_render(const cJSON *report, const chr_html_options *o, char **html,
                                  chr_html_stats *stats, chr_error *err) {
  *html = NULL;
  memset(stats, 0, sizeof *stats);
  chr_html_buf b = {NULL, 0, 0, 0};
  if (chr_html_report_is_eval(report)) {
    chr_html_eval_page(&b, report, o->source);
    stats->modes = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "modes"));
    goto done;
  }
  header(&b, report, o);
  chr_html_run_section(&b, report);
  chr_html_put(&b, "<section id=\"queries\">\n<h2>Queries</h2>\n");
  if (o->images_root == NULL)
    chr_html_put(&b,
                 "<p class=\"note\">No --images folder was given: results are listed "
                 "without thumbnails.</p>\n");
  int index = 0;
  const cJSON *q;
  cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(report, "results")) {
    if (o->images_root != NULL && index == o->max_thumbnail_queries)
      chr_html_printf(&b,
                      "<p class=\"note\">Queries from %d on are listed without thumbnails "
                      "(--max-thumbnail-queries %d).</p>\n",
                      index + 1, o->max_thumbnail_queries);
    query_article(&b, o, q, index++, stats);
  }
  chr_html_put(&b, "</section>\n</body></html>");
done:
  if (b.failed) {
    free(b.data);
    return chr_error_set(err, CHR_ENOMEM, "report page: out of memory");
  }
  *html = b.data;
  return CHR_OK;
}
