#define _POSIX_C_SOURCE 200809L
#include "chromatica/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/confidence.h"
#include "chromatica/grid.h"
#include "chromatica/json_text.h"
#include "chromatica/options.h"
#include "chromatica/textfile.h"
#include "chromatica/topk.h"
#include "stats.h"

#define RECENT_MAX 1000

/* Each helper returns 1 on success, 0 when cJSON could not allocate. */
static int add_num(cJSON *o, const char *k, double v) {
  return cJSON_AddNumberToObject(o, k, v) != NULL;
}
/* Ids, paths and messages may hold bytes that are not UTF-8: json_text writes them as \xNN. */
static int add_str(cJSON *o, const char *k, const char *v) {
  return chr_json_add_text(o, k, v);
}
static int add_bool(cJSON *o, const char *k, int v) {
  return cJSON_AddBoolToObject(o, k, v ? 1 : 0) != NULL;
}
static int push_str(cJSON *arr, const char *v) {
  return chr_json_push_text(arr, v);
}
static int push_num(cJSON *arr, double v) {
  cJSON *n = cJSON_CreateNumber(v);
  return n != NULL && cJSON_AddItemToArray(arr, n);
}

/* Whether query i succeeded, and its error message if not. */
static int query_ok(const chr_batch *b, const chr_query_result *r, int i, const char **error) {
  const chr_batch_query *q = chr_batch_query_at(b, i);
  if (!q->ok) {
    *error = q->error;
    return 0;
  }
  if (!r[i].ok) {
    *error = r[i].error;
    return 0;
  }
  return 1;
}

static int add_dominant(cJSON *hit, const chr_result_hit *h, const chr_rgb *palettes,
                        const float *palette_weights) {
  cJSON *arr = cJSON_AddArrayToObject(hit, "dominant_colors");
  if (arr == NULL) return 0;
  char hex[8];
  for (int j = 0; j < CHR_DOMINANT_MAX; j++) {
    if (palettes != NULL) {
      size_t at = (size_t)h->row * CHR_DOMINANT_MAX + (size_t)j;
      if (palette_weights != NULL && !(palette_weights[at] > 0.0f)) continue;
      chr_rgb_to_hex(palettes[at], hex);
    } else {
      int bin = h->dominant_bin[j];
      if (bin < 0 || bin >= CHR_BINS) continue;
      chr_rgb_to_hex(chr_lab_to_rgb(chr_grid_bin_centre(bin)), hex);
    }
    if (!push_str(arr, hex)) return 0;
  }
  return 1;
}

/* The metric that made the distances: fast mode skips the rerank, so its distance is the
 * Hellinger ann_score whatever metric was asked for. A Sinkhorn rerank also says whether every
 * solve reached sinkhorn_tol, how many did not, and the largest final marginal error. */
static int add_metric(cJSON *meta, const chr_batch_query *q, const chr_query_result *r) {
  const char *metric = q->options.fast_mode ? "hellinger" : chr_metric_name(q->options.metric);
  if (!add_str(meta, "metric", metric)) return 0;
  if (q->options.fast_mode || q->options.metric != CHR_METRIC_SINKHORN) return 1;
  return add_bool(meta, "sinkhorn_converged", r->sinkhorn_unconverged == 0) &&
         add_num(meta, "sinkhorn_unconverged", (double)r->sinkhorn_unconverged) &&
         add_num(meta, "sinkhorn_marginal_error", r->sinkhorn_error_max);
}

/* The ids of the images collapsed onto a hit (only when the query collapses them and some are);
 * *collapsed grows by their number. */
static int add_duplicates(cJSON *hit, const chr_batch_query *q, const chr_result_hit *h,
                          char *const *ids, const chr_run_info *run, int64_t *collapsed) {
  const int64_t *rows = NULL;
  int64_t n = q->options.collapse_duplicates && run->duplicates != NULL
                  ? chr_dups_members(run->duplicates, h->row, &rows)
                  : 0;
  if (n == 0) return 1;
  cJSON *arr = cJSON_AddArrayToObject(hit, "duplicates");
  for (int64_t j = 0; arr != NULL && j < n; j++)
    if (rows[j] < 0 || rows[j] >= run->images || !push_str(arr, ids[rows[j]])) return 0;
  *collapsed += n;
  return arr != NULL;
}

/* The older rerank_scope's name of a stage: "all" for bounds, "candidates" for the others (as
 * in v1 reports; the cascade's pool is candidates too). A switch without default: a new stage
 * must say here what older readers see. */
