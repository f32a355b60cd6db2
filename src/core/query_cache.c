#include "chromatica/query_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One cache entry: the query that computed the key, and its place in the recency list. */
typedef struct {
  int query; /* -1: free */
  uint64_t hash;
  int prev, next; /* recency list, most recent at head */
} entry;

static uint64_t mix(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull; /* FNV-1a */
  return h;
}

/* Only the fields that decide an answer; batch_size and sharpen (already in hist) stay out. */
static uint64_t key_hash(const chr_cache_query *q) {
  const chr_search_options *o = q->options;
  uint64_t h = 0xcbf29ce484222325ull;
  h = mix(h, &q->hist->count, sizeof q->hist->count);
  h = mix(h, q->hist->bin, (size_t)q->hist->count * sizeof q->hist->bin[0]);
  h = mix(h, q->hist->mass, (size_t)q->hist->count * sizeof q->hist->mass[0]);
  const int ints[8] = {o->k,           o->rerank_k,
                       (int)o->metric, o->sinkhorn_max_iter,
                       o->fast_mode,   (int)o->candidate_stage,
                       o->emd_prune,   o->collapse_duplicates};
  const double reals[2] = {o->sinkhorn_epsilon, o->sinkhorn_tol};
  h = mix(h, ints, sizeof ints);
  return mix(h, reals, sizeof reals);
}

static int same_key(const chr_cache_query *a, const chr_cache_query *b) {
  const chr_search_options *x = a->options, *y = b->options;
  return a->hist->count == b->hist->count &&
         memcmp(a->hist->bin, b->hist->bin, (size_t)a->hist->count * sizeof a->hist->bin[0]) == 0 &&
         memcmp(a->hist->mass, b->hist->mass, (size_t)a->hist->count * sizeof a->hist->mass[0]) ==
             0 &&
         x->k == y->k && x->rerank_k == y->rerank_k && x->metric == y->metric &&
         x->sinkhorn_max_iter == y->sinkhorn_max_iter && x->fast_mode == y->fast_mode &&
         x->candidate_stage == y->candidate_stage && x->emd_prune == y->emd_prune &&
         x->collapse_duplicates == y->collapse_duplicates &&
         x->sinkhorn_epsilon == y->sinkhorn_epsilon && x->sinkhorn_tol == y->sinkhorn_tol;
}

typedef struct {
  entry *e;
  int cap, used, head, tail;
} lru;

static void unlink_entry(lru *c, int i) {
  if (c->e[i].prev >= 0)
    c->e[c->e[i].prev].next = c->e[i].next;
  else
    c->head = c->e[i].next;
  if (c->e[i].next >= 0)
    c->e[c->e[i].next].prev = c->e[i].prev;
  else
    c->tail = c->e[i].prev;
}

static void push_front(lru *c, int i) {
  c->e[i].prev = -1;
  c->e[i].next = c->head;
  if (c->head >= 0) c->e[c->head].prev = i;
  c->head = i;
  if (c->tail < 0) c->tail = i;
}

int chr_query_cache_plan(const chr_cache_query *queries, int n, int capacity, int *source,
                         chr_error *err) {
  lru c = {calloc((size_t)capacity, sizeof(entry)), capacity, 0, -1, -1};
  if (c.e == NULL) {
    chr_error_set(err, CHR_ENOMEM, "query cache: out of memory for %d entries", capacity);
    return -1;
  }
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    source[i] = -1;
    if (queries[i].hist == NULL) continue;
    uint64_t h = key_hash(&queries[i]);
    int found = -1;
    /* A linear look-up over at most `capacity` hashes: small, contiguous and obviously right. */
    for (int j = 0; j < c.used && found < 0; ++j)
      if (c.e[j].hash == h && same_key(&queries[c.e[j].query], &queries[i])) found = j;
    if (found >= 0) {
      source[i] = c.e[found].query;
      hits++;
      unlink_entry(&c, found);
      push_front(&c, found);
      continue;
    }
    int slot = c.used;
    if (c.used < c.cap) {
      c.used++;
    } else { /* full: the least recently used key makes room */
      slot = c.tail;
      unlink_entry(&c, slot);
    }
    c.e[slot].query = i;
    c.e[slot].hash = h;
    push_front(&c, slot);
    source[i] = i;
  }
  free(c.e);
  return hits;
}
