#include "chromatica/mpi_search.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/query_cache.h"
#include "chromatica/search.h"
#include "cascade.h"
#include "rerank_emd.h"

/* The tag of a stop notice between group leaders; the layout's row transfers use 101 and 102. */
enum { TAG_STOP = 201 };

/* One query of a wave as one rank of the group sees it. */
typedef struct {
  const chr_batch_query *query;
  int want;                 /* R over the whole dataset (k in fast mode) */
  chr_hit *partial;         /* this shard's stage-1 top (want slots) */
  int n_partial;            /* -1: stage 1 failed here */
  chr_hit *merged;          /* the group-wide stage-1 top (want slots) */
  int n_merged;             /* -1: stage 1 failed on some shard */
  chr_result_hit top[CHR_RESULTS_K_MAX]; /* this shard's reranked top-k */
  int n_top;                /* -1: failed (message in error, empty if failed elsewhere) */
  int64_t candidates, pruned; /* what the rerank ranked, and how many it skipped by bounds */
  chr_rerank_stats sinkhorn;  /* how this shard's Sinkhorn solves ended */
  char error[CHR_ERROR_MESSAGE_MAX];
  double ann_ms, rerank_ms;
} wave_query;

chr_status chr_mpi_bcast_queries(MPI_Comm comm, chr_batch_query **queries, int *n, chr_error *err) {
  int rank = 0, size = 1;
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Bcast(n, 1, MPI_INT, 0, comm), err, "MPI_Bcast of the query count");
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  if (rank != 0) {
    *queries = malloc((size_t)*n * sizeof **queries);
    if (*queries == NULL) st = chr_error_set(err, CHR_ENOMEM, "cannot hold %d queries", *n);
  }
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) return st;
  MPI_Datatype one_query = MPI_DATATYPE_NULL;
  st = chr_mpi_check(MPI_Type_contiguous((int)sizeof **queries, MPI_BYTE, &one_query), err,
                     "MPI_Type_contiguous (one query)");
  if (st == CHR_OK) st = chr_mpi_check(MPI_Type_commit(&one_query), err, "MPI_Type_commit");
  if ((st = chr_mpi_agree(comm, st, err)) == CHR_OK)
    st = chr_mpi_agree(comm,
                       chr_mpi_check(MPI_Bcast(*queries, *n, one_query, 0, comm), err,
                                     "MPI_Bcast of %d queries", *n),
                       err);
  if (one_query != MPI_DATATYPE_NULL) (void)MPI_Type_free(&one_query); /* nothing to undo */
  return st;
}

/* The heaviest bins of a support, heaviest first, ties by lower bin; -1 fills unused slots. */
static void dominant_bins(const chr_index *idx, int64_t local_row, int16_t out[CHR_DOMINANT_MAX]) {
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  int n = chr_index_support(idx, local_row, &bins, &mass);
  float kept[CHR_DOMINANT_MAX];
  int count = 0;
  for (int j = 0; j < n; ++j) {
    int pos = count < CHR_DOMINANT_MAX ? count : CHR_DOMINANT_MAX;
    while (pos > 0 && mass[j] > kept[pos - 1]) pos--; /* bins ascend, so ties keep lower bin */
    if (pos >= CHR_DOMINANT_MAX) continue;
    int last = count < CHR_DOMINANT_MAX ? count : CHR_DOMINANT_MAX - 1;
    for (int m = last; m > pos; --m) {
      kept[m] = kept[m - 1];
      out[m] = out[m - 1];
    }
    kept[pos] = mass[j];
    out[pos] = (int16_t)bins[j];
    if (count < CHR_DOMINANT_MAX) count++;
  }
  for (int m = count; m < CHR_DOMINANT_MAX; ++m) out[m] = -1;
}

static int exact_emd(const chr_search_options *o) {
  return o->metric == CHR_METRIC_EMD && !o->fast_mode;
}