static const char *scope_name(chr_candidate_stage stage) {
  switch (stage) {
    case CHR_STAGE_BOUNDS:
      return "all";
    case CHR_STAGE_HELLINGER:
    case CHR_STAGE_CASCADE:
    case CHR_STAGE_AUTO:
      return "candidates";
  }
  return "candidates";
}

static int add_success(cJSON *o, const chr_batch_query *q, const chr_query_result *r,
                       char *const *ids, char *const *paths, const chr_rgb *palettes,
                       const float *palette_weights, const chr_run_info *run) {
  int ok = add_str(o, "query_id", q->id) && add_bool(o, "success", 1);
  cJSON *query = ok ? cJSON_AddObjectToObject(o, "query") : NULL;
  cJSON *colors = query != NULL ? cJSON_AddArrayToObject(query, "colors") : NULL;
  if (colors == NULL) return 0;
  char hex[8];
  for (int c = 0; c < q->n_colors; c++) {
    chr_rgb_to_hex(q->colors[c], hex);
    if (!push_str(colors, hex)) return 0;
  }
  cJSON *weights = cJSON_CreateDoubleArray(q->weights, q->n_colors);
  if (weights == NULL || !cJSON_AddItemToObject(query, "weights", weights)) {
    cJSON_Delete(weights);
    return 0;
  }
  int count = r->count < CHR_RESULTS_K_MAX ? r->count : CHR_RESULTS_K_MAX;
  if (count < 0) count = 0;
  cJSON *hits = add_num(o, "results_count", count) ? cJSON_AddArrayToObject(o, "results") : NULL;
  if (hits == NULL) return 0;
  int64_t collapsed = 0;
  for (int j = 0; j < count; j++) {
    const chr_result_hit *h = &r->hits[j];
    double confidence = q->options.fast_mode ? chr_confidence_fast(h->ann_score)
                                             : chr_confidence_transport(h->distance);
    cJSON *hit = cJSON_CreateObject();
    if (hit == NULL || !cJSON_AddItemToArray(hits, hit)) {
      cJSON_Delete(hit);
      return 0;
    }
    ok = add_num(hit, "rank", j + 1) && add_str(hit, "image_id", ids[h->row]) &&
         (paths == NULL || add_str(hit, "file_path", paths[h->row])) &&
         add_num(hit, "distance", h->distance) && add_num(hit, "ann_score", h->ann_score) &&
         add_num(hit, "confidence", confidence) &&
         add_dominant(hit, h, palettes, palette_weights) &&
         add_duplicates(hit, q, h, ids, run, &collapsed);
    if (!ok) return 0;
  }
  cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
  return meta != NULL && add_num(meta, "ann_time_ms", r->ann_ms) &&
         add_num(meta, "rerank_time_ms", r->rerank_ms) &&
         add_num(meta, "total_time_ms", r->total_ms) &&
         add_num(meta, "index_size", (double)run->images) &&
         add_num(meta, "candidates", (double)r->candidates) &&
         add_num(meta, "pruned_candidates", (double)r->pruned) &&
         add_bool(meta, "cache_hit", r->cache_hit) &&
         add_str(meta, "candidate_stage", chr_stage_name(q->options.candidate_stage)) &&
         add_str(meta, "rerank_scope", scope_name(q->options.candidate_stage)) &&
         add_metric(meta, q, r) && add_bool(meta, "fast_mode", q->options.fast_mode) &&
         add_bool(meta, "collapse_duplicates", q->options.collapse_duplicates) &&
         add_num(meta, "duplicates_collapsed", (double)collapsed);
}

static int add_failure(cJSON *o, const char *id, const char *error) {
  return add_str(o, "query_id", id) && add_bool(o, "success", 0) && add_str(o, "error", error) &&
         cJSON_AddArrayToObject(o, "results") != NULL && add_num(o, "results_count", 0);
}

typedef struct {
  double t;
  int delta; /* +1 start, -1 end */
} sweep_event;

static int event_cmp(const void *pa, const void *pb) {
  const sweep_event *a = pa, *b = pb;
  if (a->t != b->t) return a->t < b->t ? -1 : 1;
  return a->delta - b->delta; /* ends (-1) before starts (+1) at equal times */
}

typedef struct {
  double end_s;
  int index;
  double seconds;
} completion;

static int completion_cmp(const void *pa, const void *pb) {
  const completion *a = pa, *b = pb;
  return chr_order_value_row(a->end_s, a->index, b->end_s, b->index);
}

