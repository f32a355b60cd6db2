#include "chromatica/search.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"
#include "chromatica/mpi_search.h"
#include "chromatica/query_cache.h"
#include "rerank_emd.h"
#include "search_stop.h"

_Static_assert(CHR_K_MAX <= CHR_RESULTS_K_MAX, "a query's k hits must fit a chr_query_result");
/* Rank 0 gathers every answer as bytes (chr_mpi_gatherv), whose total MPI counts in an int. */
_Static_assert((long long)CHR_BATCH_QUERIES_MAX *(long long)sizeof(chr_query_result) < INT_MAX,
               "the answers of a full batch must fit one gather");

/* One query of a wave as one rank of the group sees it. */
typedef struct {
  const chr_batch_query *query;
  int want;                              /* R over the whole dataset (k in fast mode) */
  chr_hit *partial;                      /* this shard's stage-1 top (want slots) */
  int n_partial;                         /* -1: stage 1 failed here */
  chr_hit *merged;                       /* the group-wide stage-1 top (want slots) */
  int n_merged;                          /* -1: stage 1 failed on some shard */
  chr_result_hit top[CHR_RESULTS_K_MAX]; /* this shard's reranked top-k */
  int n_top;                  /* -1: failed (message in error, empty if failed elsewhere) */
  int64_t candidates, pruned; /* what the rerank ranked, and how many it skipped by bounds */
  chr_rerank_stats sinkhorn;  /* how this shard's Sinkhorn solves ended */
  char error[CHR_ERROR_MESSAGE_MAX];
  double ann_ms, rerank_ms;
} wave_query;

chr_status chr_mpi_bcast_queries(MPI_Comm comm, chr_batch_query **queries, int *n, chr_error *err) {
  int rank = 0, size = 1;
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st != CHR_OK) return st;
  /* The records travel as bytes: they hold no pointers. */
  char *data = rank == 0 ? (char *)*queries : NULL;
  int64_t bytes = rank == 0 ? (int64_t)*n * (int64_t)sizeof **queries : 0;
  st = chr_mpi_bcast_bytes(comm, &data, &bytes, err);
  if (st == CHR_OK && rank != 0) {
    *queries = (chr_batch_query *)data;
    *n = (int)(bytes / (int64_t)sizeof **queries);
  }
  return st;
}

/* The heaviest bins of a support in chr_order_mass_bin order; -1 fills unused slots. */
static void dominant_bins(const chr_index *idx, int64_t local_row, int16_t out[CHR_DOMINANT_MAX]) {
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  int n = chr_index_support(idx, local_row, &bins, &mass);
  chr_bin_mass kept[CHR_DOMINANT_MAX];
  int count = 0;
  for (int j = 0; j < n; ++j)
    count = chr_heaviest_offer(kept, count, CHR_DOMINANT_MAX, mass[j], bins[j]);
  for (int m = 0; m < CHR_DOMINANT_MAX; ++m) out[m] = m < count ? (int16_t)kept[m].bin : -1;
}

static int exact_emd(const chr_search_options *o) {
  return chr_search_exact_emd(o);
}

/* Stage 1 of the whole wave in one pass over the shard (chr_scan_topk_many: each column block
 * is read and square-rooted once for every query that needs it; the same bits as one scan per
 * query). Every query's ann time is the pass's, since they were computed together. */
static void stage1_wave(const chr_index *idx, wave_query *wq, int W) {
  const chr_qhist *qs[CHR_MAX_CONCURRENT_MAX];
  chr_hit *outs[CHR_MAX_CONCURRENT_MAX];
  int want[CHR_MAX_CONCURRENT_MAX], counts[CHR_MAX_CONCURRENT_MAX], which[CHR_MAX_CONCURRENT_MAX];
  int collapse[CHR_MAX_CONCURRENT_MAX];
  int n = 0;
  int64_t rows = chr_index_rows(idx);
  for (int i = 0; i < W; ++i) {
    wq[i].ann_ms = 0.0;
    wq[i].n_partial = 0;
    if (!chr_search_uses_stage1(&wq[i].query->options)) continue; /* bounds, cascade */
    qs[n] = &wq[i].query->hist;
    outs[n] = wq[i].partial;
    want[n] = wq[i].want < rows ? wq[i].want : (int)rows;
    collapse[n] = wq[i].query->options.collapse_duplicates;
    which[n++] = i;
  }
  if (n == 0) return;
  chr_error err;
  double t = chr_mpi_seconds();
  chr_status st = chr_scan_topk_many_excluding(idx, qs, n, want, collapse, outs, counts, &err);
  double ms = (chr_mpi_seconds() - t) * 1e3;
  for (int j = 0; j < n; ++j) {
    wave_query *w = &wq[which[j]];
    w->n_partial = st == CHR_OK ? counts[j] : -1;
    w->ann_ms = ms;
    if (st != CHR_OK) snprintf(w->error, sizeof w->error, "stage 1: %.500s", err.message);
  }
}

