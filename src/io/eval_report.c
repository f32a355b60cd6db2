#include "chromatica/eval_report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/json_text.h"
#include "chromatica/textfile.h"
#include "stats.h"

typedef struct {
  int queries;
  double recall_mean, recall_min;
  int pool_known; /* 0: some query's pool is larger than the Hellinger list */
  double pool_recall_mean, pool_recall_min;
  int perfect; /* queries with recall 1 */
  double ann_mean, ann_p95, rerank_mean, rerank_p95, total_mean, total_p95;
  double pruned_fraction, queries_per_second;
  int unconverged; /* queries with a Sinkhorn solve stopped by max_iter before its tolerance */
} mode_figures;

/* Mean and nearest-rank p95 of n values (sorted in place). */
static void mean_p95(double *v, int n, double *mean, double *p95) {
  *mean = *p95 = 0.0;
  if (n == 0) return;
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += v[i];
  chr_sort_doubles(v, n);
  *mean = sum / n;
  *p95 = chr_percentile_sorted(v, n, 95);
}

static double recall(const chr_query_result *got, const chr_query_result *truth) {
  if (truth->count == 0) return 1.0;
  int found = 0;
  for (int i = 0; i < got->count; ++i)
    for (int j = 0; j < truth->count; ++j)
      if (got->hits[i].row == truth->hits[j].row) {
        found++;
        break;
      }
  return (double)found / truth->count;
}

/* The share of the truth's top-k inside the mode's pool for query i, or -1 when the pool is
 * larger than the Hellinger list holds. */
static double pool_recall(const chr_eval_mode *m, const chr_batch_query *q,
                          const chr_query_result *r, const chr_query_result *t,
                          const chr_query_result *hellinger, int64_t images) {
  if (m->pool == CHR_POOL_ALL) return 1.0;
  if (m->pool == CHR_POOL_TOPK) return recall(r, t);
  int64_t want = m->pool_r > 0 ? m->pool_r : q->options.rerank_k;
  if (want < q->options.k) want = q->options.k;
  if (want > images) want = images;
  if (hellinger == NULL || !hellinger->ok || want > hellinger->count) return -1.0;
  chr_query_result pool = *hellinger;
  pool.count = (int)want;
  return recall(&pool, t);
}

static int figures(const chr_batch_query *queries, int n, const chr_eval_mode *m,
                   const chr_eval_mode *truth, const chr_query_result *hellinger, int64_t images,
                   mode_figures *f) {
  double *ann = malloc((size_t)(n > 0 ? n : 1) * sizeof *ann);
  double *rerank = malloc((size_t)(n > 0 ? n : 1) * sizeof *rerank);
  double *total = malloc((size_t)(n > 0 ? n : 1) * sizeof *total);
  if (ann == NULL || rerank == NULL || total == NULL) {
    free(ann);
    free(rerank);
    free(total);
    return 0;
  }
  memset(f, 0, sizeof *f);
  f->recall_min = 1.0;
  f->pool_known = 1;
  f->pool_recall_min = 1.0;
  double candidates = 0.0, pruned = 0.0, recall_sum = 0.0, pool_sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const chr_query_result *r = &m->results[i], *t = &truth->results[i];
    if (!queries[i].ok || !r->ok || !t->ok) continue;
    double rc = recall(r, t);
    recall_sum += rc;
    f->recall_min = rc < f->recall_min ? rc : f->recall_min;
    f->perfect += rc == 1.0;
    double pc = pool_recall(m, &queries[i], r, t, hellinger ? &hellinger[i] : NULL, images);
    if (pc < 0.0) f->pool_known = 0;
    pool_sum += pc;
    f->pool_recall_min = pc < f->pool_recall_min ? pc : f->pool_recall_min;
    ann[f->queries] = r->ann_ms;
    rerank[f->queries] = r->rerank_ms;
    total[f->queries] = r->total_ms;
    candidates += (double)r->candidates;
    pruned += (double)r->pruned;
    f->unconverged += r->sinkhorn_unconverged > 0;
    f->queries++;
  }
  f->recall_mean = f->queries ? recall_sum / f->queries : 0.0;
  if (f->queries == 0) f->recall_min = 0.0;
  f->pool_recall_mean = f->queries ? pool_sum / f->queries : 0.0;
  if (f->queries == 0) f->pool_recall_min = 0.0;
  mean_p95(ann, f->queries, &f->ann_mean, &f->ann_p95);
  mean_p95(rerank, f->queries, &f->rerank_mean, &f->rerank_p95);
  mean_p95(total, f->queries, &f->total_mean, &f->total_p95);
  f->pruned_fraction = candidates > 0 ? pruned / candidates : 0.0;
  f->queries_per_second = m->wall_ms > 0 ? f->queries / (m->wall_ms / 1e3) : 0.0;
  free(ann);
  free(rerank);
  free(total);
  return 1;
}

