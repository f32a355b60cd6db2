/* The cascade candidate stage across ranks (src/mpi/cascade.c, issue 14) against its slow
 * reference: every rank holds one contiguous shard of a seeded random dataset and runs the
 * cascade (chr_mpi_cascade) and the exact EMD rerank within its pool (chr_mpi_emd_rerank) for a
 * few queries at once; every rank also computes, alone on the whole dataset, the reference
 * straight from the definitions: the cheap bound of every image, sorted by (bound, row), the
 * best R1 kept; max(cheap, tight bound) of those, sorted, the best pool-size kept; the exact EMD
 * of every pool image, sorted by (distance, row), the best k. The pools and the answers must be
 * the same. Run at 1, 2 and 3 ranks and with 1 and 2 threads (tests/CMakeLists.txt). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/mpi/cascade.h"
#include "../../src/mpi/rerank_emd.h"
#include "../unit/test_random.h"
#include "chromatica/cascade.h"
#include "chromatica/emd.h"
#include "chromatica/grid.h"
#include "chromatica/search.h"

#define ROWS 1500
#define QUERIES 5

static int failures = 0;

static void check(int ok, const char *what, int q) {
  if (ok) return;
  fprintf(stderr, "test_cascade_mpi: query %d: %s\n", q, what);
  failures++;
}

static void random_query(chr_batch_query *bq, int i, uint64_t *s) {
  memset(bq, 0, sizeof *bq);
  snprintf(bq->id, sizeof bq->id, "q%d", i);
  bq->ok = 1;
  bq->options = chr_search_options_default();
  bq->options.k = 1 + (int)(next(s) % 15);
  bq->options.rerank_k = 20 + (int)(next(s) % 80);
  bq->options.candidate_stage = CHR_STAGE_CASCADE;
  if (random_rgb_query(&bq->hist, s) != CHR_OK) failures++;
}

static int hit_order(const void *a, const void *b) {
  return chr_hit_compare(a, b);
}

static int row_order(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* The reference pool (rows, sorted by row) and top-k of query bq on the whole index. */
static int reference(const chr_index *all, const chr_batch_query *bq, int64_t *pool_rows,
                     chr_match *top) {
  int want = chr_search_candidates(&bq->options, ROWS);
  int r1 = CHR_CASCADE_WIDEN * want < ROWS ? CHR_CASCADE_WIDEN * want : ROWS;
  chr_hit *h = malloc(ROWS * sizeof *h);
  chr_match *m = malloc((size_t)want * sizeof *m);
  chr_cascade_query cq;
  chr_cascade_tight *tight = malloc(sizeof *tight);
  chr_cascade_init(&bq->hist, &cq);
  chr_cascade_tight_init(&cq, tight);
  for (int r = 0; r < ROWS; ++r) h[r] = (chr_hit){chr_cascade_bound_row(all, &cq, r), r};
  qsort(h, ROWS, sizeof *h, hit_order);
  for (int e = 0; e < r1; ++e) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int n = chr_index_support(all, h[e].row, &bins, &mass);
    double t = chr_cascade_bound_tight(&cq, tight, bins, mass, n);
    h[e].score = t > h[e].score ? t : h[e].score;
  }
  qsort(h, (size_t)r1, sizeof *h, hit_order);
  for (int e = 0; e < want; ++e) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int n = chr_index_support(all, h[e].row, &bins, &mass);
    chr_error err;
    m[e] = (chr_match){h[e].row, 0.0, 0.0};
    if (chr_emd(&bq->hist, bins, mass, n, &m[e].distance, &err) != CHR_OK) failures++;
    pool_rows[e] = h[e].row;
  }
  qsort(pool_rows, (size_t)want, sizeof *pool_rows, row_order);
  int k = chr_matches_rank(m, want, bq->options.k);
  memcpy(top, m, (size_t)k * sizeof *top);
  free(h);
  free(m);
  free(tight);
  return k;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  uint64_t s = 2026;
  float *dense = malloc((size_t)ROWS * CHR_BINS * sizeof *dense);
  for (int r = 0; r < ROWS; ++r) random_blob_row(dense + (size_t)r * CHR_BINS, &s);
  int64_t first = (int64_t)ROWS * rank / size, last = (int64_t)ROWS * (rank + 1) / size;
  chr_index *all = NULL, *shard = NULL;
  chr_error err;
  if (chr_index_create(ROWS, 0, &all, &err) != CHR_OK ||
      chr_index_append(all, dense, ROWS, &err) != CHR_OK ||
      chr_index_create(last - first, first, &shard, &err) != CHR_OK ||
      chr_index_append(shard, dense + (size_t)first * CHR_BINS, last - first, &err) != CHR_OK) {
    fprintf(stderr, "test_cascade_mpi: %s\n", err.message);
    return 1;
  }
  chr_batch_query queries[QUERIES];
  chr_cascade_job jobs[QUERIES];
  chr_emd_job emd[QUERIES];
  int n_pool[QUERIES];
  double ms[QUERIES];
  for (int i = 0; i < QUERIES; ++i) {
    random_query(&queries[i], i, &s);
    int want = chr_search_candidates(&queries[i].options, ROWS);
    jobs[i] = (chr_cascade_job){&queries[i], want, malloc((size_t)want * sizeof(chr_hit)),
                                &n_pool[i], &ms[i]};
    ms[i] = 0.0;
  }
  if (chr_mpi_cascade(MPI_COMM_WORLD, shard, ROWS, jobs, QUERIES, &err) != CHR_OK) {
    fprintf(stderr, "test_cascade_mpi: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < QUERIES; ++i)
    emd[i] = (chr_emd_job){.query = &queries[i],
                           .merged = jobs[i].pool,
                           .n_merged = n_pool[i],
                           .top = malloc((size_t)queries[i].options.k * sizeof(chr_match))};
  if (chr_mpi_emd_rerank(MPI_COMM_WORLD, shard, emd, QUERIES, &err) != CHR_OK) {
    fprintf(stderr, "test_cascade_mpi: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < QUERIES; ++i) {
    int want = jobs[i].want, k = queries[i].options.k;
    int64_t *expect_pool = malloc((size_t)want * sizeof *expect_pool);
    int64_t *got_pool = malloc((size_t)want * sizeof *got_pool);
    chr_match expect[20], *got = malloc((size_t)k * size * sizeof *got);
    int n_expect = reference(all, &queries[i], expect_pool, expect);
    check(n_pool[i] == want, "pool size", i);
    for (int e = 0; e < n_pool[i] && e < want; ++e) got_pool[e] = jobs[i].pool[e].row;
    qsort(got_pool, (size_t)want, sizeof *got_pool, row_order);
    check(n_pool[i] == want && memcmp(got_pool, expect_pool, (size_t)want * sizeof *got_pool) == 0,
          "pool differs from the reference", i);
    /* Every shard's best k of what it solved, gathered: the group's answer. */
    int counts[64] = {0}, mine = emd[i].n_top, total = 0;
    MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    int bytes[64], displs[64];
    for (int r = 0; r < size; ++r)
      bytes[r] = counts[r] * (int)sizeof(chr_match), displs[r] = total * (int)sizeof(chr_match),
      total += counts[r];
    MPI_Allgatherv(emd[i].top, mine * (int)sizeof(chr_match), MPI_BYTE, got, bytes, displs,
                   MPI_BYTE, MPI_COMM_WORLD);
    int n_got = chr_matches_rank(got, total, k);
    check(n_got == n_expect, "answer size", i);
    for (int e = 0; e < n_got && e < n_expect; ++e)
      check(got[e].row == expect[e].row &&
                fabs(got[e].distance - expect[e].distance) <= 1e-9 * (1.0 + expect[e].distance),
            "answer differs from the reference", i);
    free(expect_pool), free(got_pool), free(got), free(jobs[i].pool), free(emd[i].top);
  }
  int any = 0;
  MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    printf("test_cascade_mpi: %d ranks, %d queries: %s\n", size, QUERIES,
           any ? "FAILED" : "pools and answers equal the reference");
  chr_index_destroy(&all);
  chr_index_destroy(&shard);
  free(dense);
  MPI_Finalize();
  return any ? 1 : 0;
}
