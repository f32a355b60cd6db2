/* Bounded top-k as a max-heap keyed by chr_hit_compare: the root is the worst kept hit, so a
 * new hit enters only if it orders before the root. */
#include "chromatica/topk.h"

#include <stddef.h>

int chr_order_value_row(double va, int64_t ra, double vb, int64_t rb) {
  if (va < vb) return -1;
  if (va > vb) return 1;
  return (ra > rb) - (ra < rb);
}

int chr_order_mass_bin(double ma, int ba, double mb, int bb) {
  if (ma > mb) return -1;
  if (ma < mb) return 1;
  return (ba > bb) - (ba < bb);
}

int chr_heaviest_offer(chr_bin_mass *kept, int count, int cap, double mass, int bin) {
  int pos = count < cap ? count : cap;
  while (pos > 0 && chr_order_mass_bin(mass, bin, kept[pos - 1].mass, kept[pos - 1].bin) < 0) pos--;
  if (pos >= cap) return count;
  int last = count < cap ? count : cap - 1;
  for (int i = last; i > pos; --i) kept[i] = kept[i - 1];
  kept[pos] = (chr_bin_mass){mass, bin};
  return count < cap ? count + 1 : count;
}

int chr_hit_compare(const chr_hit *a, const chr_hit *b) {
  return chr_order_value_row(a->score, a->row, b->score, b->row);
}

int chr_hit_qsort_compare(const void *a, const void *b) {
  return chr_hit_compare(a, b);
}

void chr_topk_init(chr_topk *t, chr_hit *storage, int cap) {
  t->items = storage;
  t->cap = cap < 0 ? 0 : cap;
  t->count = 0;
}

static void sift_down(chr_hit *h, int n, int i) {
  chr_hit x = h[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && chr_hit_compare(&h[c + 1], &h[c]) > 0) ++c;
    if (chr_hit_compare(&h[c], &x) <= 0) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

void chr_topk_push(chr_topk *t, double score, int64_t row) {
  chr_hit x = {score, row};
  chr_hit *h = t->items;
  if (t->count < t->cap) {
    int i = t->count++;
    while (i > 0) {
      int p = (i - 1) / 2;
      if (chr_hit_compare(&h[p], &x) >= 0) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = x;
    return;
  }
  if (t->cap == 0 || chr_hit_compare(&x, &h[0]) >= 0) return;
  h[0] = x;
  sift_down(h, t->count, 0);
}

const chr_hit *chr_topk_worst(const chr_topk *t) {
  return &t->items[0];
}

int chr_topk_finish(chr_topk *t) {
  /* Heap sort: moving the root (worst) to the end each round leaves the array best-first. */
  chr_hit *h = t->items;
  for (int n = t->count - 1; n > 0; --n) {
    chr_hit tmp = h[0];
    h[0] = h[n];
    h[n] = tmp;
    sift_down(h, n, 0);
  }
  return t->count;
}

int chr_hits_merge(const chr_hit *a, int na, const chr_hit *b, int nb, chr_hit *out, int cap) {
  int i = 0, j = 0, n = 0;
  while (n < cap && (i < na || j < nb)) {
    if (j >= nb || (i < na && chr_hit_compare(&a[i], &b[j]) <= 0))
      out[n++] = a[i++];
    else
      out[n++] = b[j++];
  }
  return n;
}
