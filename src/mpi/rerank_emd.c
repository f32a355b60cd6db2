#include "rerank_emd.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/bounds.h"
#include "chromatica/emd.h"
#include "chromatica/mpi_collect.h"

/* A pool entry: its lower bound (ordering key, with the row), and its ann_score if known. */
typedef struct {
  double bound;
  int64_t row;
  double ann;
} pool_entry;

enum { SOLVED = 0, PRUNED = 1, FAILED = 2 };

/* One evaluation, as every shard learns it. */
typedef struct {
  int job, status;
  int64_t row;
  double distance, ann;
  double dual[CHR_QUERY_MAX_BINS]; /* the solve's optimal query-side duals (SOLVED only) */
} round_result;

typedef struct {
  chr_emd_bounds bounds;
  pool_entry *pool; /* this shard's part of the pool, sorted by (bound, row) */
  int64_t n_pool, head, pool_total, solved;
  int64_t sorted_end; /* pool[0, sorted_end) is in order and precedes everything after it */
  chr_match *best;    /* the best k solved so far in the whole group, identical on every shard */
  int n_best, k, round, done;
  chr_match *mine; /* what this shard solved */
  int64_t n_mine, cap_mine;
} job_state;

static int entry_compare(const void *pa, const void *pb) {
  const pool_entry *a = pa, *b = pb;
  return chr_order_value_row(a->bound, a->row, b->bound, b->row);
}

static double threshold(const chr_emd_job *job, const job_state *s) {
  return job->query->options.emd_prune && s->n_best == s->k ? s->best[s->k - 1].distance : INFINITY;
}

/* Rearranges pool[0, n) so that its first `front` entries are the smallest in (bound, row)
 * order (quickselect with a three-way partition; rows are distinct, so the order is total and
 * the chosen set does not depend on how the partition went). */
static void select_front(pool_entry *pool, int64_t n, int64_t front) {
  int64_t lo = 0, hi = n;
  while (hi - lo > 1) {
    pool_entry pivot = pool[lo + (hi - lo) / 2];
    int64_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      int c = entry_compare(&pool[i], &pivot);
      if (c < 0) {
        pool_entry t = pool[i];
        pool[i++] = pool[lt], pool[lt++] = t;
      } else if (c > 0) {
        pool_entry t = pool[i];
        pool[i] = pool[--gt], pool[gt] = t;
      } else {
        i++;
      }
    }
    if (front < lt)
      hi = lt;
    else if (front > gt)
      lo = gt;
    else
      return;
  }
}

/* This shard's pool: its rows (scope "all", dot bound) or its stage-1 candidates (best bound). */
static chr_status build_pool(const chr_index *idx, const chr_emd_job *job, job_state *s,
                             chr_error *err) {
  const chr_search_options *o = &job->query->options;
  int64_t first = chr_index_first_row(idx), rows = chr_index_rows(idx);
  chr_emd_bounds_init(&job->query->hist, &s->bounds);
  s->k = o->k;
  s->round = o->k > CHR_EMD_ROUND ? o->k : CHR_EMD_ROUND;
  int64_t n = 0;
  int every = chr_search_pools_every_image(o);
  if (every) {
    n = rows;
  } else {
    for (int j = 0; j < job->n_merged; ++j)
      n += job->merged[j].row >= first && job->merged[j].row < first + rows;
  }
  s->pool = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->pool);
  s->best = malloc((size_t)s->k * sizeof *s->best);
  double *bounds = every ? malloc((size_t)(n > 0 ? n : 1) * sizeof *bounds) : NULL;
  if (s->pool == NULL || s->best == NULL || (every && bounds == NULL)) {
    free(bounds);
    return chr_error_set(err, CHR_ENOMEM, "emd rerank: cannot hold a pool of %lld images",
                         (long long)n);
  }
  s->n_pool = n;
  if (every) {
    chr_emd_bound_rows(&s->bounds, idx, bounds);
    int64_t kept = 0; /* a collapsed duplicate answers through its group's representative */
    for (int64_t r = 0; r < rows; ++r)
      if (!o->collapse_duplicates || !chr_index_excluded(idx, r))
        s->pool[kept++] = (pool_entry){bounds[r], first + r, NAN};
    s->n_pool = n = kept;
    free(bounds);
  } else {
    int64_t at = 0;
    for (int j = 0; j < job->n_merged; ++j)
      if (job->merged[j].row >= first && job->merged[j].row < first + rows)
        s->pool[at++] = (pool_entry){0.0, job->merged[j].row, job->merged[j].score};
#pragma omp parallel for schedule(dynamic, 8) if (!omp_in_parallel() && n > 8)
    for (int64_t e = 0; e < n; ++e) {
      const uint16_t *bins = NULL;
      const float *mass = NULL;
      int m = chr_index_support(idx, s->pool[e].row - first, &bins, &mass);
      s->pool[e].bound = chr_emd_bound_pool(&s->bounds, bins, mass, m);
    }
  }
  /* Scope "all" pools are large and most entries are dropped after the first round, so only
   * the first round's worth is put in order now (select_front); the rest waits. */
  if (every && o->emd_prune && n > 4 * (int64_t)s->round) {
    select_front(s->pool, n, s->round);
    qsort(s->pool, (size_t)s->round, sizeof *s->pool, entry_compare);
    s->sorted_end = s->round;
  } else {
    qsort(s->pool, (size_t)n, sizeof *s->pool, entry_compare);
    s->sorted_end = n;
  }
  return CHR_OK;
}