/* Stage 1 of the whole wave in one pass over the shard (chr_scan_topk_many: each column block
 * is read and square-rooted once for every query that needs it; the same bits as one scan per
 * query). Every query's ann time is the pass's, since they were computed together. */
static void stage1_wave(const chr_index *idx, wave_query *wq, int W) {
  const chr_qhist *qs[CHR_MAX_CONCURRENT_MAX];
  chr_hit *outs[CHR_MAX_CONCURRENT_MAX];
  int want[CHR_MAX_CONCURRENT_MAX], counts[CHR_MAX_CONCURRENT_MAX], which[CHR_MAX_CONCURRENT_MAX];
  int n = 0;
  int64_t rows = chr_index_rows(idx);
  for (int i = 0; i < W; ++i) {
    wq[i].ann_ms = 0.0;
    wq[i].n_partial = 0;
    if (!chr_search_uses_stage1(&wq[i].query->options)) continue; /* bounds, cascade */
    qs[n] = &wq[i].query->hist;
    outs[n] = wq[i].partial;
    want[n] = wq[i].want < rows ? wq[i].want : (int)rows;
    which[n++] = i;
  }
  if (n == 0) return;
  chr_error err;
  double t = omp_get_wtime();
  chr_status st = chr_scan_topk_many(idx, qs, n, want, outs, counts, &err);
  double ms = (omp_get_wtime() - t) * 1e3;
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
  int mine = 0, total = 0, longest = 0;
  for (int i = 0; i < W; ++i) {
    my_counts[i] = wq[i].n_partial;
    mine += wq[i].n_partial > 0 ? wq[i].n_partial : 0;
    longest = wq[i].want > longest ? wq[i].want : longest;
  }
  int *counts = malloc((size_t)W * (size_t)shards * sizeof *counts);
  int *bytes = malloc((size_t)shards * sizeof *bytes), *displs = malloc((size_t)shards * sizeof *displs);
  chr_hit *send = malloc((size_t)(mine > 0 ? mine : 1) * sizeof *send), *all = NULL;
  chr_hit *tmp = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *tmp);
  chr_status st = counts && bytes && displs && send && tmp
                      ? CHR_OK
                      : chr_error_set(err, CHR_ENOMEM, "cannot hold the stage-1 lists of a wave");
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK) goto cleanup;
  for (int i = 0, at = 0; i < W; ++i)
    for (int j = 0; j < wq[i].n_partial; ++j) send[at++] = wq[i].partial[j];
  st = chr_mpi_check(MPI_Allgather(my_counts, W, MPI_INT, counts, W, MPI_INT, gcomm), err,
                     "MPI_Allgather of stage-1 list sizes");
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK) goto cleanup;
  for (int s = 0; s < shards; ++s) {
    int n = 0;
    for (int i = 0; i < W; ++i) n += counts[s * W + i] > 0 ? counts[s * W + i] : 0;
    bytes[s] = n * (int)sizeof(chr_hit);
    displs[s] = total * (int)sizeof(chr_hit);
    total += n;
  }
  all = malloc((size_t)(total > 0 ? total : 1) * sizeof *all);
  if (all == NULL) st = chr_error_set(err, CHR_ENOMEM, "cannot hold %d stage-1 hits", total);
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK) goto cleanup;
  st = chr_mpi_check(MPI_Allgatherv(send, mine * (int)sizeof(chr_hit), MPI_BYTE, all, bytes,
                                    displs, MPI_BYTE, gcomm),
                     err, "MPI_Allgatherv of stage-1 lists");
  st = chr_mpi_agree(gcomm, st, err);
  if (st != CHR_OK) goto cleanup;
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
  free(bytes);
  free(displs);
  free(send);
  free(all);
  free(tmp);
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
  double t = omp_get_wtime();
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
  if (chr_search_rerank(idx, &w->query->hist, o, owned, n, matches, &w->sinkhorn, &err) !=
      CHR_OK) {
    snprintf(w->error, sizeof w->error, "%s", err.message);
    return;
  }
  keep_top(idx, w, matches, chr_matches_rank(matches, n, o->k));
  w->rerank_ms = (omp_get_wtime() - t) * 1e3;
}

