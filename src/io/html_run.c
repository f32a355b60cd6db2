/* The run section of the HTML report: how the run was laid out, where its time went, how long
 * queries took, and what each rank did. Every figure is read defensively: a missing or odd
 * field shows as a dash, never as a failure of the page. */
#include <math.h>
#include <stdlib.h>

#include "html_parts.h"

#define HIST_BINS 12
#define HIST_W 480
#define HIST_H 120

static void layout_table(chr_html_buf *b, const cJSON *report, const cJSON *run) {
  /* Each row: which object holds the figure (0 the report, 1 run, 2 run.dataset), label, key. */
  static const struct {
    int in;
    const char *label, *key;
  } rows[] = {{1, "query groups", "query_groups"},
              {1, "shards", "shards"},
              {1, "io mode", "io_mode"},
              {2, "dataset", "path"},
              {2, "images", "images"},
              {0, "queries", "total_queries"},
              {0, "succeeded", "successful_queries"},
              {0, "failed", "failed_queries"},
              {0, "total time (ms)", "total_time_ms"},
              {1, "incomplete", "incomplete"},
              {1, "stopped by", "stopped_by"},
              {1, "version", "version"}};
  const cJSON *in[3] = {report, run, cJSON_GetObjectItemCaseSensitive(run, "dataset")};
  chr_html_kv_open(b, run);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; ++i)
    chr_html_kv_row(b, rows[i].label,
                    cJSON_GetObjectItemCaseSensitive(in[rows[i].in], rows[i].key));
  chr_html_put(b, "</table>\n");
}

/* One bar per phase of run.timings_ms, scaled to the longest. */
static void phase_bars(chr_html_buf *b, const cJSON *timings) {
  chr_html_put(b, "<h3>Phase times</h3>\n");
  if (!cJSON_IsObject(timings) || timings->child == NULL) {
    chr_html_put(b, "<p class=\"note\">The report holds no run.timings_ms.</p>\n");
    return;
  }
  double longest = 0;
  for (const cJSON *t = timings->child; t != NULL; t = t->next)
    if (chr_html_number(t, 0) > longest) longest = chr_html_number(t, 0);
  chr_html_put(b, "<table class=\"bars\">\n");
  for (const cJSON *t = timings->child; t != NULL; t = t->next) {
    double ms = chr_html_number(t, 0);
    double pct = longest > 0 && ms > 0 ? 100.0 * ms / longest : 0;
    chr_html_put(b, "<tr><th>");
    chr_html_text(b, t->string);
    chr_html_printf(b,
                    "</th><td class=\"barcell\"><div class=\"bar\" style=\"width:%.1f%%\">"
                    "</div></td><td class=\"num\">",
                    pct);
    chr_html_value(b, t);
    chr_html_put(b, cJSON_IsNumber(t) ? " ms</td></tr>\n" : "</td></tr>\n");
  }
  chr_html_put(b, "</table>\n");
}

/* The per-query total_time_ms of every successful query, or NULL when there is none. */
static double *query_times(const cJSON *results, int *n) {
  *n = 0;
  int size = cJSON_GetArraySize(results);
  double *t = size > 0 ? malloc((size_t)size * sizeof *t) : NULL;
  if (t == NULL) return NULL;
  const cJSON *q;
  cJSON_ArrayForEach(q, results) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(q, "metadata");
    double ms = chr_html_number(cJSON_GetObjectItemCaseSensitive(meta, "total_time_ms"), -1);
    if (ms >= 0) t[(*n)++] = ms;
  }
  if (*n == 0) {
    free(t);
    return NULL;
  }
  return t;
}

static void histogram_svg(chr_html_buf *b, const double *t, int n) {
  double lo = t[0], hi = t[0];
  for (int i = 1; i < n; ++i) {
    lo = t[i] < lo ? t[i] : lo;
    hi = t[i] > hi ? t[i] : hi;
  }
  int count[HIST_BINS] = {0}, most = 0;
  double width = hi > lo ? (hi - lo) / HIST_BINS : 1;
  for (int i = 0; i < n; ++i) {
    int k = hi > lo ? (int)((t[i] - lo) / width) : 0;
    count[k < HIST_BINS ? k : HIST_BINS - 1]++;
  }
  for (int k = 0; k < HIST_BINS; ++k) most = count[k] > most ? count[k] : most;
  chr_html_printf(b,
                  "<svg class=\"hist\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "role=\"img\" aria-label=\"histogram of per-query times\">\n",
                  HIST_W, HIST_H + 20, HIST_W, HIST_H + 20);
  double bw = (double)HIST_W / HIST_BINS;
  for (int k = 0; k < HIST_BINS; ++k) {
    double h = most > 0 ? (double)(HIST_H - 14) * count[k] / most : 0;
    chr_html_printf(b,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"#4a78b5\"><title>%.3g-%.3g ms: %d queries</title></rect>\n",
                    k * bw + 1, HIST_H - h, bw - 2, h, lo + k * width, lo + (k + 1) * width,
                    count[k]);
    if (count[k] > 0)
      chr_html_printf(b,
                      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">"
                      "%d</text>\n",
                      k * bw + bw / 2, HIST_H - h - 2, count[k]);
  }
  chr_html_printf(b, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", HIST_H,
                  HIST_W, HIST_H);
  chr_html_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"11\">%.3g ms</text>\n", HIST_H + 14, lo);
  chr_html_printf(b,
                  "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.3g ms</text>\n",
                  HIST_W, HIST_H + 14, hi > lo ? hi : lo + width);
  chr_html_put(b, "</svg>\n");
}

