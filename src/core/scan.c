/* The exact stage-1 scan over the shard index (spec section 4; the index itself is index.c).
 *
 * Exactness: the score of a row is defined by chr_scan_score, a double sum over the CSR row in
 * the query's ascending bin order. The scan never reports anything else. It first sums the
 * binary16 square roots of the columns in float (scan_kernels.c), which is within a proven
 * bound eps of the exact sum (chr_scan_margin); a row whose approximate sum is more than 2 eps
 * below the approximate sum of `keep` other rows has an exact score strictly worse than theirs
 * and cannot be in the top `keep`. Each thread keeps, per query, the rows it could not rule
 * out; the lists of all threads are then cut once more at the keep-th best approximate sum, the
 * survivors are re-scored exactly and the top is chosen from exact scores with the row
 * tie-break, so the result is the exact top whatever the kernel, the vector width, the thread
 * count or which thread saw which rows. */
#include "chromatica/scan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "index_private.h"
#include "scan_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows per unit of work handed to a thread. The result does not depend on it. */
#define CHR_SCAN_BLOCK 16384
/* Floats of widened roots per chunk (all bins the batch needs x the chunk's rows): 512 KiB, so
 * a chunk stays in the L2 cache while every query of the batch sums it (measured best of
 * 128 KiB to 1 MiB on a 2 MiB L2: 256 random palettes, 1M images). */
#define CHR_SCAN_ROOTS_FLOATS 131072
#define CHR_SCAN_CHUNK_MAX 4096

double chr_scan_score(const chr_index *idx, const chr_qhist *q, int64_t r) {
  const uint16_t *bins;
  const float *mass;
  int n = chr_index_support(idx, r, &bins, &mass);
  double s = 0.0;
  int j = 0;
  /* Merge walk of two ascending supports; only common bins contribute a non-zero term. */
  for (int k = 0; k < q->count; ++k) {
    while (j < n && bins[j] < q->bin[k]) ++j;
    if (j < n && bins[j] == q->bin[k]) s += sqrt(q->mass[k]) * sqrt((double)mass[j]);
  }
  return 2.0 - 2.0 * s;
}

/* The largest float <= d. */
static float float_at_most(double d) {
  float f = (float)d;
  return (double)f > d ? nextafterf(f, -INFINITY) : f;
}

/* ---------------------------------------------------------------- candidate rows */

typedef struct {
  float sum;   /* approximate sum */
  int64_t row; /* local row */
} candidate;

/* The rows seen so far that may still be in one query's top `keep`. */
typedef struct {
  candidate *items;
  int count, cap;
  int keep;
  float admit;   /* rows whose approximate sum is below this cannot reach the top */
  double margin; /* chr_scan_margin */
} candidate_list;

static void swap_candidates(candidate *a, candidate *b) {
  candidate t = *a;
  *a = *b;
  *b = t;
}

static float median_of_three(float a, float b, float c) {
  if (a > b) {
    float t = a;
    a = b;
    b = t;
  }
  return c < a ? a : (c > b ? b : c);
}

/* Reorders a[0..count) so that a[n] holds the n-th largest sum, with larger-or-equal sums
 * before it and smaller-or-equal after (quickselect, three-way partitions so ties are fast). */
static void select_rank(candidate *a, int count, int n) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    float pivot = median_of_three(a[lo].sum, a[lo + (hi - lo) / 2].sum, a[hi].sum);
    int lt = lo, i = lo, gt = hi; /* [lo,lt) > pivot, [lt,i) == pivot, (gt,hi] < pivot */
    while (i <= gt) {
      if (a[i].sum > pivot)
        swap_candidates(&a[lt++], &a[i++]);
      else if (a[i].sum < pivot)
        swap_candidates(&a[i], &a[gt--]);
      else
        ++i;
    }
    if (n < lt)
      hi = lt - 1;
    else if (n > gt)
      lo = gt + 1;
    else
      return;
  }
}

/* Raises the admission threshold to the keep-th best sum minus the margin and drops the rows
 * below it; grows the list when near-ties keep it more than half full. 0 on ENOMEM. */