/* Allgathers every shard's partial lists and merges them, in shard order, per query. Every
 * allocation is agreed on before the collective that needs it, so no rank leaves early. */
static chr_status merge_partials(MPI_Comm gcomm, wave_query *wq, int W, chr_error *err) {
  int grank = 0, shards = 1;
  chr_status placed = chr_mpi_place(gcomm, &grank, &shards, err);
  if (placed != CHR_OK) return placed;
  int my_counts[CHR_MAX_CONCURRENT_MAX];
  int mine = 0, longest = 0;
  for (int i = 0; i < W; ++i) {
    my_counts[i] = wq[i].n_partial;
    mine += wq[i].n_partial > 0 ? wq[i].n_partial : 0;
    longest = wq[i].want > longest ? wq[i].want : longest;
  }
  int *counts = malloc((size_t)W * (size_t)shards * sizeof *counts);
  chr_hit *send = malloc((size_t)(mine > 0 ? mine : 1) * sizeof *send);
  chr_hit *tmp = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *tmp);
  chr_mpi_gathered gathered = {0};
  chr_status st = counts && send && tmp
                      ? CHR_OK
                      : chr_error_set(err, CHR_ENOMEM, "cannot hold the stage-1 lists of a wave");
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK) goto cleanup;
  for (int i = 0, at = 0; i < W; ++i)
    for (int j = 0; j < wq[i].n_partial; ++j) send[at++] = wq[i].partial[j];
  st = chr_mpi_check(MPI_Allgather(my_counts, W, MPI_INT, counts, W, MPI_INT, gcomm), err,
                     "MPI_Allgather of stage-1 list sizes");
  st = chr_mpi_agree(gcomm, st, err);
  if (st == CHR_OK)
    st = chr_mpi_gatherv(gcomm, CHR_MPI_EVERY_RANK, send, (int64_t)mine * (int64_t)sizeof *send,
                         &gathered, err, "the stage-1 lists of %d queries", W);
  if (st != CHR_OK) goto cleanup;
  const chr_hit *all = (const chr_hit *)gathered.data; /* shard after shard, query after query */
  for (int i = 0; i < W; ++i) wq[i].n_merged = 0;
  for (int s = 0, at = 0; s < shards; ++s) {
    for (int i = 0; i < W; ++i) {
      int n = counts[s * W + i];
      if (n < 0 || wq[i].n_merged < 0) {
        wq[i].n_merged = -1;
        at += n > 0 ? n : 0;
        continue;
      }
      int kept = chr_hits_merge(wq[i].merged, wq[i].n_merged, all + at, n, tmp, wq[i].want);
      memcpy(wq[i].merged, tmp, (size_t)kept * sizeof *tmp);
      wq[i].n_merged = kept;
      at += n;
    }
  }
cleanup:
  free(counts);
  free(send);
  free(tmp);
  chr_mpi_gathered_free(&gathered);
  return st;
}

/* Keeps this shard's best n matches (already ranked) as result hits. */
static void keep_top(const chr_index *idx, wave_query *w, const chr_match *matches, int n) {
  int64_t first = chr_index_first_row(idx);
  w->n_top = n;
  for (int j = 0; j < n; ++j) {
    chr_result_hit *h = &w->top[j];
    h->row = matches[j].row;
    h->distance = matches[j].distance;
    h->ann_score = matches[j].ann_score;
    dominant_bins(idx, matches[j].row - first, h->dominant_bin);
  }
}

/* Reranks the merged candidates this shard owns and keeps its best k. */
static void stage2(const chr_index *idx, wave_query *w, chr_match *matches, chr_hit *owned) {
  double t = chr_mpi_seconds();
  const chr_search_options *o = &w->query->options;
  int64_t first = chr_index_first_row(idx), end = first + chr_index_rows(idx);
  w->n_top = -1;
  w->candidates = w->n_merged;
  w->pruned = 0;
  if (w->n_merged < 0) return;
  int n = 0;
  for (int j = 0; j < w->n_merged; ++j)
    if (w->merged[j].row >= first && w->merged[j].row < end) owned[n++] = w->merged[j];
  chr_error err;
  if (chr_search_rerank(idx, &w->query->hist, o, owned, n, matches, &w->sinkhorn, &err) != CHR_OK) {
    snprintf(w->error, sizeof w->error, "%s", err.message);
    return;
  }
  keep_top(idx, w, matches, chr_matches_rank(matches, n, o->k));
  w->rerank_ms = (chr_mpi_seconds() - t) * 1e3;
}

