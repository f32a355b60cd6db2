/* The HTML page of an eval report (issue 16: "the same command also renders an eval report"):
 * the run's setup, one row per mode with its recall and cost figures, and recall against cost
 * per mode as an inline SVG plot drawn here (no script, no external file). The report is
 * checked first (chr_html_eval_check), so the plot never meets a missing or odd coordinate. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "html_parts.h"

#define PLOT_W 760
#define PLOT_H 380
#define PLOT_LEFT 64
#define PLOT_RIGHT 250 /* room for the legend */
#define PLOT_TOP 16
#define PLOT_BOTTOM 52
#define LATENCY_FLOOR_MS 1e-3 /* a log axis cannot show 0: faster modes sit at this floor */

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff;max-width:1150px}"
    "h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{padding:2px 8px;text-align:left}"
    "table.grid td,table.grid th{border:1px solid #ddd}td.num{text-align:right}"
    "table.grid{font-size:13px}.grid td:first-child{white-space:nowrap}"
    ".kv th{font-weight:normal;color:#555}.meta,.note{color:#555;font-size:.85em}"
    ".chip{display:inline-block;width:12px;height:12px;border-radius:6px;margin-right:4px}"
    "svg text{font-family:sans-serif;font-size:12px;fill:#222}";

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                      "#bcbd22", "#17becf", "#393b79", "#8ca252"};
#define PALETTE_N ((int)(sizeof palette / sizeof palette[0]))

static const cJSON *field(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* latency_ms.<stage>.<stat> of a mode. */
static const cJSON *latency(const cJSON *mode, const char *stage, const char *stat) {
  return field(field(field(mode, "latency_ms"), stage), stat);
}

static chr_status want_fraction(const cJSON *mode, int i, const char *key, const char *path,
                                chr_error *err) {
  const cJSON *v = field(mode, key);
  if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 && v->valuedouble <= 1)
    return CHR_OK;
  return chr_error_set(err, CHR_EFORMAT,
                       "%s: modes[%d].%s %s (expected a number from 0 to 1, as chromatica eval "
                       "writes)",
                       path, i, key, v == NULL ? "is missing" : "is not such a number");
}

chr_status chr_html_eval_check(const cJSON *report, const char *path, chr_error *err) {
  const cJSON *modes = field(report, "modes");
  if (!cJSON_IsArray(modes) || cJSON_GetArraySize(modes) == 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "%s: eval report \"modes\" %s (expected a non-empty array of modes)", path,
                         cJSON_IsArray(modes) ? "is empty" : "is not an array");
  int i = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, modes) {
    chr_status st = CHR_OK;
    if (!cJSON_IsObject(m))
      return chr_error_set(err, CHR_EFORMAT, "%s: modes[%d] is not an object (expected a mode)",
                           path, i);
    if (!cJSON_IsString(field(m, "mode")))
      return chr_error_set(err, CHR_EFORMAT,
                           "%s: modes[%d].mode %s (expected the mode's name as a string)", path, i,
                           field(m, "mode") == NULL ? "is missing" : "is not a string");
    if ((st = want_fraction(m, i, "recall_at_k_mean", path, err)) != CHR_OK) return st;
    if ((st = want_fraction(m, i, "recall_at_k_min", path, err)) != CHR_OK) return st;
    if (field(m, "recall_at_k_min")->valuedouble > field(m, "recall_at_k_mean")->valuedouble)
      return chr_error_set(err, CHR_EFORMAT,
                           "%s: modes[%d].recall_at_k_min %g is above recall_at_k_mean %g "
                           "(expected min <= mean)",
                           path, i, field(m, "recall_at_k_min")->valuedouble,
                           field(m, "recall_at_k_mean")->valuedouble);
    const cJSON *cost = latency(m, "total", "mean");
    if (!cJSON_IsNumber(cost) || !isfinite(cost->valuedouble) || cost->valuedouble < 0)
      return chr_error_set(err, CHR_EFORMAT,
                           "%s: modes[%d].latency_ms.total.mean %s (expected milliseconds, a "
                           "finite number >= 0)",
                           path, i, cost == NULL ? "is missing" : "is not such a number");
    i++;
  }
  return CHR_OK;
}