/* performance_stats holds seconds; the page shows milliseconds like the rest of the report. */
static void stat_ms(chr_html_buf *b, const char *label, const cJSON *stats, const char *key) {
  double s = chr_html_number(cJSON_GetObjectItemCaseSensitive(stats, key), -1);
  chr_html_printf(b, "<tr><th>%s</th><td>", label);
  if (s < 0)
    chr_html_put(b, "\xE2\x80\x94");
  else
    chr_html_printf(b, "%.3f ms", 1000.0 * s);
  chr_html_put(b, "</td></tr>\n");
}

static void latency(chr_html_buf *b, const cJSON *report) {
  const cJSON *stats = cJSON_GetObjectItemCaseSensitive(report, "performance_stats");
  chr_html_put(b, "<h3>Latency</h3>\n<div class=\"latency\"><table class=\"kv\">\n");
  stat_ms(b, "p50", stats, "p50_search_time");
  stat_ms(b, "p95", stats, "p95_search_time");
  stat_ms(b, "p99", stats, "p99_search_time");
  stat_ms(b, "mean", stats, "average_search_time");
  chr_html_kv_row(b, "queries / s", cJSON_GetObjectItemCaseSensitive(stats, "queries_per_second"));
  chr_html_put(b, "</table>\n<figure>");
  int n = 0;
  double *t = query_times(cJSON_GetObjectItemCaseSensitive(report, "results"), &n);
  if (t == NULL) {
    chr_html_put(b, "<p class=\"note\">No query reports a metadata.total_time_ms.</p>");
  } else {
    histogram_svg(b, t, n);
    chr_html_printf(b, "<figcaption>metadata.total_time_ms of %d successful queries</figcaption>",
                    n);
  }
  free(t);
  chr_html_put(b, "</figure></div>\n");
}

/* run.per_rank as a table whose columns are the keys of its first entry. */
static void per_rank(chr_html_buf *b, const cJSON *ranks) {
  chr_html_put(b, "<h3>Per rank</h3>\n");
  const cJSON *first = cJSON_GetArrayItem(ranks, 0);
  if (!cJSON_IsArray(ranks) || !cJSON_IsObject(first) || first->child == NULL) {
    chr_html_put(b, "<p class=\"note\">The report holds no run.per_rank.</p>\n");
    return;
  }
  chr_html_put(b, "<table class=\"grid\">\n<tr>");
  for (const cJSON *k = first->child; k != NULL; k = k->next) {
    chr_html_put(b, "<th>");
    chr_html_text(b, k->string);
    chr_html_put(b, "</th>");
  }
  chr_html_put(b, "</tr>\n");
  const cJSON *r;
  cJSON_ArrayForEach(r, ranks) {
    chr_html_put(b, "<tr>");
    for (const cJSON *k = first->child; k != NULL; k = k->next) {
      chr_html_put(b, "<td class=\"num\">");
      chr_html_value(b, cJSON_GetObjectItemCaseSensitive(r, k->string));
      chr_html_put(b, "</td>");
    }
    chr_html_put(b, "</tr>\n");
  }
  chr_html_put(b, "</table>\n");
}

void chr_html_run_section(chr_html_buf *b, const cJSON *report) {
  const cJSON *run = cJSON_GetObjectItemCaseSensitive(report, "run");
  chr_html_put(b, "<section id=\"run\">\n<h2>Run</h2>\n<div class=\"cols\"><div>\n");
  layout_table(b, report, run);
  chr_html_put(b, "</div><div>\n");
  phase_bars(b, cJSON_GetObjectItemCaseSensitive(run, "timings_ms"));
  chr_html_put(b, "</div></div>\n");
  latency(b, report);
  per_rank(b, cJSON_GetObjectItemCaseSensitive(run, "per_rank"));
  chr_html_put(b, "</section>\n");
}