/* The exact EMD queries of the wave (cascade pools made first, their time added to ann_ms),
 * reranked together in bound-pruned rounds across the group's shards. Collective on gcomm. */
static chr_status stage2_emd(MPI_Comm gcomm, const chr_index *idx, int64_t images, wave_query *wq,
                             int W, chr_error *err) {
  chr_emd_job jobs[CHR_MAX_CONCURRENT_MAX];
  chr_cascade_job cascade[CHR_MAX_CONCURRENT_MAX];
  int owner[CHR_MAX_CONCURRENT_MAX], n = 0, nc = 0;
  chr_status st = CHR_OK;
  for (int i = 0; i < W; ++i) {
    if (!exact_emd(&wq[i].query->options)) continue;
    wq[i].n_top = -1; /* stays so if stage 1 failed */
    wq[i].candidates = wq[i].n_merged;
    wq[i].pruned = 0;
    if (wq[i].n_merged < 0) continue;
    jobs[n] =
        (chr_emd_job){.query = wq[i].query, .merged = wq[i].merged, .n_merged = wq[i].n_merged};
    jobs[n].top = malloc((size_t)wq[i].query->options.k * sizeof *jobs[n].top);
    if (jobs[n].top == NULL) st = chr_error_set(err, CHR_ENOMEM, "cannot hold a top-k list");
    if (chr_search_uses_cascade(&wq[i].query->options))
      cascade[nc++] = (chr_cascade_job){wq[i].query, wq[i].want, wq[i].merged, &jobs[n].n_merged,
                                        &wq[i].ann_ms};
    owner[n++] = i;
  }
  st = chr_mpi_agree(gcomm, st, err);
  if (st == CHR_OK && nc > 0) st = chr_mpi_cascade(gcomm, idx, images, cascade, nc, err);
  if (st == CHR_OK && n > 0) st = chr_mpi_emd_rerank(gcomm, idx, jobs, n, err);
  for (int j = 0; j < n && st == CHR_OK; ++j) {
    wave_query *w = &wq[owner[j]];
    int scope_all = chr_search_pools_every_image(&w->query->options);
    w->candidates = jobs[j].candidates;
    w->pruned = jobs[j].pruned;
    /* For scope "all" the all-image bound scan is the candidate search. */
    w->ann_ms += scope_all ? jobs[j].bound_ms : 0.0;
    w->rerank_ms = jobs[j].rerank_ms + (scope_all ? 0.0 : jobs[j].bound_ms);
    snprintf(w->error, sizeof w->error, "%s", jobs[j].error);
    if (jobs[j].failed)
      w->n_top = -1;
    else
      keep_top(idx, w, jobs[j].top, jobs[j].n_top);
  }
  for (int j = 0; j < n; ++j) free(jobs[j].top);
  return st;
}

static int result_hit_compare(const void *pa, const void *pb) {
  const chr_result_hit *a = pa, *b = pb;
  return chr_order_value_row(a->distance, a->row, b->distance, b->row);
}

