#include "chromatica/cascade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "chromatica/topk.h"
#include "index_private.h" /* offsets, for prefetching */
#include "scan_kernels.h"  /* chr_half_to_float */
#include "support.h"       /* chr_region_threads, chr_thread_num */

/* Rows per unit of work: small enough that a batch of queries re-reads its columns from cache
 * (measured: 512 beat 1024 and 2048 for 30 queries on 100k images). The result does
 * not depend on it. */
#define CHR_CASCADE_BLOCK 512
/* How far ahead of the row being bounded step (2) fetches sparse rows (and twice as far, their
 * offsets): the rows are scattered, so each would otherwise wait for memory in turn. */
#define CHR_CASCADE_AHEAD 8

static int int_compare(const void *pa, const void *pb) {
  int a = *(const int *)pa, b = *(const int *)pb;
  return (a > b) - (a < b);
}

/* C(q_i, t) for every query bin i and every bin t, and the bin centres: what both bounds read. */
static void query_costs(const chr_qhist *q, chr_lab *centre, double (*cost)[CHR_QUERY_MAX_BINS]) {
  for (int t = 0; t < CHR_BINS; ++t) centre[t] = chr_grid_bin_centre(t);
  for (int t = 0; t < CHR_BINS; ++t)
    for (int i = 0; i < q->count; ++i) {
      chr_lab a = centre[q->bin[i]], b = centre[t];
      double dl = a.l - b.l, da = a.a - b.a, db = a.b - b.b;
      cost[t][i] = sqrt(dl * dl + da * da + db * db);
    }
}

void chr_cascade_tight_init(const chr_cascade_query *c, chr_cascade_tight *t) {
  query_costs(&c->q, t->centre, t->cost);
}