/* Puts the pool in full order once the next round would reach past the ordered front. */
static void order_rest(job_state *s) {
  if (s->head + s->round <= s->sorted_end || s->sorted_end >= s->n_pool) return;
  qsort(s->pool + s->sorted_end, (size_t)(s->n_pool - s->sorted_end), sizeof *s->pool,
        entry_compare);
  s->sorted_end = s->n_pool;
}

/* How many of this shard's next entries it offers to the round: up to the round size, and
 * none whose bound already proves it cannot enter. */
static int offer(const chr_emd_job *job, const job_state *s) {
  double t = threshold(job, s);
  int c = 0;
  while (s->head + c < s->n_pool && c < s->round &&
         !chr_emd_bound_prunes(s->pool[s->head + c].bound, t))
    c++;
  return c;
}

/* Solves one pool entry owned by this shard. */
static round_result solve(const chr_index *idx, const chr_emd_job *job, const job_state *s,
                          const pool_entry *e, int job_index, double t, char *error) {
  round_result r = {job_index, SOLVED, e->row, INFINITY, e->ann, {0.0}};
  int64_t local = e->row - chr_index_first_row(idx);
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  int m = chr_index_support(idx, local, &bins, &mass);
  const chr_qhist *q = &job->query->hist;
  /* The ICT bound costs O(m n), too much to order the pool by, but far less than an EMD. */
  if (isfinite(t) && chr_emd_bound_prunes(chr_emd_bound_ict_query(&s->bounds, bins, mass, m), t)) {
    r.status = PRUNED;
    return r;
  }
  if (chr_search_pools_every_image(&job->query->options)) r.ann = chr_scan_score(idx, q, local);
  chr_error e_err;
  if (chr_emd_dual_table(q, (const double(*)[CHR_BINS])s->bounds.cost, bins, mass, m, &r.distance,
                         r.dual, &e_err) != CHR_OK) {
    r.status = FAILED;
    snprintf(error, CHR_ERROR_MESSAGE_MAX, "%s", e_err.message);
  }
  return r;
}

/* Keeps the k best solved matches, best-first. */
static void keep_best(job_state *s, chr_match m) {
  int pos = s->n_best;
  while (pos > 0 && chr_match_compare(&m, &s->best[pos - 1]) < 0) pos--;
  if (pos >= s->k) return;
  int last = s->n_best < s->k ? s->n_best : s->k - 1;
  for (int i = last; i > pos; --i) s->best[i] = s->best[i - 1];
  s->best[pos] = m;
  if (s->n_best < s->k) s->n_best++;
}

static chr_status keep_mine(job_state *s, chr_match m, chr_error *err) {
  if (s->n_mine == s->cap_mine) {
    int64_t cap = s->cap_mine ? 2 * s->cap_mine : 64;
    chr_match *grown = realloc(s->mine, (size_t)cap * sizeof *grown);
    if (grown == NULL) return chr_error_set(err, CHR_ENOMEM, "emd rerank: out of memory");
    s->mine = grown;
    s->cap_mine = cap;
  }
  s->mine[s->n_mine++] = m;
  return CHR_OK;
}

/* Buffers for one round of all jobs, sized once for the largest round. */
typedef struct {
  int shards;
  int *counts, *all_counts;
  chr_hit *offers, *merge;
  double *thresholds;
  int *item_job;
  int64_t *item_entry;
  round_result *results;
  char (*errors)[CHR_ERROR_MESSAGE_MAX];
  chr_mpi_gathered offers_in, results_in; /* the round's two exchanges, every shard's part */
} round_buffers;

static const chr_hit *all_offers(const round_buffers *b) {
  return (const chr_hit *)b->offers_in.data;
}