/* Gathers the shards' top-k lists on the group leader and writes the final answers. */
static chr_status finish_on_leader(MPI_Comm gcomm, wave_query *wq, int W, const int *indices,
                                   int group, double start_s, double t0, chr_query_result *out,
                                   chr_error *err) {
  int grank = 0, shards = 1;
  chr_status st = chr_mpi_place(gcomm, &grank, &shards, err);
  if (st != CHR_OK) return st;
  size_t per_rank = (size_t)W * sizeof(wave_query);
  wave_query *all = grank == 0 ? malloc(per_rank * (size_t)shards) : NULL;
  chr_result_hit *pool =
      grank == 0 ? malloc((size_t)shards * CHR_RESULTS_K_MAX * sizeof *pool) : NULL;
  int ok = grank != 0 || (all != NULL && pool != NULL);
  st = chr_mpi_agree(gcomm, ok ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "cannot gather a wave"),
                     err);
  if (st != CHR_OK) goto cleanup;
  /* The records travel whole; their pointers are meaningless on the leader and never read. */
  st =
      chr_mpi_check(MPI_Gather(wq, (int)per_rank, MPI_BYTE, all, (int)per_rank, MPI_BYTE, 0, gcomm),
                    err, "MPI_Gather of reranked lists");
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK || grank != 0) goto cleanup;
  for (int i = 0; i < W; ++i) {
    chr_query_result *r = &out[i];
    memset(r, 0, sizeof *r);
    r->query_index = indices[i];
    r->group = group;
    r->ok = 1;
    r->answered = 1;
    int n = 0;
    chr_rerank_stats sinkhorn = {0, 0, 0.0};
    for (int s = 0; s < shards && r->ok; ++s) {
      const wave_query *part = &all[(size_t)s * W + i];
      chr_rerank_stats_add(&sinkhorn, &part->sinkhorn);
      /* A stage ends when its slowest shard does. */
      r->ann_ms = part->ann_ms > r->ann_ms ? part->ann_ms : r->ann_ms;
      r->rerank_ms = part->rerank_ms > r->rerank_ms ? part->rerank_ms : r->rerank_ms;
      if (part->n_top < 0 && part->error[0] != '\0') {
        r->ok = 0;
        snprintf(r->error, sizeof r->error, "%s", part->error);
      }
      for (int j = 0; j < part->n_top; ++j) pool[n++] = part->top[j];
    }
    int k = wq[i].query->options.k;
    if (r->ok) {
      qsort(pool, (size_t)n, sizeof *pool, result_hit_compare);
      r->count = n < k ? n : k;
      memcpy(r->hits, pool, (size_t)r->count * sizeof *pool);
      r->candidates = wq[i].candidates;
      r->pruned = wq[i].pruned;
      r->sinkhorn_solved = sinkhorn.solved;
      r->sinkhorn_unconverged = sinkhorn.unconverged;
      r->sinkhorn_error_max = sinkhorn.error_max;
    }
    r->start_s = start_s;
    r->end_s = chr_mpi_seconds() - t0;
    r->total_ms = (r->end_s - r->start_s) * 1e3;
  }
cleanup:
  free(all);
  free(pool);
  return st;
}

/* Runs one wave of W queries on the group; the leader appends W results to out. */
static chr_status run_wave(const chr_layout *L, const chr_index *idx, wave_query *wq, int W,
                           const int *indices, double t0, chr_query_result *out, chr_error *err) {
  double start_s = chr_mpi_seconds() - t0;
  stage1_wave(idx, wq, W);
  double t_merge = chr_mpi_seconds();
  chr_status st = merge_partials(L->group_comm, wq, W, err);
  double merge_ms = (chr_mpi_seconds() - t_merge) * 1e3;
  if (st != CHR_OK) return st;
  int longest = 0;
  for (int i = 0; i < W; ++i) longest = wq[i].want > longest ? wq[i].want : longest;
  chr_match *matches = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *matches);
  chr_hit *owned = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *owned);
  st = matches && owned ? CHR_OK
                        : chr_error_set(err, CHR_ENOMEM, "cannot hold %d candidates", longest);
  for (int i = 0; i < W && st == CHR_OK; ++i) {
    wq[i].ann_ms += merge_ms;
    if (!exact_emd(&wq[i].query->options)) stage2(idx, &wq[i], matches, owned);
  }
  free(matches);
  free(owned);
  st = chr_mpi_agree(L->group_comm, st, err);
  if (st == CHR_OK) st = stage2_emd(L->group_comm, idx, L->images, wq, W, err);
  if (st != CHR_OK) return st;
  double t_gather = chr_mpi_seconds();
  st = finish_on_leader(L->group_comm, wq, W, indices, L->group, start_s, t0, out, err);
  double gather_ms = (chr_mpi_seconds() - t_gather) * 1e3;
  for (int i = 0; i < W && out != NULL && L->shard == 0; ++i) out[i].rerank_ms += gather_ms;
  return st;
}

/* Every rank plans the repeated-query cache over the same batch, so all agree on which queries
 * are searched. NULL when out of memory. */
static int *plan_cache(const chr_batch_query *queries, int n) {
  int *source = malloc((size_t)(n > 0 ? n : 1) * sizeof *source);
  chr_cache_query *keys = malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
  chr_error err;
  int ok = source != NULL && keys != NULL;
  for (int i = 0; ok && i < n; ++i)
    keys[i] = (chr_cache_query){queries[i].ok ? &queries[i].hist : NULL, &queries[i].options};
  if (ok && chr_query_cache_plan(keys, n, CHR_QUERY_CACHE_CAPACITY, source, &err) < 0) ok = 0;
  free(keys);
  if (!ok) {
    free(source);
    return NULL;
  }
  return source;
}