/* The exact EMD queries of the wave (cascade pools made first, their time added to ann_ms),
 * reranked together in bound-pruned rounds across the group's shards. Collective on gcomm. */
static chr_status stage2_emd(MPI_Comm gcomm, const chr_index *idx, int64_t images,
                             wave_query *wq, int W, chr_error *err) {
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
    jobs[n] = (chr_emd_job){.query = wq[i].query, .merged = wq[i].merged,
                            .n_merged = wq[i].n_merged};
    jobs[n].top = malloc((size_t)wq[i].query->options.k * sizeof *jobs[n].top);
    if (jobs[n].top == NULL) st = chr_error_set(err, CHR_ENOMEM, "cannot hold a top-k list");
    if (wq[i].query->options.rerank_scope == CHR_SCOPE_CASCADE)
      cascade[nc++] = (chr_cascade_job){wq[i].query, wq[i].want, wq[i].merged, &jobs[n].n_merged,
                                        &wq[i].ann_ms};
    owner[n++] = i;
  }
  st = chr_mpi_agree(gcomm, st, err);
  if (st == CHR_OK && nc > 0) st = chr_mpi_cascade(gcomm, idx, images, cascade, nc, err);
  if (st == CHR_OK && n > 0) st = chr_mpi_emd_rerank(gcomm, idx, jobs, n, err);
  for (int j = 0; j < n && st == CHR_OK; ++j) {
    wave_query *w = &wq[owner[j]];
    int scope_all = w->query->options.rerank_scope == CHR_SCOPE_ALL;
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
  if (a->distance != b->distance) return a->distance < b->distance ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
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
  chr_result_hit *pool = grank == 0 ? malloc((size_t)shards * CHR_RESULTS_K_MAX * sizeof *pool) : NULL;
  int ok = grank != 0 || (all != NULL && pool != NULL);
  st = chr_mpi_agree(gcomm, ok ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "cannot gather a wave"), err);
  if (st != CHR_OK) goto cleanup;
  /* The records travel whole; their pointers are meaningless on the leader and never read. */
  st = chr_mpi_check(MPI_Gather(wq, (int)per_rank, MPI_BYTE, all, (int)per_rank, MPI_BYTE, 0, gcomm),
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
    r->end_s = MPI_Wtime() - t0;
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
  double start_s = MPI_Wtime() - t0;
  stage1_wave(idx, wq, W);
  double t_merge = MPI_Wtime();
  chr_status st = merge_partials(L->group_comm, wq, W, err);
  double merge_ms = (MPI_Wtime() - t_merge) * 1e3;
  if (st != CHR_OK) return st;
  int longest = 0;
  for (int i = 0; i < W; ++i) longest = wq[i].want > longest ? wq[i].want : longest;
  chr_match *matches = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *matches);
  chr_hit *owned = malloc((size_t)(longest > 0 ? longest : 1) * sizeof *owned);
  st = matches && owned ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "cannot hold %d candidates", longest);
  for (int i = 0; i < W && st == CHR_OK; ++i) {
    wq[i].ann_ms += merge_ms;
    if (!exact_emd(&wq[i].query->options)) stage2(idx, &wq[i], matches, owned);
  }
  free(matches);
  free(owned);
  st = chr_mpi_agree(L->group_comm, st, err);
  if (st == CHR_OK) st = stage2_emd(L->group_comm, idx, L->images, wq, W, err);
  if (st != CHR_OK) return st;
  double t_gather = MPI_Wtime();
  st = finish_on_leader(L->group_comm, wq, W, indices, L->group, start_s, t0, out, err);
  double gather_ms = (MPI_Wtime() - t_gather) * 1e3;
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