static chr_status add_performance(cJSON *root, const chr_batch *b, const chr_query_result *r,
                                  const chr_run_info *run, chr_error *err) {
  chr_status status = CHR_OK;
  int n = chr_batch_count(b), m = 0;
  sweep_event *events = malloc(sizeof *events * (size_t)(2 * n + 1));
  completion *done = malloc(sizeof *done * (size_t)(n + 1));
  double *sorted = malloc(sizeof *sorted * (size_t)(n + 1));
  if (events == NULL || done == NULL || sorted == NULL) {
    status = chr_error_set(err, CHR_ENOMEM, "report: out of memory for %d queries", n);
    goto cleanup;
  }
  double sum = 0.0;
  for (int i = 0; i < n; i++) {
    const char *error;
    if (!query_ok(b, r, i, &error)) continue;
    events[2 * m] = (sweep_event){r[i].start_s, +1};
    events[2 * m + 1] = (sweep_event){r[i].end_s, -1};
    done[m] = (completion){r[i].end_s, i, r[i].total_ms / 1000.0};
    sorted[m] = done[m].seconds;
    sum += sorted[m];
    m++;
  }
  qsort(events, (size_t)(2 * m), sizeof *events, event_cmp);
  qsort(done, (size_t)m, sizeof *done, completion_cmp);
  chr_sort_doubles(sorted, m);
  int live = 0, peak = 0;
  for (int e = 0; e < 2 * m; e++) {
    live += events[e].delta;
    if (live > peak) peak = live;
  }
  cJSON *perf = cJSON_AddObjectToObject(root, "performance_stats");
  cJSON *recent = perf != NULL ? cJSON_CreateArray() : NULL;
  int ok = recent != NULL && cJSON_AddItemToObject(perf, "recent_search_times", recent);
  if (!ok) cJSON_Delete(recent);
  for (int k = m > RECENT_MAX ? m - RECENT_MAX : 0; ok && k < m; k++)
    ok = push_num(recent, done[k].seconds);
  ok = ok && add_num(perf, "total_searches", m) && add_num(perf, "concurrent_searches", 0) &&
       add_num(perf, "max_concurrent_searches", peak) &&
       add_num(perf, "average_search_time", m > 0 ? sum / m : 0.0) &&
       add_num(perf, "p50_search_time", m > 0 ? chr_percentile_sorted(sorted, m, 50) : 0.0) &&
       add_num(perf, "p95_search_time", m > 0 ? chr_percentile_sorted(sorted, m, 95) : 0.0) &&
       add_num(perf, "p99_search_time", m > 0 ? chr_percentile_sorted(sorted, m, 99) : 0.0) &&
       add_num(perf, "queries_per_second",
               run->search_ms > 0.0 ? m / (run->search_ms / 1000.0) : 0.0);
  if (!ok) status = chr_error_set(err, CHR_ENOMEM, "report: out of memory building JSON");
cleanup:
  free(events);
  free(done);
  free(sorted);
  return status;
}

static int add_run(cJSON *root, const chr_run_info *run, const chr_rank_stats *ranks, int n_ranks) {
  cJSON *o = cJSON_AddObjectToObject(root, "run");
  if (o == NULL) return 0;
  int ok = add_str(o, "version", run->version) && add_num(o, "ranks", run->ranks) &&
           add_num(o, "threads_per_rank", run->threads_per_rank) &&
           (run->threads_source == NULL || add_str(o, "threads_source", run->threads_source)) &&
           add_num(o, "query_groups", run->query_groups) && add_num(o, "shards", run->shards) &&
           add_str(o, "io_mode", run->io_mode) &&
           (run->index == NULL || add_str(o, "index", run->index));
  cJSON *ds = ok ? cJSON_AddObjectToObject(o, "dataset") : NULL;
  ok = ds != NULL && add_str(ds, "path", run->dataset_path) &&
       add_num(ds, "images", (double)run->images);
  /* Dataset-wide: the images that answer through another identical one when collapsing. */
  cJSON *dup = ok ? cJSON_AddObjectToObject(ds, "duplicates") : NULL;
  ok = dup != NULL &&
       add_num(dup, "groups", run->duplicates != NULL ? (double)run->duplicates->groups : 0.0) &&
       add_num(dup, "images_collapsed", run->duplicates != NULL ? (double)run->duplicates->n : 0.0);
  cJSON *t = ok ? cJSON_AddObjectToObject(o, "timings_ms") : NULL;
  ok = t != NULL && add_num(t, "read", run->read_ms) &&
       add_num(t, "distribute", run->distribute_ms) && add_num(t, "search", run->search_ms) &&
       add_num(t, "gather", run->gather_ms) &&
       /* A report cannot hold the time taken to write itself; stdout prints it. */
       cJSON_AddNullToObject(t, "write") != NULL && add_num(o, "total_ms", run->total_ms) &&
       cJSON_AddBoolToObject(o, "incomplete", run->incomplete) != NULL &&
       (run->incomplete ? add_str(o, "stopped_by", run->stopped_by ? run->stopped_by : "signal")
                        : cJSON_AddNullToObject(o, "stopped_by") != NULL);
  cJSON *per = ok ? cJSON_AddArrayToObject(o, "per_rank") : NULL;
  if (per == NULL) return 0;
  for (int i = 0; i < n_ranks; i++) {
    const chr_rank_stats *s = &ranks[i];
    cJSON *e = cJSON_CreateObject();
    if (e == NULL || !cJSON_AddItemToArray(per, e)) {
      cJSON_Delete(e);
      return 0;
    }
    ok = add_num(e, "rank", s->rank) && add_num(e, "group", s->group) &&
         add_num(e, "shard", s->shard) && add_num(e, "first_row", (double)s->first_row) &&
         add_num(e, "rows", (double)s->rows) && add_num(e, "queries", s->queries) &&
         add_num(e, "read_ms", s->read_ms) && add_num(e, "distribute_ms", s->distribute_ms) &&
         add_num(e, "search_ms", s->search_ms) && add_num(e, "peak_rss_mb", s->peak_rss_mb) &&
         add_num(e, "threads", s->threads);
    if (!ok) return 0;
  }
  return 1;
}