void chr_cascade_init(const chr_qhist *q, chr_cascade_query *c) {
  chr_lab centre[CHR_BINS];
  double cost[CHR_QUERY_MAX_BINS];
  chr_hit near[CHR_BINS]; /* (distance, bin), nearest first */
  c->q = *q;
  for (int t = 0; t < CHR_BINS; ++t) centre[t] = chr_grid_bin_centre(t);
  for (int t = 0; t < CHR_BINS; ++t) {
    double best = INFINITY;
    for (int i = 0; i < q->count; ++i) {
      chr_lab a = centre[q->bin[i]];
      double dl = a.l - centre[t].l, da = a.a - centre[t].a, db = a.b - centre[t].b;
      cost[i] = sqrt(dl * dl + da * da + db * db);
      best = cost[i] < best ? cost[i] : best;
    }
    c->nearest[t] = best;
    near[t] = (chr_hit){best, t};
  }
  qsort(near, CHR_BINS, sizeof *near, chr_hit_qsort_compare);
  int want = CHR_CASCADE_BINS_PER_QUERY_BIN * q->count;
  if (want > CHR_CASCADE_BINS_MAX) want = CHR_CASCADE_BINS_MAX;
  double clip = near[want].score;
  c->clip = (float)clip;
  c->count = 0;
  for (int r = 0; r < want; ++r)
    if (near[r].score < clip) c->bin[c->count++] = (int)near[r].row;
  /* Ascending bins: the columns are then read in address order. */
  qsort(c->bin, (size_t)c->count, sizeof *c->bin, int_compare);
  for (int k = 0; k < c->count; ++k) c->weight[k] = (float)(clip - c->nearest[c->bin[k]]);
  double mean[3] = {0.0, 0.0, 0.0};
  for (int i = 0; i < q->count; ++i) {
    mean[0] += q->mass[i] * centre[q->bin[i]].l;
    mean[1] += q->mass[i] * centre[q->bin[i]].a;
    mean[2] += q->mass[i] * centre[q->bin[i]].b;
  }
  for (int a = 0; a < 3; ++a) c->centroid[a] = (float)mean[a];
  double marginal[CHR_GRID_NL + CHR_GRID_NA + CHR_GRID_NB] = {0.0};
  for (int i = 0; i < q->count; ++i) {
    int l, a, b;
    chr_grid_coords(q->bin[i], &l, &a, &b);
    marginal[l] += q->mass[i];
    marginal[CHR_GRID_NL + a] += q->mass[i];
    marginal[CHR_GRID_NL + CHR_GRID_NA + b] += q->mass[i];
  }
  const int n[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
  for (int axis = 0, in = 0, out = 0; axis < 3; in += n[axis++]) {
    double cdf = 0.0;
    for (int level = 0; level < n[axis] - 1; ++level)
      c->cdf[out++] = chr_index_cdf_quantize(cdf += marginal[in + level]);
    chr_lab lo = chr_grid_bin_centre(0), hi = chr_grid_bin_centre(chr_grid_index(1, 1, 1));
    double width = axis == 0 ? hi.l - lo.l : axis == 1 ? hi.a - lo.a : hi.b - lo.b;
    c->spacing[axis] = (float)(width / 255.0);
  }
}

double chr_cascade_bound_tight(const chr_cascade_query *c, const chr_cascade_tight *t,
                               const uint16_t *bins, const float *mass, int n) {
  int m = c->q.count;
  double total = 0.0, dot = 0.0, l = 0.0, a = 0.0, b = 0.0;
  double least[CHR_QUERY_MAX_BINS];
  for (int i = 0; i < m; ++i) least[i] = INFINITY;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  for (int j = 0; j < n; ++j) {
    double w = (double)mass[j] / total;
    const double *row = t->cost[bins[j]];
    chr_lab centre = t->centre[bins[j]];
    dot += w * c->nearest[bins[j]];
    l += w * centre.l, a += w * centre.a, b += w * centre.b;
    for (int i = 0; i < m; ++i) least[i] = row[i] < least[i] ? row[i] : least[i];
  }
  double query_side = 0.0;
  for (int i = 0; i < m; ++i) query_side += c->q.mass[i] * least[i];
  double dl = l - c->centroid[0], da = a - c->centroid[1], db = b - c->centroid[2];
  double centroid = sqrt(dl * dl + da * da + db * db);
  double best = dot > centroid ? dot : centroid;
  return query_side > best ? query_side : best;
}

/* Asks for local row r's sparse entries (bins and mass) to be brought into the cache. */
static void prefetch_row(const chr_index *idx, int64_t r) {
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  int n = chr_index_support(idx, r, &bins, &mass);
  for (int j = 0; j < n; j += 32) __builtin_prefetch(bins + j);
  for (int j = 0; j < n; j += 16) __builtin_prefetch(mass + j);
}

void chr_cascade_finish(const chr_index *idx, const chr_cascade_query *c,
                        const chr_cascade_tight *t, const chr_hit *hits, int n, double *tight,
                        double *ann) {
  int64_t first = chr_index_first_row(idx);
  int threads = n > 64 ? chr_region_threads() : 1;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (threads > 1)
#endif
  for (int e = 0; e < n; ++e) {
    if (e + 2 * CHR_CASCADE_AHEAD < n)
      __builtin_prefetch(&idx->offsets[hits[e + 2 * CHR_CASCADE_AHEAD].row - first]);
    if (e + CHR_CASCADE_AHEAD < n) prefetch_row(idx, hits[e + CHR_CASCADE_AHEAD].row - first);
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int m = chr_index_support(idx, hits[e].row - first, &bins, &mass);
    /* The cheap bound's marginal distances are not in the tight one: keep the larger. */
    double bound = chr_cascade_bound_tight(c, t, bins, mass, m);
    tight[e] = bound > hits[e].score ? bound : hits[e].score;
    ann[e] = chr_scan_score(idx, &c->q, hits[e].row - first);
  }
}

/* The marginal distribution columns of each axis: [axis_first[axis], axis_first[axis + 1]). */
static const int axis_first[4] = {0, CHR_GRID_NL - 1, CHR_GRID_NL + CHR_GRID_NA - 2, CHR_INDEX_CDF};

/* The centroid distance of an image with mean (l, a, b), in float: the first thing the batched
 * pass looks at, and a term of combine. */
static inline float centroid_term(const chr_cascade_query *c, float l, float a, float b) {
  float dl = l - c->centroid[0], da = a - c->centroid[1], db = b - c->centroid[2];
  return sqrtf(dl * dl + da * da + db * db);
}

/* max(clip - acc, centroid distance, the three marginal distances w[0..3)), in float: written
 * once, for the row and the block. */
static inline float combine(const chr_cascade_query *c, float acc, float l, float a, float b,
                            int wl_units, int wa_units, int wb_units) {
  float dot = c->clip - acc;
  float best = centroid_term(c, l, a, b);
  best = dot > best ? dot : best;
  float wl = (float)wl_units * c->spacing[0], wa = (float)wa_units * c->spacing[1];
  float wb = (float)wb_units * c->spacing[2];
  best = wl > best ? wl : best;
  best = wa > best ? wa : best;
  return wb > best ? wb : best;
}

double chr_cascade_bound_row(const chr_index *idx, const chr_cascade_query *c, int64_t r) {
  float acc = 0.0f;
  int w[3];
  for (int k = 0; k < c->count; ++k) {
    float h = chr_half_to_float(chr_index_root_column(idx, c->bin[k])[r]);
    acc += c->weight[k] * (h * h);
  }
  for (int axis = 0; axis < 3; ++axis) {
    w[axis] = 0;
    for (int k = axis_first[axis]; k < axis_first[axis + 1]; ++k)
      w[axis] += abs((int)chr_index_cdf_column(idx, k)[r] - (int)c->cdf[k]);
  }
  return (double)combine(c, acc, chr_index_centroid_column(idx, 0)[r],
                         chr_index_centroid_column(idx, 1)[r], chr_index_centroid_column(idx, 2)[r],
                         w[0], w[1], w[2]);
}

/* The binary16 h as a float, exactly as chr_half_to_float for h >= 0 finite (the roots are):
 * the bits moved into place are h's value times 2^-112, also for subnormal h. Plain C the
 * compiler vectorises, so the same operations run for every row on every CPU. */
static inline float widen_root(uint16_t h) {
  uint32_t bits = (uint32_t)h << 13;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f * 0x1p112f;
}

/* The cheap bounds of rows [r0, r0 + len) into out (len <= CHR_CASCADE_BLOCK). Four columns
 * per sweep, so the sums are loaded and stored a quarter as often; each row still adds its
 * terms one at a time in the order of c->bin, as chr_cascade_bound_row does. */
static void bound_block(const chr_index *idx, const chr_cascade_query *c, int64_t r0, int len,
                        float *out, int *w) {
  for (int i = 0; i < len; ++i) out[i] = 0.0f;
  int k = 0;
  for (; k + 4 <= c->count; k += 4) {
    const uint16_t *c0 = chr_index_root_column(idx, c->bin[k]) + r0;
    const uint16_t *c1 = chr_index_root_column(idx, c->bin[k + 1]) + r0;
    const uint16_t *c2 = chr_index_root_column(idx, c->bin[k + 2]) + r0;
    const uint16_t *c3 = chr_index_root_column(idx, c->bin[k + 3]) + r0;
    float w0 = c->weight[k], w1 = c->weight[k + 1], w2 = c->weight[k + 2], w3 = c->weight[k + 3];
    for (int i = 0; i < len; ++i) {
      float h0 = widen_root(c0[i]), h1 = widen_root(c1[i]);
      float h2 = widen_root(c2[i]), h3 = widen_root(c3[i]);
      float acc = out[i];
      acc += w0 * (h0 * h0);
      acc += w1 * (h1 * h1);
      acc += w2 * (h2 * h2);
      acc += w3 * (h3 * h3);
      out[i] = acc;
    }
  }
  for (; k < c->count; ++k) {
    const uint16_t *col = chr_index_root_column(idx, c->bin[k]) + r0;
    float w = c->weight[k];
    for (int i = 0; i < len; ++i) {
      float h = widen_root(col[i]);
      out[i] += w * (h * h);
    }
  }
  /* w: the three marginal sums in 1/255 units, axis after axis (CHR_CASCADE_BLOCK each). */
  for (int axis = 0; axis < 3; ++axis) {
    int *sum = w + axis * CHR_CASCADE_BLOCK;
    for (int i = 0; i < len; ++i) sum[i] = 0;
    for (int k = axis_first[axis]; k < axis_first[axis + 1]; ++k) {
      const uint8_t *col = chr_index_cdf_column(idx, k) + r0;
      int f = c->cdf[k];
      for (int i = 0; i < len; ++i) sum[i] += abs((int)col[i] - f);
    }
  }
  const float *l = chr_index_centroid_column(idx, 0) + r0;
  const float *a = chr_index_centroid_column(idx, 1) + r0;
  const float *b = chr_index_centroid_column(idx, 2) + r0;
  const int *wl = w, *wa = w + CHR_CASCADE_BLOCK, *wb = w + 2 * CHR_CASCADE_BLOCK;
  for (int i = 0; i < len; ++i) out[i] = combine(c, out[i], l[i], a[i], b[i], wl[i], wa[i], wb[i]);
}

/* What every thread of one selection reads: the columns, located once (each query's root
 * columns in the order of its c->bin). */
typedef struct {
  const chr_index *idx;
  const chr_cascade_query *const *cs;
  int nq;
  const uint8_t *cdf[CHR_INDEX_CDF];
  const float *centroid[3];
  const uint16_t *(*root)[CHR_CASCADE_BINS_MAX];
} select_plan;

/* One thread's scratch for a block. */
typedef struct {
  float bounds[CHR_CASCADE_BLOCK];
  int w[3 * CHR_CASCADE_BLOCK];
  uint8_t alive[CHR_CASCADE_BLOCK + 8]; /* zero after the block's rows, for 8-row words */
} block_scratch;

/* The float above which a bound cannot enter h: the largest float not above its worst kept
 * bound (bounds are floats, so (double)v > worst exactly when v > bar); +inf while h has room. */
static float heap_bar(const chr_topk *h) {
  if (h->count < h->cap) return INFINITY;
  double worst = chr_topk_worst(h)->score;
  float bar = (float)worst;
  return (double)bar > worst ? nextafterf(bar, -INFINITY) : bar;
}

/* alive[i] = 1 for the rows r0 + i of the block whose centroid term is not above bar (the
 * others' bounds, the largest of their terms, are above it too); returns their count. */
static int centroid_pass(const select_plan *p, const chr_cascade_query *c, int64_t r0, int len,
                         float bar, uint8_t *alive) {
  const float *l = p->centroid[0] + r0, *a = p->centroid[1] + r0, *b = p->centroid[2] + r0;
  int n = 0;
  for (int i = 0; i < len; ++i) {
    alive[i] = (uint8_t) !(centroid_term(c, l[i], a[i], b[i]) > bar);
    n += alive[i];
  }
  return n;
}

/* The bound of local row r for query q into *out, by the operations of chr_cascade_bound_row;
 * 0 without finishing when a marginal term alone is above bar. */
static int row_bound(const select_plan *p, int q, int64_t r, float bar, float *out) {
  const chr_cascade_query *c = p->cs[q];
  int w[3];
  for (int axis = 0; axis < 3; ++axis) {
    w[axis] = 0;
    for (int k = axis_first[axis]; k < axis_first[axis + 1]; ++k)
      w[axis] += abs((int)p->cdf[k][r] - (int)c->cdf[k]);
    if ((float)w[axis] * c->spacing[axis] > bar) return 0;
  }
  float acc = 0.0f;
  for (int k = 0; k < c->count; ++k) {
    float h = widen_root(p->root[q][k][r]);
    acc += c->weight[k] * (h * h);
  }
  *out = combine(c, acc, p->centroid[0][r], p->centroid[1][r], p->centroid[2][r], w[0], w[1], w[2]);
  return 1;
}

/* Offers bound v of local row r to h: most rows lose to a full heap's worst on the bound
 * alone; ties go to the push. */
static void offer(chr_topk *h, float v, int64_t row) {
  if (h->count == h->cap && (double)v > chr_topk_worst(h)->score) return;
  chr_topk_push(h, (double)v, row);
}

/* Query q's bounds of the block [r0, r0 + len) offered to h. Once h is full, the centroid
 * term rules out most rows; when few remain they are bounded one by one (and left as soon as a
 * marginal term rules them out), else the whole block in vector form. Either way every row
 * offered has the value chr_cascade_bound_row gives it. */
static void offer_block(const select_plan *p, int q, int64_t r0, int len, chr_topk *h,
                        block_scratch *s) {
  int64_t first = chr_index_first_row(p->idx);
  float bar = heap_bar(h);
  if (bar == INFINITY || centroid_pass(p, p->cs[q], r0, len, bar, s->alive) > len / 4) {
    bound_block(p->idx, p->cs[q], r0, len, s->bounds, s->w);
    for (int i = 0; i < len; ++i) offer(h, s->bounds[i], first + r0 + i);
    return;
  }
  memset(s->alive + len, 0, 8);
  for (int i0 = 0; i0 < len; i0 += 8) {
    uint64_t word;
    memcpy(&word, s->alive + i0, sizeof word); /* eight rows at once: most are all ruled out */
    for (int i = i0; word != 0 && i < i0 + 8; ++i) {
      float v;
      if (s->alive[i] && row_bound(p, q, r0 + i, bar, &v)) offer(h, v, first + r0 + i);
    }
  }
}

/* One thread's part: blocks of rows, every query's bounds of a block offered to its heap while
 * the block's columns are in the cache. */
static void select_blocks(const select_plan *p, chr_topk *heaps, block_scratch *s) {
  int64_t rows = chr_index_rows(p->idx);
  int64_t blocks = (rows + CHR_CASCADE_BLOCK - 1) / CHR_CASCADE_BLOCK;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 4)
#endif
  for (int64_t blk = 0; blk < blocks; ++blk) {
    int64_t r0 = blk * CHR_CASCADE_BLOCK;
    int len = (int)(rows - r0 < CHR_CASCADE_BLOCK ? rows - r0 : CHR_CASCADE_BLOCK);
    for (int q = 0; q < p->nq; ++q)
      if (heaps[q].cap > 0) offer_block(p, q, r0, len, &heaps[q], s);
  }
}