static const round_result *all_results(const round_buffers *b) {
  return (const round_result *)b->results_in.data;
}

static void buffers_free(round_buffers *b) {
  free(b->counts);
  free(b->all_counts);
  free(b->offers);
  free(b->merge);
  free(b->thresholds);
  free(b->item_job);
  free(b->item_entry);
  free(b->results);
  free(b->errors);
  chr_mpi_gathered_free(&b->offers_in);
  chr_mpi_gathered_free(&b->results_in);
}

static int buffers_alloc(round_buffers *b, int shards, const job_state *s, int n) {
  b->shards = shards;
  int total = 0, longest = 1; /* total: the sum of the jobs' round sizes */
  for (int j = 0; j < n; ++j) {
    total += s[j].round;
    longest = s[j].round > longest ? s[j].round : longest;
  }
  size_t t = (size_t)(total > 0 ? total : 1);
  b->counts = malloc((size_t)(n > 0 ? n : 1) * sizeof *b->counts);
  b->all_counts = malloc((size_t)(n > 0 ? n : 1) * (size_t)shards * sizeof *b->all_counts);
  b->offers = malloc(t * sizeof *b->offers);
  b->merge = malloc((size_t)longest * (size_t)shards * sizeof *b->merge);
  b->thresholds = malloc((size_t)(n > 0 ? n : 1) * sizeof *b->thresholds);
  b->item_job = malloc(t * sizeof *b->item_job);
  b->item_entry = malloc(t * sizeof *b->item_entry);
  b->results = malloc(t * sizeof *b->results);
  b->errors = malloc(t * sizeof *b->errors);
  return b->counts && b->all_counts && b->offers && b->merge && b->thresholds && b->item_job &&
         b->item_entry && b->results && b->errors;
}

/* Allgathers `count` items of `size` bytes from every shard into *in, replacing the previous
 * exchange; *received = the items gathered. Collective on gcomm; ranks agree on the outcome. */
static chr_status allgather_items(MPI_Comm gcomm, const void *send, int count, size_t size,
                                  chr_mpi_gathered *in, int *received, const char *what,
                                  chr_error *err) {
  chr_mpi_gathered_free(in);
  chr_status st = chr_mpi_gatherv(gcomm, CHR_MPI_EVERY_RANK, send, (int64_t)count * (int64_t)size,
                                  in, err, "emd rerank: %s", what);
  *received = st == CHR_OK ? (int)(in->total / (int64_t)size) : 0;
  return st;
}

/* Picks every job's round batch from the shards' offers and lists the entries this shard
 * must solve; a job with nothing left to offer is done. Returns the number of items. */
static int pick_batches(const chr_index *idx, chr_emd_job *jobs, job_state *s, int n,
                        round_buffers *b) {
  int64_t first = chr_index_first_row(idx), end = first + chr_index_rows(idx);
  int items = 0;
  for (int j = 0; j < n; ++j) {
    if (s[j].done) continue;
    b->thresholds[j] = threshold(&jobs[j], &s[j]);
    /* Shard sh's offers sit at displs[sh], job after job. */
    int gathered = 0;
    for (int sh = 0; sh < b->shards; ++sh) {
      int at = b->offers_in.displs[sh] / (int)sizeof(chr_hit);
      for (int jj = 0; jj < j; ++jj) at += b->all_counts[sh * n + jj];
      int c = b->all_counts[sh * n + j];
      memcpy(b->merge + gathered, all_offers(b) + at, (size_t)c * sizeof *b->merge);
      gathered += c;
    }
    if (gathered == 0) {
      s[j].done = 1;
      continue;
    }
    qsort(b->merge, (size_t)gathered, sizeof *b->merge, chr_hit_qsort_compare);
    int take = gathered < s[j].round ? gathered : s[j].round;
    int mine = 0;
    for (int e = 0; e < take; ++e) mine += b->merge[e].row >= first && b->merge[e].row < end;
    /* Offers are sorted prefixes, so this shard's share of the batch is its next `mine`. */
    for (int e = 0; e < mine; ++e) {
      b->item_job[items] = j;
      b->item_entry[items++] = s[j].head + e;
    }
    s[j].head += mine;
  }
  return items;
}