static void setup_table(chr_html_buf *b, const cJSON *r) {
  chr_html_kv_open(b, r);
  static const char *const rows[][2] = {{"query groups", "query_groups"},
                                        {"shards", "shards"},
                                        {"dataset", "dataset"},
                                        {"images", "images"},
                                        {"queries file", "queries"},
                                        {"queries", "total_queries"},
                                        {"valid queries", "valid_queries"},
                                        {"truth", "truth"}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; ++i)
    chr_html_kv_row(b, rows[i][0], field(r, rows[i][1]));
  chr_html_put(b, "</table>\n");
  const cJSON *q;
  cJSON_ArrayForEach(q, field(r, "invalid_queries")) {
    chr_html_wrap(b, "<p class=\"note\">invalid query ", field(q, "query_id"), ": ");
    chr_html_wrap(b, "", field(q, "error"), "</p>\n");
  }
}

static void cell(chr_html_buf *b, const cJSON *v) {
  chr_html_put(b, "<td class=\"num\">");
  chr_html_value(b, v);
  chr_html_put(b, "</td>");
}

static void modes_table(chr_html_buf *b, const cJSON *modes) {
  chr_html_put(b,
               "<table class=\"grid\" id=\"modes\">\n<tr><th>mode</th><th>queries</th>"
               "<th>recall@k mean</th><th>recall@k min</th><th>full recall</th>"
               "<th>pool recall mean</th><th>pool recall min</th><th>pruned</th>"
               "<th>latency mean (ms)</th><th>latency p95 (ms)</th><th>stage 1 mean (ms)</th>"
               "<th>rerank mean (ms)</th><th>queries/s</th><th>Sinkhorn unconverged</th></tr>\n");
  int i = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, modes) {
    chr_html_printf(b,
                    "<tr class=\"mode\"><td><span class=\"chip\" style=\"background:%s\">"
                    "</span><span class=\"name\">",
                    palette[i++ % PALETTE_N]);
    chr_html_value(b, field(m, "mode"));
    chr_html_put(b, "</span></td>");
    cell(b, field(m, "queries"));
    cell(b, field(m, "recall_at_k_mean"));
    cell(b, field(m, "recall_at_k_min"));
    cell(b, field(m, "queries_with_full_recall"));
    cell(b, field(m, "pool_recall_mean"));
    cell(b, field(m, "pool_recall_min"));
    cell(b, field(m, "pruned_fraction"));
    cell(b, latency(m, "total", "mean"));
    cell(b, latency(m, "total", "p95"));
    cell(b, latency(m, "ann", "mean"));
    cell(b, latency(m, "rerank", "mean"));
    cell(b, field(m, "queries_per_second"));
    cell(b, field(m, "sinkhorn_unconverged_queries"));
    chr_html_put(b, "</tr>\n");
  }
  chr_html_put(b, "</table>\n");
}

typedef struct {
  double lo, hi; /* decades of the latency axis: 10^lo .. 10^hi ms */
} axis;

static double x_of(const axis *a, double ms) {
  double l = log10(ms > LATENCY_FLOOR_MS ? ms : LATENCY_FLOOR_MS);
  return PLOT_LEFT + (l - a->lo) / (a->hi - a->lo) * (PLOT_W - PLOT_LEFT - PLOT_RIGHT);
}

static double y_of(double recall) {
  return PLOT_TOP + (1.0 - recall) * (PLOT_H - PLOT_TOP - PLOT_BOTTOM);
}