/* Locates the columns every query reads. */
static void plan_columns(select_plan *p) {
  for (int k = 0; k < CHR_INDEX_CDF; ++k) p->cdf[k] = chr_index_cdf_column(p->idx, k);
  for (int a = 0; a < 3; ++a) p->centroid[a] = chr_index_centroid_column(p->idx, a);
  for (int q = 0; q < p->nq; ++q)
    for (int k = 0; k < p->cs[q]->count; ++k)
      p->root[q][k] = chr_index_root_column(p->idx, p->cs[q]->bin[k]);
}

chr_status chr_cascade_select(const chr_index *idx, const chr_cascade_query *const *cs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err) {
  chr_status st = CHR_OK;
  int threads = chr_region_threads();
  int64_t rows = chr_index_rows(idx);
  size_t per_thread = 0, n = (size_t)(nq > 0 ? nq : 1);
  select_plan plan = {idx, cs, nq, {NULL}, {NULL}, malloc(n * sizeof *plan.root)};
  int *cap = malloc(n * sizeof *cap);
  for (int q = 0; cap != NULL && q < nq; ++q) {
    cap[q] = want[q] < rows ? want[q] : (int)rows;
    per_thread += (size_t)cap[q];
  }
  chr_hit *storage = malloc((per_thread + 1) * (size_t)threads * sizeof *storage);
  chr_hit *tmp = malloc((per_thread + 1) * sizeof *tmp);
  chr_topk *heaps = malloc((size_t)threads * n * sizeof *heaps);
  block_scratch *scratch = malloc((size_t)threads * sizeof *scratch);
  if (cap == NULL || plan.root == NULL || storage == NULL || tmp == NULL || heaps == NULL ||
      scratch == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "cascade: cannot hold the top %zu rows of %d queries",
                       per_thread, nq);
    goto cleanup;
  }
  plan_columns(&plan);
  for (int t = 0; t < threads; ++t)
    for (int q = 0, at = 0; q < nq; at += cap[q++])
      chr_topk_init(&heaps[t * nq + q], storage + (size_t)t * per_thread + at, cap[q]);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  select_blocks(&plan, heaps + (size_t)chr_thread_num() * n, scratch + chr_thread_num());
  /* The threads' lists merged in thread order: the exact top by (bound, row) in any case. */
  for (int q = 0; q < nq; ++q) {
    counts[q] = 0;
    for (int t = 0; t < threads; ++t) {
      chr_topk *h = &heaps[t * nq + q];
      int got = chr_topk_finish(h);
      counts[q] = chr_hits_merge(out[q], counts[q], h->items, got, tmp, cap[q]);
      memcpy(out[q], tmp, (size_t)counts[q] * sizeof *tmp);
    }
  }
cleanup:
  free(cap);
  free(plan.root);
  free(storage);
  free(tmp);
  free(heaps);
  free(scratch);
  return st;
}
