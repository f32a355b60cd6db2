/* The repeated-query cache (issue 7): identical queries in a batch are computed once. A query's
 * key is its histogram plus every option that can change its answer (not its id, not
 * batch_size). The cache holds at most `capacity` distinct keys and forgets the least recently
 * used one when full; a query whose key is held takes the answer of the query that first
 * computed it. Planned up front over the batch in batch order, so which queries hit never
 * depends on ranks, threads or timing. Pure; not collective. */
#ifndef CHROMATICA_QUERY_CACHE_H
#define CHROMATICA_QUERY_CACHE_H

#include "chromatica/error.h"
#include "chromatica/query.h"
#include "chromatica/search.h"

#define CHR_QUERY_CACHE_CAPACITY 1000

typedef struct {
  const chr_qhist *hist; /* NULL: the query is not searched (failed validation) */
  const chr_search_options *options;
} chr_cache_query;

/* Fills source[0..n): source[i] = i when query i must be computed, or the index j < i of the
 * query whose answer it reuses (source[i] = -1 for a NULL hist). Returns the number of reuses,
 * or -1 with CHR_ENOMEM. capacity >= 1. */
int chr_query_cache_plan(const chr_cache_query *queries, int n, int capacity, int *source,
                         chr_error *err);

#endif