static void plot_axes(chr_html_buf *b, const axis *a) {
  double x0 = PLOT_LEFT, x1 = PLOT_W - PLOT_RIGHT, y0 = y_of(0), y1 = y_of(1);
  for (int t = 0; t <= 5; ++t) {
    double y = y_of(t / 5.0);
    chr_html_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                    x0, y, x1, y, x0 - 6, y + 4, t / 5.0);
  }
  for (int d = (int)a->lo; d <= (int)a->hi; ++d) {
    double x = x_of(a, pow(10.0, d));
    chr_html_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                    x, y1, x, y0, x, y0 + 16, pow(10.0, d));
  }
  chr_html_printf(b,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                  "stroke=\"#888\"/>\n"
                  "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">mean latency per query (ms, "
                  "log scale)</text>\n"
                  "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">"
                  "recall@k (dot: mean, bar: down to min)</text>\n",
                  x0, y1, x1 - x0, y0 - y1, (x0 + x1) / 2, PLOT_H - 8, (y0 + y1) / 2);
}

static void plot(chr_html_buf *b, const cJSON *modes) {
  double lo = INFINITY, hi = -INFINITY;
  const cJSON *m;
  cJSON_ArrayForEach(m, modes) {
    double ms = latency(m, "total", "mean")->valuedouble;
    double l = log10(ms > LATENCY_FLOOR_MS ? ms : LATENCY_FLOOR_MS);
    lo = l < lo ? l : lo;
    hi = l > hi ? l : hi;
  }
  axis a = {floor(lo), ceil(hi)};
  if (a.hi <= a.lo) a.hi = a.lo + 1;
  chr_html_printf(b,
                  "<svg id=\"recall-cost\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"recall against "
                  "mean latency per mode\">\n",
                  PLOT_W, PLOT_H, PLOT_W, PLOT_H);
  plot_axes(b, &a);
  int i = 0;
  cJSON_ArrayForEach(m, modes) {
    const char *c = palette[i % PALETTE_N];
    double ms = latency(m, "total", "mean")->valuedouble;
    double mean = field(m, "recall_at_k_mean")->valuedouble;
    double min = field(m, "recall_at_k_min")->valuedouble;
    double x = x_of(&a, ms), ly = PLOT_TOP + 8 + 18 * i;
    chr_html_printf(b, "<g class=\"mode\" data-recall=\"%.6g\" data-latency-ms=\"%.6g\"><title>",
                    mean, ms);
    chr_html_value(b, field(m, "mode"));
    chr_html_printf(b, ": recall@k mean %.3f, min %.3f, %.4g ms per query</title>", mean, min, ms);
    chr_html_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"2\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" "
                    "stroke=\"#fff\"/><circle cx=\"%d\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>"
                    "<text x=\"%d\" y=\"%.1f\">",
                    x, y_of(min), x, y_of(mean), c, x, y_of(mean), c, PLOT_W - PLOT_RIGHT + 16, ly,
                    c, PLOT_W - PLOT_RIGHT + 26, ly + 4);
    chr_html_value(b, field(m, "mode"));
    chr_html_put(b, "</text></g>\n");
    i++;
  }
  chr_html_put(b, "</svg>\n");
}

void chr_html_eval_page(chr_html_buf *b, const cJSON *report, const char *source) {
  chr_html_put(b,
               "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"generator\" content=\"chromatica report\">\n<title>"
               "Chromatica eval report: ");
  chr_html_text(b, source);
  chr_html_printf(b,
                  "</title>\n<style>%s</style></head>\n<body>\n<h1>Chromatica eval report"
                  "</h1>\n<p class=\"meta\">",
                  style);
  chr_html_text(b, source);
  chr_html_put(b,
               ": each mode's answers against the truth's top-k (recall@k), and what they "
               "cost.</p>\n<section id=\"setup\">\n<h2>Setup</h2>\n");
  setup_table(b, report);
  chr_html_put(b, "</section>\n<section id=\"plot\">\n<h2>Recall against cost</h2>\n");
  plot(b, field(report, "modes"));
  chr_html_put(b, "</section>\n<section id=\"table\">\n<h2>Modes</h2>\n");
  modes_table(b, field(report, "modes"));
  chr_html_put(b,
               "<p class=\"note\">recall@k: the share of the truth's top-k a mode returns; pool "
               "recall: the share its candidate pool holds; pruned: the share of candidates an "
               "EMD lower bound skipped.</p>\n</section>\n</body></html>");
}