/* Applies every shard's results of the round. */
static chr_status apply_results(chr_emd_job *jobs, job_state *s, const round_buffers *b,
                                int received, int my_shard, chr_error *err) {
  int from = b->results_in.displs[my_shard] / (int)sizeof(round_result);
  int to = from + b->results_in.bytes[my_shard] / (int)sizeof(round_result);
  for (int i = 0; i < received; ++i) {
    const round_result *r = &all_results(b)[i];
    job_state *js = &s[r->job];
    if (r->status == FAILED) {
      jobs[r->job].failed = 1;
      js->done = 1;
      if (i >= from && i < to && jobs[r->job].error[0] == '\0')
        snprintf(jobs[r->job].error, sizeof jobs[r->job].error, "%s", b->errors[i - from]);
      continue;
    }
    if (r->status != SOLVED) continue;
    chr_match m = {r->row, r->distance, r->ann};
    js->solved++;
    keep_best(js, m);
    if (i >= from && i < to && keep_mine(js, m, err) != CHR_OK) return CHR_ENOMEM;
  }
  return CHR_OK;
}

/* The solved results of job j in this round, best-first by (distance, row), at most
 * CHR_EMD_DUALS: whose duals tighten the rest of the pool. The order of all_results depends on
 * the layout, the chosen set does not. */
static int best_solved(const round_buffers *b, int received, int j, const round_result **out) {
  int n = 0;
  for (int i = 0; i < received; ++i) {
    const round_result *r = &all_results(b)[i];
    if (r->job != j || r->status != SOLVED) continue;
    chr_match m = {r->row, r->distance, r->ann};
    int pos = n;
    while (pos > 0) {
      chr_match prev = {out[pos - 1]->row, out[pos - 1]->distance, out[pos - 1]->ann};
      if (chr_match_compare(&m, &prev) >= 0) break;
      pos--;
    }
    if (pos >= CHR_EMD_DUALS) continue;
    if (n < CHR_EMD_DUALS) n++;
    for (int t = n - 1; t > pos; --t) out[t] = out[t - 1];
    out[pos] = r;
  }
  return n;
}

/* Raises the bounds of job j's remaining pool entries on this shard with the dual bounds of the
 * round's best solves, drops the entries that can no longer enter (bound above the k-th best
 * distance: they stay pruned, since that distance only falls), and re-sorts the rest by
 * (bound, row). Every quantity is per row or shared, so the pool stays layout-independent. */
static chr_status refine_pool(const chr_index *idx, const chr_emd_job *job, job_state *s,
                              const round_result **best, int n_best, chr_error *err) {
  double t = threshold(job, s);
  if (!job->query->options.emd_prune || s->head >= s->n_pool || !isfinite(t)) return CHR_OK;
  chr_emd_dual_bound *duals = malloc((size_t)n_best * sizeof *duals);
  if (duals == NULL) return chr_error_set(err, CHR_ENOMEM, "emd rerank: out of memory");
  for (int d = 0; d < n_best; ++d) chr_emd_dual_bound_init(&s->bounds, best[d]->dual, &duals[d]);
  int64_t first = chr_index_first_row(idx), rest = s->n_pool - s->head;
  pool_entry *pool = s->pool + s->head;
#pragma omp parallel for schedule(dynamic, 64) if (!omp_in_parallel() && rest > 256)
  for (int64_t e = 0; e < rest; ++e) {
    if (chr_emd_bound_prunes(pool[e].bound, t)) continue;
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int m = chr_index_support(idx, pool[e].row - first, &bins, &mass);
    pool[e].bound = chr_emd_bound_dual_max(duals, n_best, bins, mass, m, pool[e].bound);
  }
  free(duals);
  int64_t kept = 0;
  for (int64_t e = 0; e < rest; ++e)
    if (!chr_emd_bound_prunes(pool[e].bound, t)) pool[kept++] = pool[e];
  qsort(pool, (size_t)kept, sizeof *pool, entry_compare);
  s->n_pool = s->head + kept;
  s->sorted_end = s->n_pool;
  return CHR_OK;
}

/* After a round: every job still running tightens its pool with the round's duals. */
static chr_status refine_pools(const chr_index *idx, chr_emd_job *jobs, job_state *s, int n,
                               const round_buffers *b, int received, chr_error *err) {
  const round_result *best[CHR_EMD_DUALS];
  for (int j = 0; j < n; ++j) {
    if (s[j].done) continue;
    int n_best = best_solved(b, received, j, best);
    if (n_best > 0 && refine_pool(idx, &jobs[j], &s[j], best, n_best, err) != CHR_OK)
      return CHR_ENOMEM;
  }
  return CHR_OK;
}