/* How a stop spreads without making groups wait for one another: at each of its wave
 * boundaries a group all-reduces (MAX) its ranks' signal numbers, its leader adding the value of
 * any stop notice another group's leader has sent it (probed, not received). A group that stops
 * sends one notice to every other leader; after the search the ranks allgather who stopped and
 * each leader receives exactly the notices sent to it, so none is left unmatched. */
typedef struct {
  int value;              /* the signal that stopped this group (0: it did not stop) */
  int sent;               /* its leader sent a notice to every other leader */
  MPI_Request *requests;  /* groups entries: the notices in flight */
  int n_requests;
} stop_state;

/* *stop_out = the largest signal number any rank of the group, or any notice to its leader,
 * carries (0: go on). Collective on the group communicator. */
static chr_status group_stops(MPI_Comm comm, const chr_layout *L, const volatile sig_atomic_t *stop,
                              int *stop_out, chr_error *err) {
  int local = stop != NULL ? (int)*stop : 0, noticed = 0;
  MPI_Status status;
  chr_status st = L->shard == 0 ? chr_mpi_check(MPI_Iprobe(MPI_ANY_SOURCE, TAG_STOP, comm, &noticed,
                                                           &status),
                                                err, "MPI_Iprobe for a stop notice")
                                : CHR_OK;
  int value = 0;
  if (st == CHR_OK && noticed &&
      (st = chr_mpi_check(MPI_Get_count(&status, MPI_INT, &value), err, "MPI_Get_count")) == CHR_OK)
    local = value > local ? value : local; /* the message stays queued for stop_drain */
  if ((st = chr_mpi_agree(L->group_comm, st, err)) != CHR_OK) return st;
  *stop_out = 0;
  return chr_mpi_agree(L->group_comm,
                       chr_mpi_check(MPI_Allreduce(&local, stop_out, 1, MPI_INT, MPI_MAX,
                                                   L->group_comm),
                                     err, "MPI_Allreduce of the stop flags"),
                       err);
}

/* The leader of a group that has just stopped tells every other group's leader. Local. */
static chr_status stop_notify(MPI_Comm comm, const chr_layout *L, stop_state *s, chr_error *err) {
  chr_status st = CHR_OK;
  for (int g = 0; L->shard == 0 && g < L->groups && st == CHR_OK; ++g) {
    if (g == L->group) continue;
    st = chr_mpi_check(MPI_Isend(&s->value, 1, MPI_INT, g * L->shards, TAG_STOP, comm,
                                 &s->requests[s->n_requests]),
                       err, "MPI_Isend of a stop notice to rank %d", g * L->shards);
    if (st == CHR_OK) s->n_requests++;
  }
  /* A notice that did not go out is never waited for; its receiver's drain skips this leader. */
  s->sent = L->shard == 0 && st == CHR_OK && L->groups > 1;
  return st;
}

/* After the search: every rank learns the largest stop value of any group (*any), leaders
 * receive the notices sent to them and complete their own. Collective on comm. */