static int candidates_compact(candidate_list *c) {
  if (c->count > c->keep) {
    select_rank(c->items, c->count, c->keep - 1);
    float admit = float_at_most((double)c->items[c->keep - 1].sum - c->margin);
    if (admit > c->admit) c->admit = admit;
    int n = c->keep;
    for (int i = c->keep; i < c->count; ++i)
      if (c->items[i].sum >= c->admit) c->items[n++] = c->items[i];
    c->count = n;
  }
  if (c->count > c->cap / 2) {
    candidate *grown = realloc(c->items, (size_t)c->cap * 2 * sizeof *grown);
    if (grown == NULL) return 0;
    c->items = grown;
    c->cap *= 2;
  }
  return 1;
}

/* Appends the rows of `mask` (bit r: row row0 + r, approximate sum acc[r]) that are still
 * admissible. 0 on ENOMEM. */
static int candidates_admit(candidate_list *c, uint64_t mask, const float *acc, int64_t row0,
                            const uint8_t *skip) {
  while (mask != 0) {
    int r = __builtin_ctzll(mask);
    mask &= mask - 1;
    if (acc[r] < c->admit) continue;
    /* Before admission, so a skipped row never raises the bar for the rows that count. */
    if (skip != NULL && skip[row0 + r]) continue;
    if (c->count == c->cap && !candidates_compact(c)) return 0;
    if (acc[r] < c->admit) continue; /* the compaction may have raised the bar */
    c->items[c->count++] = (candidate){acc[r], row0 + r};
  }
  return 1;
}

/* ---------------------------------------------------------------- the scan */

/* What every thread of one scan shares: the union of the queries' bins (ascending) and, per
 * query, where each of its bins sits in that union, its float weights, margin and list length. */
typedef struct {
  int nq;
  const chr_qhist *const *qs;
  int n_bins;
  int bin[CHR_BINS];
  int (*slot)[CHR_QUERY_MAX_BINS];
  float (*weight)[CHR_QUERY_MAX_BINS];
  double *margin;
  int *keep;            /* how many rows each query wants: min(want, rows) */
  const uint8_t **skip; /* per query: the index's exclusion mask, or NULL to see every row */
  int chunk;            /* rows per chunk of widened roots, a multiple of CHR_SCAN_GROUP */
  chr_scan_kernels kernels;
} scan_plan;

static void plan_free(scan_plan *p) {
  free(p->slot);
  free(p->weight);
  free(p->margin);
  free(p->keep);
  free(p->skip);
}

static chr_status plan_build(const chr_index *idx, const chr_qhist *const *qs, int nq,
                             const int *cap, const int *exclude, scan_plan *p, chr_error *err) {
  size_t n = (size_t)(nq > 0 ? nq : 1);
  int index[CHR_BINS] = {0};
  p->nq = nq;
  p->qs = qs;
  p->slot = malloc(n * sizeof *p->slot);
  p->weight = malloc(n * sizeof *p->weight);
  p->margin = malloc(n * sizeof *p->margin);
  p->keep = malloc(n * sizeof *p->keep);
  p->skip = malloc(n * sizeof *p->skip);
  if (p->slot == NULL || p->weight == NULL || p->margin == NULL || p->keep == NULL ||
      p->skip == NULL)
    return chr_error_set(err, CHR_ENOMEM, "scan: out of memory for a batch of %d queries", nq);
  for (int i = 0; i < nq; ++i)
    for (int k = 0; cap[i] > 0 && k < qs[i]->count; ++k) index[qs[i]->bin[k]] = 1;
  p->n_bins = 0;
  for (int b = 0; b < CHR_BINS; ++b)
    if (index[b]) {
      index[b] = p->n_bins;
      p->bin[p->n_bins++] = b;
    }
  for (int i = 0; i < nq; ++i) {
    p->keep[i] = cap[i];
    p->skip[i] = exclude != NULL && exclude[i] ? idx->excluded : NULL;
    p->margin[i] = chr_scan_margin(qs[i], idx->max_row_sum);
    for (int k = 0; k < qs[i]->count; ++k) {
      p->slot[i][k] = index[qs[i]->bin[k]];
      p->weight[i][k] = (float)sqrt(qs[i]->mass[k]);
    }
  }
  int fit =
      CHR_SCAN_ROOTS_FLOATS / (p->n_bins > 0 ? p->n_bins : 1) / CHR_SCAN_GROUP * CHR_SCAN_GROUP;
  p->chunk =
      fit < CHR_SCAN_GROUP ? CHR_SCAN_GROUP : (fit > CHR_SCAN_CHUNK_MAX ? CHR_SCAN_CHUNK_MAX : fit);
  return chr_scan_kernels_choose(&p->kernels, err);
}