chr_status chr_report_write(const char *path, const chr_batch *batch,
                            const chr_query_result *results, char *const *ids, char *const *paths,
                            const chr_rgb *palettes, const float *palette_weights,
                            const chr_run_info *run, const chr_rank_stats *ranks, int n_ranks,
                            char *const *warnings, int n_warnings, chr_error *err) {
  if (path == NULL || batch == NULL || results == NULL || ids == NULL || run == NULL ||
      n_ranks < 0 || (n_ranks > 0 && ranks == NULL) || n_warnings < 0 ||
      (n_warnings > 0 && warnings == NULL))
    return chr_error_set(err, CHR_EINVAL,
                         "report: missing argument (expected path, batch, "
                         "results, ids and run)");
  int n = chr_batch_count(batch), n_ok = 0;
  for (int i = 0; i < n; i++) {
    const char *error;
    if (!query_ok(batch, results, i, &error)) continue;
    n_ok++;
    for (int j = 0; j < results[i].count && j < CHR_RESULTS_K_MAX; j++) {
      int64_t row = results[i].hits[j].row;
      if (row < 0 || row >= run->images)
        return chr_error_set(err, CHR_EINVAL, "report: query %d hit %d row %lld (expected 0..%lld)",
                             i, j, (long long)row, (long long)run->images - 1);
    }
  }
  chr_status status = CHR_OK;
  char *text = NULL;
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL && add_num(root, "total_queries", n) &&
           add_num(root, "successful_queries", n_ok) && add_num(root, "failed_queries", n - n_ok) &&
           add_num(root, "total_time_ms", run->total_ms);
  cJSON *list = ok ? cJSON_AddArrayToObject(root, "results") : NULL;
  ok = list != NULL;
  for (int i = 0; ok && i < n; i++) {
    const chr_batch_query *q = chr_batch_query_at(batch, i);
    const char *error = NULL;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToArray(list, o)) {
      cJSON_Delete(o);
      ok = 0;
      break;
    }
    if (query_ok(batch, results, i, &error))
      ok = add_success(o, q, &results[i], ids, paths, palettes, palette_weights, run);
    else
      ok = add_failure(o, q->id, error);
  }
  if (!ok) {
    status = chr_error_set(err, CHR_ENOMEM, "report: out of memory building JSON");
    goto cleanup;
  }
  status = add_performance(root, batch, results, run, err);
  if (status != CHR_OK) goto cleanup;
  cJSON *health = cJSON_AddObjectToObject(root, "health");
  cJSON *comp = health != NULL && add_str(health, "status", "healthy")
                    ? cJSON_AddObjectToObject(health, "components")
                    : NULL;
  ok = comp != NULL && add_str(comp, "histogram_dataset", "loaded") &&
       add_str(comp, "search_index", "exact") && add_run(root, run, ranks, n_ranks);
  cJSON *warn = ok ? cJSON_AddArrayToObject(root, "warnings") : NULL;
  ok = warn != NULL;
  for (int i = 0; ok && i < n_warnings; i++) ok = push_str(warn, warnings[i]);
  text = ok ? cJSON_Print(root) : NULL;
  if (text == NULL) {
    status = chr_error_set(err, CHR_ENOMEM, "report: out of memory building JSON");
    goto cleanup;
  }
  status = chr_text_write_atomic(path, text, "report", err);
cleanup:
  cJSON_free(text);
  cJSON_Delete(root);
  return status;
}