static chr_status stop_drain(MPI_Comm comm, const chr_layout *L, stop_state *s, int *any,
                             chr_error *err) {
  int *all = malloc((size_t)L->ranks * 2 * sizeof *all);
  int mine[2] = {s->value, s->sent};
  *any = 0;
  chr_status st = all ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "cannot hold %d stop flags", L->ranks);
  if ((st = chr_mpi_agree(comm, st, err)) == CHR_OK)
    st = chr_mpi_agree(comm,
                       chr_mpi_check(MPI_Allgather(mine, 2, MPI_INT, all, 2, MPI_INT, comm), err,
                                     "MPI_Allgather of the stop flags"),
                       err);
  chr_status agreed = st; /* the same on every rank */
  for (int r = 0; agreed == CHR_OK && r < L->ranks; ++r) *any = all[2 * r] > *any ? all[2 * r] : *any;
  for (int g = 0; agreed == CHR_OK && L->shard == 0 && g < L->groups && st == CHR_OK; ++g) {
    int leader = g * L->shards, ignored = 0;
    if (g == L->group || !all[2 * leader + 1]) continue;
    st = chr_mpi_check(MPI_Recv(&ignored, 1, MPI_INT, leader, TAG_STOP, comm, MPI_STATUS_IGNORE),
                       err, "MPI_Recv of the stop notice from rank %d", leader);
  }
  /* A notice is 4 bytes, sent eagerly: its request completes even if nobody received it. */
  chr_status waited = chr_mpi_check(MPI_Waitall(s->n_requests, s->requests, MPI_STATUSES_IGNORE),
                                    err, "MPI_Waitall for the stop notices");
  s->n_requests = 0;
  if (agreed == CHR_OK) st = chr_mpi_agree(comm, st != CHR_OK ? st : waited, err);
  free(all);
  return st;
}