/* Widens the chunk [c0, c0 + len) of every union column into roots (stride p->chunk), with
 * zeros after len up to the next whole group. */
static void widen_chunk(const chr_index *idx, const scan_plan *p, int64_t c0, int len,
                        float *roots) {
  int padded = (len + CHR_SCAN_GROUP - 1) / CHR_SCAN_GROUP * CHR_SCAN_GROUP;
  for (int b = 0; b < p->n_bins; ++b) {
    float *dst = roots + (size_t)b * (size_t)p->chunk;
    p->kernels.widen(dst, idx->roots + (size_t)p->bin[b] * (size_t)idx->stride + (size_t)c0, len);
    for (int r = len; r < padded; ++r) dst[r] = 0.0f;
  }
}

/* One query's approximate sums over a widened chunk, admitted into its candidate list. */
static int admit_chunk(const scan_plan *p, int i, const float *roots, int len, int64_t row0,
                       candidate_list *c) {
  float acc[CHR_SCAN_GROUP];
  for (int g = 0; g < len; g += CHR_SCAN_GROUP) {
    uint64_t mask = p->kernels.group(roots + g, p->chunk, p->slot[i], p->weight[i], p->qs[i]->count,
                                     c->admit, acc);
    if (len - g < CHR_SCAN_GROUP) mask &= (UINT64_C(1) << (len - g)) - 1;
    if (!candidates_admit(c, mask, acc, row0 + g, p->skip[i])) return 0;
  }
  return 1;
}

/* Admits the rows [begin, end) into every query's candidate list, chunk by chunk. roots holds
 * p->n_bins x p->chunk floats. */
static int scan_rows(const chr_index *idx, const scan_plan *p, int64_t begin, int64_t end,
                     float *roots, candidate_list *lists) {
  for (int64_t c0 = begin; c0 < end; c0 += p->chunk) {
    int len = (int)(end - c0 < p->chunk ? end - c0 : p->chunk);
    widen_chunk(idx, p, c0, len, roots);
    for (int i = 0; i < p->nq; ++i)
      if (lists[i].keep > 0 && !admit_chunk(p, i, roots, len, c0, &lists[i])) return 0;
  }
  return 1;
}

static void lists_free(candidate_list *lists, int n) {
  for (int i = 0; lists != NULL && i < n; ++i) free(lists[i].items);
  free(lists);
}

/* One empty candidate list per query. NULL on ENOMEM. */
static candidate_list *lists_create(const scan_plan *p) {
  candidate_list *lists = calloc((size_t)(p->nq > 0 ? p->nq : 1), sizeof *lists);
  for (int i = 0; lists != NULL && i < p->nq; ++i) {
    candidate_list *c = &lists[i];
    c->keep = p->keep[i];
    c->cap = (c->keep < 65536 ? 2 * c->keep : c->keep + 65536) + CHR_SCAN_GROUP;
    c->admit = -INFINITY;
    c->margin = p->margin[i];
    c->items = c->keep > 0 ? malloc((size_t)c->cap * sizeof *c->items) : NULL;
    if (c->keep > 0 && c->items == NULL) {
      lists_free(lists, p->nq);
      return NULL;
    }
  }
  return lists;
}

/* Query i's exact top from the candidate lists of every thread: one list of them all, the
 * keep-th best approximate sum sets the final bar, and the rows above it are scored exactly.
 * Returns the count, or -1 on ENOMEM. */