static chr_status run_round(MPI_Comm gcomm, const chr_index *idx, chr_emd_job *jobs, job_state *s,
                            int n, round_buffers *b, chr_error *err) {
  int my_shard = 0, shards = 1, sent = 0, received = 0;
  chr_status st = chr_mpi_place(gcomm, &my_shard, &shards, err);
  if (st != CHR_OK) return st;
  for (int j = 0; j < n; ++j) {
    if (!s[j].done) order_rest(&s[j]);
    b->counts[j] = s[j].done ? 0 : offer(&jobs[j], &s[j]);
    for (int c = 0; c < b->counts[j]; ++c) {
      const pool_entry *e = &s[j].pool[s[j].head + c];
      b->offers[sent++] = (chr_hit){e->bound, e->row};
    }
  }
  st = chr_mpi_check(MPI_Allgather(b->counts, n, MPI_INT, b->all_counts, n, MPI_INT, gcomm), err,
                     "emd rerank: MPI_Allgather of a round's offer counts");
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) return st;
  st = allgather_items(gcomm, b->offers, sent, sizeof(chr_hit), &b->offers_in, &received,
                       "a round's offers", err);
  if (st != CHR_OK) return st;
  int items = pick_batches(idx, jobs, s, n, b);
#pragma omp parallel for schedule(dynamic, 1) if (!omp_in_parallel() && items > 1)
  for (int i = 0; i < items; ++i) {
    int j = b->item_job[i];
    b->errors[i][0] = '\0';
    b->results[i] = solve(idx, &jobs[j], &s[j], &s[j].pool[b->item_entry[i]], j, b->thresholds[j],
                          b->errors[i]);
  }
  st = allgather_items(gcomm, b->results, items, sizeof(round_result), &b->results_in, &received,
                       "a round's distances", err);
  if (st != CHR_OK) return st;
  if (apply_results(jobs, s, b, received, my_shard, err) != CHR_OK) return CHR_ENOMEM;
  return refine_pools(idx, jobs, s, n, b, received, err);
}

chr_status chr_mpi_emd_rerank(MPI_Comm gcomm, const chr_index *idx, chr_emd_job *jobs, int n,
                              chr_error *err) {
  int shard = 0, shards = 1;
  job_state *s = calloc((size_t)(n > 0 ? n : 1), sizeof *s);
  int64_t *sizes = malloc((size_t)(n > 0 ? n : 1) * sizeof *sizes);
  round_buffers b = {0};
  chr_status st = chr_mpi_place(gcomm, &shard, &shards, err);
  if (st == CHR_OK && (s == NULL || sizes == NULL))
    st = chr_error_set(err, CHR_ENOMEM, "emd rerank: out of memory");
  for (int j = 0; j < n && st == CHR_OK; ++j) {
    double t = chr_mpi_seconds();
    jobs[j].failed = 0;
    jobs[j].error[0] = '\0';
    jobs[j].rerank_ms = -1.0; /* set when the job finishes */
    st = build_pool(idx, &jobs[j], &s[j], err);
    jobs[j].bound_ms = (chr_mpi_seconds() - t) * 1e3;
    sizes[j] = s[j].n_pool;
  }
  if (st == CHR_OK && !buffers_alloc(&b, shards, s, n))
    st = chr_error_set(err, CHR_ENOMEM, "emd rerank: out of memory for round buffers");
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  st = chr_mpi_check(MPI_Allreduce(MPI_IN_PLACE, sizes, n, MPI_INT64_T, MPI_SUM, gcomm), err,
                     "emd rerank: summing pool sizes");
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  double start = chr_mpi_seconds();
  for (int j = 0; j < n; ++j) s[j].pool_total = sizes[j];
  for (;;) {
    int active = 0;
    for (int j = 0; j < n; ++j) active += !s[j].done;
    if (active == 0) break; /* identical on every shard: done flags follow shared data only */
    st = chr_mpi_agree(gcomm, run_round(gcomm, idx, jobs, s, n, &b, err), err);
    if (st != CHR_OK) goto cleanup;
    for (int j = 0; j < n; ++j)
      if (s[j].done && jobs[j].rerank_ms < 0.0)
        jobs[j].rerank_ms = (chr_mpi_seconds() - start) * 1e3;
  }
  for (int j = 0; j < n; ++j) {
    chr_emd_job *job = &jobs[j];
    job->candidates = s[j].pool_total;
    job->pruned = s[j].pool_total - s[j].solved;
    job->n_top = s[j].n_mine > 0 ? chr_matches_rank(s[j].mine, (int)s[j].n_mine, s[j].k) : 0;
    if (job->n_top > 0) memcpy(job->top, s[j].mine, (size_t)job->n_top * sizeof *job->top);
  }
cleanup:
  for (int j = 0; s != NULL && j < n; ++j) {
    free(s[j].pool);
    free(s[j].best);
    free(s[j].mine);
  }
  free(s);
  free(sizes);
  buffers_free(&b);
  return st;
}
