/* The two orders every ranking of the program uses, and bounded top-k selection with the first.
 * Determinism rests on each being one rule, written once here:
 * - (value, row): lower value first, ties by lower global row (spec section 4). Hits, matches,
 *   result hits, EMD pool entries (lower bound, row): stage 1, stage 2 and every merge.
 * - (mass, bin): heavier first, ties by lower bin. Palettes and the dominant bins of a hit.
 * Pure; not collective; thread-safe. */
#ifndef CHROMATICA_TOPK_H
#define CHROMATICA_TOPK_H

#include <stdint.h>

typedef struct {
  double score;
  int64_t row; /* global row index of the image */
} chr_hit;

/* Negative, zero or positive as (va, ra) orders before, equal to, or after (vb, rb): lower value
 * first, ties by lower row. */
int chr_order_value_row(double va, int64_t ra, double vb, int64_t rb);

/* Negative, zero or positive as (ma, ba) orders before, equal to, or after (mb, bb): heavier
 * first, ties by lower bin. */
int chr_order_mass_bin(double ma, int ba, double mb, int bb);

/* One bin's mass, as chr_heaviest_offer keeps them. */
typedef struct {
  double mass;
  int bin;
} chr_bin_mass;

/* Offers (mass, bin) to kept[0..count), the cap heaviest so far in chr_order_mass_bin order,
 * and returns the new count (at most cap). */
int chr_heaviest_offer(chr_bin_mass *kept, int count, int cap, double mass, int bin);

/* chr_order_value_row of two chr_hit. */
int chr_hit_compare(const chr_hit *a, const chr_hit *b);

/* chr_hit_compare in qsort's form. */
int chr_hit_qsort_compare(const void *a, const void *b);

/* A bounded max-heap over caller-owned storage of capacity cap (cap >= 0). */
typedef struct {
  chr_hit *items;
  int cap;
  int count;
} chr_topk;

void chr_topk_init(chr_topk *t, chr_hit *storage, int cap);

/* Offers one hit; keeps it only if it is among the cap best seen so far. */
void chr_topk_push(chr_topk *t, double score, int64_t row);

/* The worst kept hit when full; used to skip work that cannot enter. Requires count == cap > 0. */
const chr_hit *chr_topk_worst(const chr_topk *t);

/* Sorts the kept hits best-first in place (the heap is consumed) and returns their count. */
int chr_topk_finish(chr_topk *t);

/* Merges two best-first sorted lists into out (best-first), keeping at most cap; returns the
 * count. out must not alias a or b. */
int chr_hits_merge(const chr_hit *a, int na, const chr_hit *b, int nb, chr_hit *out, int cap);

#endif