/* The queries group g answers, in batch order, and its share of max_concurrent. */
static int group_share(const int *source, int n, int groups, int g, int max_concurrent,
                       int *indices, int *quota) {
  int active = groups < max_concurrent ? groups : max_concurrent;
  *quota = g < active ? max_concurrent / active + (g < max_concurrent % active) : 0;
  int count = 0, valid = 0;
  for (int i = 0; i < n; ++i) {
    if (source[i] != i) continue; /* invalid, or answered by an identical earlier query */
    if (*quota > 0 && valid % active == g) indices[count++] = i;
    valid++;
  }
  return count;
}

/* What this rank's group answers: the queries (batch positions, in order), its share of
 * max_concurrent per wave, and the source of every query in the batch (chr_query_cache_plan). */
typedef struct {
  int *source;  /* n entries: -1 invalid, i searched, j < i a cache hit of query j */
  int *indices; /* count entries */
  int count, quota;
  int want_max; /* the largest candidate list any of them needs */
} search_plan;

/* How many candidates stage 1 keeps for q over the whole dataset: R, or k in fast mode. */
static int wanted(const chr_layout *L, const chr_search_options *o) {
  return o->fast_mode ? (L->images < o->k ? (int)L->images : o->k)
                      : chr_search_candidates(o, L->images);
}

/* Plans the group's share; the same on every rank of the group. Local; CHR_ENOMEM on failure. */
static chr_status plan_search(const chr_layout *L, const chr_batch_query *queries, int n,
                              int max_concurrent, search_plan *p) {
  p->indices = malloc((size_t)(n > 0 ? n : 1) * sizeof *p->indices);
  p->source = plan_cache(queries, n);
  if (p->indices == NULL || p->source == NULL) return CHR_ENOMEM;
  p->count = group_share(p->source, n, L->groups, L->group, max_concurrent, p->indices, &p->quota);
  for (int i = 0; i < p->count; ++i) {
    int want = wanted(L, &queries[p->indices[i]].options);
    p->want_max = want > p->want_max ? want : p->want_max;
  }
  return CHR_OK;
}

static void waves_destroy(wave_query *wq) {
  for (int i = 0; wq != NULL && i < CHR_MAX_CONCURRENT_MAX; ++i) {
    free(wq[i].partial);
    free(wq[i].merged);
  }
  free(wq);
}

/* The per-query state of one wave, with candidate lists of want_max hits. NULL on failure. */
static wave_query *waves_create(int want_max) {
  wave_query *wq = calloc(CHR_MAX_CONCURRENT_MAX, sizeof *wq);
  size_t bytes = (size_t)(want_max > 0 ? want_max : 1) * sizeof(chr_hit);
  int ok = wq != NULL;
  for (int i = 0; ok && i < CHR_MAX_CONCURRENT_MAX; ++i) {
    wq[i].partial = malloc(bytes);
    wq[i].merged = malloc(bytes);
    ok = wq[i].partial != NULL && wq[i].merged != NULL;
  }
  if (!ok) waves_destroy(wq);
  return ok ? wq : NULL;
}

/* Runs the group's waves until its queries are answered or a stop is seen; the leader's answers
 * go to mine (plan->count slots). *answered receives how many of the group's queries were
 * answered. t0 is the common clock's origin. Collective on comm (the stop checks) and on the
 * group communicator (the waves). */
static chr_status run_waves(MPI_Comm comm, const chr_layout *L, const chr_index *idx,
                            const chr_batch_query *queries, const search_plan *plan,
                            const chr_mpi_search_options *o, wave_query *wq, chr_mpi_stop *halt,
                            double t0, chr_query_result *mine, int *answered, chr_error *err) {
  chr_status st = CHR_OK;
  int count = plan->count, quota = plan->quota, leader = L->shard == 0;
  double last_report = t0;
  *answered = 0;
  for (int first = 0; first < count && st == CHR_OK; first += quota) {
    if ((st = chr_mpi_stop_check(comm, L, o->stop, &halt->value, err)) != CHR_OK) break;
    if (halt->value != 0) {
      st = chr_mpi_stop_notify(comm, L, halt, err);
      break;
    }
    int W = count - first < quota ? count - first : quota;
    for (int i = 0; i < W; ++i) {
      const chr_batch_query *q = &queries[plan->indices[first + i]];
      wq[i].query = q;
      wq[i].want = wanted(L, &q->options);
      wq[i].error[0] = '\0';
      wq[i].ann_ms = wq[i].rerank_ms = 0.0;
      wq[i].sinkhorn = (chr_rerank_stats){0, 0, 0.0};
    }
    st = run_wave(L, idx, wq, W, plan->indices + first, t0, leader ? mine + first : NULL, err);
    int done = first + W;
    *answered = done;
    if (o->progress && leader && (chr_mpi_seconds() - last_report >= 1.0 || done == count)) {
      fprintf(stderr, "chromatica search: group %d answered %d/%d queries (%.1f s)\n", L->group,
              done, count, chr_mpi_seconds() - t0);
      last_report = chr_mpi_seconds();
    }
  }
  return st;
}