static int finish_query(const chr_index *idx, const scan_plan *p, int i,
                        candidate_list *const *per_thread, int threads, chr_hit *out) {
  candidate_list all = {.keep = p->keep[i], .admit = -INFINITY, .margin = p->margin[i]};
  if (all.keep == 0) return 0;
  for (int t = 0; t < threads; ++t) all.cap += per_thread[t][i].count;
  all.cap += 1;
  all.items = malloc((size_t)all.cap * sizeof *all.items);
  if (all.items == NULL) return -1;
  for (int t = 0; t < threads; ++t) {
    memcpy(all.items + all.count, per_thread[t][i].items,
           (size_t)per_thread[t][i].count * sizeof *all.items);
    all.count += per_thread[t][i].count;
  }
  int ok = candidates_compact(&all);
  chr_topk top;
  chr_topk_init(&top, out, all.keep);
  for (int j = 0; ok && j < all.count; ++j)
    chr_topk_push(&top, chr_scan_score(idx, p->qs[i], all.items[j].row),
                  idx->first_row + all.items[j].row);
  free(all.items);
  return ok ? chr_topk_finish(&top) : -1;
}

chr_status chr_scan_topk_many(const chr_index *idx, const chr_qhist *const *qs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err) {
  return chr_scan_topk_many_excluding(idx, qs, nq, want, NULL, out, counts, err);
}

chr_status chr_scan_topk_many_excluding(const chr_index *idx, const chr_qhist *const *qs, int nq,
                                        const int *want, const int *exclude, chr_hit *const *out,
                                        int *counts, chr_error *err) {
  chr_status st = CHR_OK;
  int64_t rows = idx->rows, nblocks = (rows + CHR_SCAN_BLOCK - 1) / CHR_SCAN_BLOCK;
  size_t n = (size_t)(nq > 0 ? nq : 1);
  scan_plan plan = {0};
  int *cap = malloc(n * sizeof *cap), failed = 0, threads = 1;
#ifdef _OPENMP
  threads = omp_in_parallel() ? 1 : omp_get_max_threads();
#endif
  candidate_list **per_thread = calloc((size_t)threads, sizeof *per_thread);
  if (cap == NULL || per_thread == NULL) goto nomem;
  for (int i = 0; i < nq; ++i)
    cap[i] = want[i] <= 0 ? 0 : ((int64_t)want[i] < rows ? want[i] : (int)rows);
  st = plan_build(idx, qs, nq, cap, exclude, &plan, err);
  if (st != CHR_OK) goto cleanup;
    /* Every thread admits its share of the row blocks into its own lists, whose bars rise as
     * they fill; which thread saw which rows cannot change the exact top chosen afterwards. */
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    float *roots = malloc(((size_t)plan.n_bins * (size_t)plan.chunk + 1) * sizeof *roots);
    candidate_list *mine = per_thread[t] = lists_create(&plan);
    int ok = roots != NULL && mine != NULL;
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
    for (int64_t blk = 0; blk < nblocks; ++blk) {
      int64_t begin = blk * CHR_SCAN_BLOCK;
      int64_t end = begin + CHR_SCAN_BLOCK < rows ? begin + CHR_SCAN_BLOCK : rows;
      if (ok) ok = scan_rows(idx, &plan, begin, end, roots, mine);
    }
    if (!ok) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    }
    free(roots);
  }
  if (failed) goto nomem;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
#endif
  for (int i = 0; i < nq; ++i) {
    counts[i] = finish_query(idx, &plan, i, per_thread, threads, out[i]);
    if (counts[i] < 0) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    }
  }
  if (failed) goto nomem;
  goto cleanup;
nomem:
  st = chr_error_set(err, CHR_ENOMEM, "scan: out of memory for a batch of %d queries", nq);
cleanup:
  for (int t = 0; per_thread != NULL && t < threads; ++t) lists_free(per_thread[t], nq);
  free(per_thread);
  plan_free(&plan);
  free(cap);
  return st;
}

chr_status chr_scan_check_environment(chr_error *err) {
  chr_scan_kernels unused;
  return chr_scan_kernels_choose(&unused, err);
}

int chr_scan_topk(const chr_index *idx, const chr_qhist *q, int want, chr_hit *out,
                  chr_error *err) {
  const chr_qhist *qs[1] = {q};
  chr_hit *outs[1] = {out};
  int count = 0;
  return chr_scan_topk_many(idx, qs, 1, &want, outs, &count, err) == CHR_OK ? count : -1;
}