static cJSON *mode_json(const char *name, const mode_figures *f, double wall_ms) {
  cJSON *o = cJSON_CreateObject();
  cJSON *lat = o ? cJSON_AddObjectToObject(o, "latency_ms") : NULL;
  const char *stages[3] = {"ann", "rerank", "total"};
  const double values[3][2] = {
      {f->ann_mean, f->ann_p95}, {f->rerank_mean, f->rerank_p95}, {f->total_mean, f->total_p95}};
  int ok = lat != NULL && cJSON_AddStringToObject(o, "mode", name) &&
           cJSON_AddNumberToObject(o, "queries", f->queries) &&
           cJSON_AddNumberToObject(o, "recall_at_k_mean", f->recall_mean) &&
           cJSON_AddNumberToObject(o, "recall_at_k_min", f->recall_min) &&
           cJSON_AddNumberToObject(o, "queries_with_full_recall", f->perfect) &&
           (f->pool_known ? cJSON_AddNumberToObject(o, "pool_recall_mean", f->pool_recall_mean) &&
                                cJSON_AddNumberToObject(o, "pool_recall_min", f->pool_recall_min)
                          : cJSON_AddNullToObject(o, "pool_recall_mean") &&
                                cJSON_AddNullToObject(o, "pool_recall_min")) &&
           cJSON_AddNumberToObject(o, "pruned_fraction", f->pruned_fraction) &&
           cJSON_AddNumberToObject(o, "sinkhorn_unconverged_queries", f->unconverged) &&
           cJSON_AddNumberToObject(o, "wall_ms", wall_ms) &&
           cJSON_AddNumberToObject(o, "queries_per_second", f->queries_per_second);
  for (int s = 0; ok && s < 3; ++s) {
    cJSON *st = cJSON_AddObjectToObject(lat, stages[s]);
    ok = st && cJSON_AddNumberToObject(st, "mean", values[s][0]) &&
         cJSON_AddNumberToObject(st, "p95", values[s][1]);
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* The batch's query counts and every invalid query, as the search report names them. */
static int add_invalid_queries(cJSON *root, const chr_batch_query *queries, int n) {
  int valid = 0;
  for (int i = 0; i < n; ++i) valid += queries[i].ok != 0;
  int ok = cJSON_AddNumberToObject(root, "total_queries", n) &&
           cJSON_AddNumberToObject(root, "valid_queries", valid);
  cJSON *list = ok ? cJSON_AddArrayToObject(root, "invalid_queries") : NULL;
  ok = list != NULL;
  for (int i = 0; ok && i < n; ++i) {
    if (queries[i].ok) continue;
    cJSON *o = cJSON_CreateObject();
    ok = o != NULL && cJSON_AddNumberToObject(o, "index", i) &&
         chr_json_add_text(o, "query_id", queries[i].id) &&
         chr_json_add_text(o, "error", queries[i].error) && cJSON_AddItemToArray(list, o);
    if (!ok) cJSON_Delete(o); /* not in the list, so still ours */
  }
  return ok;
}

static void table_row(FILE *out, const char *name, const mode_figures *f) {
  char pool[16] = "       -";
  if (f->pool_known) snprintf(pool, sizeof pool, "%8.4f", f->pool_recall_mean);
  fprintf(out, "%-24s %8.4f %8.4f %s %9.2f %9.2f %9.2f %9.2f %7.1f%% %8.1f\n", name, f->recall_mean,
          f->recall_min, pool, f->ann_mean, f->ann_p95, f->rerank_mean, f->rerank_p95,
          100.0 * f->pruned_fraction, f->queries_per_second);
}

chr_status chr_eval_report_write(const char *path, const chr_eval_context *ctx,
                                 const chr_batch_query *queries, int n, const chr_eval_mode *modes,
                                 int n_modes, const chr_eval_mode *truth,
                                 const chr_query_result *hellinger, FILE *table, chr_error *err) {
  cJSON *root = cJSON_CreateObject();
  cJSON *list = root ? cJSON_AddArrayToObject(root, "modes") : NULL;
  int ok = list != NULL && chr_json_add_text(root, "dataset", ctx->dataset) &&
           chr_json_add_text(root, "queries", ctx->queries) &&
           cJSON_AddNumberToObject(root, "images", (double)ctx->images) &&
           cJSON_AddNumberToObject(root, "ranks", ctx->ranks) &&
           cJSON_AddNumberToObject(root, "threads_per_rank", ctx->threads_per_rank) &&
           cJSON_AddNumberToObject(root, "query_groups", ctx->query_groups) &&
           cJSON_AddNumberToObject(root, "shards", ctx->shards) &&
           cJSON_AddStringToObject(root, "truth", "exact EMD over every image (candidates bounds)");
  ok = ok && add_invalid_queries(root, queries, n);
  if (table != NULL)
    fprintf(table, "%-24s %8s %8s %8s %9s %9s %9s %9s %8s %8s\n", "mode", "recall", "min", "pool",
            "ann ms", "ann p95", "rerank", "rr p95", "pruned", "q/s");
  for (int m = -1; ok && m < n_modes; ++m) {
    const chr_eval_mode *mode = m < 0 ? truth : &modes[m];
    mode_figures f;
    ok = figures(queries, n, mode, truth, hellinger, ctx->images, &f);
    cJSON *o = ok ? mode_json(mode->name, &f, mode->wall_ms) : NULL;
    ok = o != NULL && cJSON_AddItemToArray(list, o);
    if (ok && table != NULL) table_row(table, mode->name, &f);
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  chr_status st = text == NULL ? chr_error_set(err, CHR_ENOMEM, "eval %s: out of memory", path)
                               : chr_text_write_atomic(path, text, "eval report", err);
  cJSON_free(text);
  cJSON_Delete(root);
  return st;
}