/* Rank 0 files every leader's answers (send_count of them in mine) by batch position. Leaders'
 * answers are at most one per query. Collective on comm. */
static chr_status gather_answers(MPI_Comm comm, const chr_query_result *mine, int send_count,
                                 chr_query_result *results, chr_error *err) {
  chr_mpi_gathered g;
  chr_status st = chr_mpi_gatherv(comm, 0, mine, (int64_t)send_count * (int64_t)sizeof *mine, &g,
                                  err, "the answers of %d queries", send_count);
  if (st != CHR_OK) return st;
  const chr_query_result *got = (const chr_query_result *)g.data; /* NULL except on rank 0 */
  int64_t total = got != NULL ? g.total / (int64_t)sizeof *got : 0;
  for (int64_t i = 0; i < total; ++i) results[got[i].query_index] = got[i];
  chr_mpi_gathered_free(&g);
  return CHR_OK;
}

/* Rank 0: every cache hit takes the answer of the identical query that computed it, available
 * when that query ended, at no search cost of its own. */
static void fill_cache_hits(const int *source, int n, chr_query_result *results) {
  for (int i = 0; i < n; ++i) {
    if (source[i] < 0 || source[i] == i || !results[source[i]].answered) continue;
    chr_query_result *r = &results[i];
    *r = results[source[i]];
    r->query_index = i;
    r->cache_hit = 1;
    r->start_s = r->end_s;
    r->ann_ms = r->rerank_ms = r->total_ms = 0.0;
  }
}

chr_status chr_mpi_search(MPI_Comm comm, const chr_layout *L, const chr_index *idx,
                          const chr_batch_query *queries, int n, const chr_mpi_search_options *o,
                          chr_query_result *results, chr_mpi_search_outcome *outcome,
                          chr_error *err) {
  int rank = 0, size = 1, leader = L->shard == 0, answered = 0;
  *outcome = (chr_mpi_search_outcome){0, 0};
  search_plan plan = {0};
  chr_mpi_stop halt = {0};
  halt.requests = malloc((size_t)L->groups * sizeof *halt.requests);
  chr_status st = plan_search(L, queries, n, o->max_concurrent, &plan);
  wave_query *wq = st == CHR_OK ? waves_create(plan.want_max) : NULL;
  chr_query_result *mine =
      leader ? malloc((size_t)(plan.count > 0 ? plan.count : 1) * sizeof *mine) : NULL;
  if (st != CHR_OK || wq == NULL || halt.requests == NULL || (leader && mine == NULL))
    st = chr_error_set(err, CHR_ENOMEM, "cannot hold the search state of %d queries", plan.count);
  if (st == CHR_OK) st = chr_mpi_place(comm, &rank, &size, err);
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_mpi_barrier(comm, err), err);
  if (st != CHR_OK) goto cleanup;
  /* The common clock: every rank leaves the barrier together. */
  st = run_waves(comm, L, idx, queries, &plan, o, wq, &halt, chr_mpi_seconds(), mine, &answered,
                 err);
  /* Drained first, so no notice is left in flight whatever the outcome. */
  int any_stopped = 0;
  chr_status drained = chr_mpi_stop_drain(comm, L, &halt, &any_stopped, err);
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) st = drained;
  if (st == CHR_OK) st = gather_answers(comm, mine, leader ? answered : 0, results, err);
  if (st != CHR_OK) goto cleanup;
  if (rank == 0) fill_cache_hits(plan.source, n, results);
  outcome->queries_answered = answered;
  outcome->stopped = any_stopped;
cleanup:
  waves_destroy(wq);
  free(plan.indices);
  free(plan.source);
  free(mine);
  free(halt.requests);
  return st;
}