chr_status chr_mpi_search(MPI_Comm comm, const chr_layout *L, const chr_index *idx,
                          const chr_batch_query *queries, int n, int max_concurrent, int progress,
                          const volatile sig_atomic_t *stop, chr_query_result *results,
                          int *queries_answered, int *stopped, chr_error *err) {
  int rank = 0, size = 1, quota = 0;
  stop_state halt = {0};
  halt.requests = malloc((size_t)L->groups * sizeof *halt.requests);
  int *indices = malloc((size_t)(n > 0 ? n : 1) * sizeof *indices);
  wave_query *wq = calloc(CHR_MAX_CONCURRENT_MAX, sizeof *wq);
  chr_query_result *mine = NULL, *gathered = NULL;
  int *counts = NULL, *displs = NULL;
  int *source = plan_cache(queries, n);
  int count = indices && source ? group_share(source, n, L->groups, L->group, max_concurrent,
                                              indices, &quota)
                                : 0;
  int want_max = 0;
  for (int i = 0; i < count; ++i) {
    const chr_search_options *o = &queries[indices[i]].options;
    int want = o->fast_mode ? (L->images < o->k ? (int)L->images : o->k) : chr_search_candidates(o, L->images);
    want_max = want > want_max ? want : want_max;
  }
  int leader = L->shard == 0;
  mine = leader ? malloc((size_t)(count > 0 ? count : 1) * sizeof *mine) : NULL;
  chr_status st = indices && source && wq && halt.requests && (!leader || mine) ? CHR_OK : CHR_ENOMEM;
  for (int i = 0; i < CHR_MAX_CONCURRENT_MAX && st == CHR_OK && wq; ++i) {
    wq[i].partial = malloc((size_t)(want_max > 0 ? want_max : 1) * sizeof(chr_hit));
    wq[i].merged = malloc((size_t)(want_max > 0 ? want_max : 1) * sizeof(chr_hit));
    if (wq[i].partial == NULL || wq[i].merged == NULL) st = CHR_ENOMEM;
  }
  if (st != CHR_OK) chr_error_set(err, st, "cannot hold the search state of %d queries", count);
  if (st == CHR_OK) st = chr_mpi_place(comm, &rank, &size, err);
  st = chr_mpi_agree(comm, st, err);
  *queries_answered = 0;
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_mpi_barrier(comm, err), err);
  if (st != CHR_OK) goto cleanup;
  double t0 = MPI_Wtime(); /* the common clock: every rank leaves the barrier together */
  double last_report = t0;
  int answered = 0;
  for (int first = 0; first < count && st == CHR_OK; first += quota) {
    if ((st = group_stops(comm, L, stop, &halt.value, err)) != CHR_OK) break;
    if (halt.value != 0) {
      st = stop_notify(comm, L, &halt, err);
      break;
    }
    int W = count - first < quota ? count - first : quota;
    for (int i = 0; i < W; ++i) {
      const chr_batch_query *q = &queries[indices[first + i]];
      wq[i].query = q;
      wq[i].want = q->options.fast_mode ? (L->images < q->options.k ? (int)L->images : q->options.k)
                                        : chr_search_candidates(&q->options, L->images);
      wq[i].error[0] = '\0';
      wq[i].ann_ms = wq[i].rerank_ms = 0.0;
      wq[i].sinkhorn = (chr_rerank_stats){0, 0, 0.0};
    }
    st = run_wave(L, idx, wq, W, indices + first, t0, leader ? mine + first : NULL, err);
    int done = first + W;
    answered = done;
    if (progress && leader && (MPI_Wtime() - last_report >= 1.0 || done == count)) {
      fprintf(stderr, "chromatica search: group %d answered %d/%d queries (%.1f s)\n", L->group,
              done, count, MPI_Wtime() - t0);
      last_report = MPI_Wtime();
    }
  }
  /* Drained first, so no notice is left in flight whatever the outcome. */
  int any_stopped = 0;
  chr_status drained = stop_drain(comm, L, &halt, &any_stopped, err);
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) st = drained;
  if (st != CHR_OK) goto cleanup;
  *queries_answered = answered;
  if (stopped != NULL) *stopped = any_stopped;

  /* Leaders send their answers to rank 0, which files them by batch position. */
  MPI_Datatype one_result = MPI_DATATYPE_NULL;
  st = chr_mpi_check(MPI_Type_contiguous((int)sizeof(chr_query_result), MPI_BYTE, &one_result), err,
                     "MPI_Type_contiguous (one result)");
  if (st == CHR_OK) st = chr_mpi_check(MPI_Type_commit(&one_result), err, "MPI_Type_commit");
  int send_count = leader ? answered : 0, total = 0;
  if (rank == 0 && st == CHR_OK) {
    counts = malloc((size_t)size * sizeof *counts);
    displs = malloc((size_t)size * sizeof *displs);
    gathered = malloc((size_t)(n > 0 ? n : 1) * sizeof *gathered); /* at most one per query */
    if (counts == NULL || displs == NULL || gathered == NULL)
      st = chr_error_set(err, CHR_ENOMEM, "cannot hold the answers of %d queries", n);
  }
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Gather(&send_count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm), err,
                       "MPI_Gather of answer counts");
  st = chr_mpi_agree(comm, st, err);
  for (int r = 0; rank == 0 && st == CHR_OK && r < size; ++r) {
    displs[r] = total;
    total += counts[r];
  }
  if (st == CHR_OK)
    st = chr_mpi_agree(comm,
                       chr_mpi_check(MPI_Gatherv(mine, send_count, one_result, gathered, counts,
                                                 displs, one_result, 0, comm),
                                     err, "MPI_Gatherv of query results"),
                       err);
  if (one_result != MPI_DATATYPE_NULL) (void)MPI_Type_free(&one_result); /* nothing to undo */
  for (int i = 0; rank == 0 && st == CHR_OK && i < total; ++i)
    results[gathered[i].query_index] = gathered[i];
  for (int i = 0; rank == 0 && st == CHR_OK && i < n; ++i) {
    if (source[i] < 0 || source[i] == i || !results[source[i]].answered) continue;
    /* A cache hit: the answer of the identical query that computed it, available when that
     * query ended, at no search cost of its own. */
    chr_query_result *r = &results[i];
    *r = results[source[i]];
    r->query_index = i;
    r->cache_hit = 1;
    r->start_s = r->end_s;
    r->ann_ms = r->rerank_ms = r->total_ms = 0.0;
  }
cleanup:
  for (int i = 0; wq && i < CHR_MAX_CONCURRENT_MAX; ++i) {
    free(wq[i].partial);
    free(wq[i].merged);
  }
  free(wq);
  free(indices);
  free(source);
  free(mine);
  free(gathered);
  free(counts);
  free(displs);
  free(halt.requests);
  return st;
}
