/* Bounded top-k selection with the spec's total order: lower score first, ties broken by the
 * lower global row index. Used by stage 1, stage 2 and every merge. Not collective. */
#ifndef CHROMATICA_TOPK_H
#define CHROMATICA_TOPK_H

#include <stdint.h>

typedef struct {
  double score;
  int64_t row; /* global row index of the image */
} chr_hit;

/* Negative, zero or positive as a orders before, equal to, or after b. */
int chr_hit_compare(const chr_hit *a, const chr_hit *b);

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
