#include "cascade.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/cascade.h"
#include "chromatica/mpi_collect.h"

/* One row that passed step (1) on its shard, as every shard learns it. */
typedef struct {
  double cheap, tight, ann;
  int64_t row;
} survivor;

static int by_cheap(const void *pa, const void *pb) {
  const survivor *a = pa, *b = pb;
  return chr_order_value_row(a->cheap, a->row, b->cheap, b->row);
}

static int by_tight(const void *pa, const void *pb) {
  const survivor *a = pa, *b = pb;
  return chr_order_value_row(a->tight, a->row, b->tight, b->row);
}

/* R1 of a job: the rows the cheap bound keeps. */
static int widened(const chr_cascade_job *job, int64_t images) {
  int64_t r1 = (int64_t)CHR_CASCADE_WIDEN * job->want;
  return (int)(r1 < images ? r1 : images);
}

/* Steps (1) and (2) on this shard: every job's best rows by the cheap bound, with their tight
 * bounds and ann_scores, job after job into mine; counts[j] per job. */
static chr_status local_survivors(const chr_index *idx, int64_t images, chr_cascade_job *jobs,
                                  int n, survivor *mine, int *counts, chr_error *err) {
  chr_cascade_query *cq = malloc((size_t)n * sizeof *cq);
  const chr_cascade_query **cqs = malloc((size_t)n * sizeof *cqs);
  int *want = malloc((size_t)n * sizeof *want);
  chr_hit **out = malloc((size_t)n * sizeof *out);
  chr_cascade_tight *tight = malloc(sizeof *tight);
  size_t total = 0;
  for (int j = 0; j < n; ++j) total += (size_t)widened(&jobs[j], images);
  chr_hit *hits = malloc((total + 1) * sizeof *hits);
  double *bound = malloc((total + 1) * sizeof *bound), *ann = malloc((total + 1) * sizeof *ann);
  chr_status st = CHR_OK;
  if (cq == NULL || cqs == NULL || want == NULL || out == NULL || tight == NULL || hits == NULL ||
      bound == NULL || ann == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "cascade: cannot hold %zu candidate rows", total);
    goto cleanup;
  }
  for (int j = 0, at = 0; j < n; at += want[j++]) {
    chr_cascade_init(&jobs[j].query->hist, &cq[j]);
    cqs[j] = &cq[j];
    want[j] = widened(&jobs[j], images);
    out[j] = hits + at;
  }
  st = chr_cascade_select(idx, cqs, n, want, out, counts, err);
  if (st != CHR_OK) goto cleanup;
  for (int j = 0, at = 0; j < n; at += counts[j++]) {
    chr_cascade_tight_init(&cq[j], tight);
    chr_cascade_finish(idx, &cq[j], tight, out[j], counts[j], bound, ann);
    for (int e = 0; e < counts[j]; ++e)
      mine[at + e] = (survivor){out[j][e].score, bound[e], ann[e], out[j][e].row};
  }
cleanup:
  free(cq);
  free(cqs);
  free(want);
  free(out);
  free(tight);
  free(hits);
  free(bound);
  free(ann);
  return st;
}

/* Step (3) for job j from every shard's survivors (all, shard after shard, job after job). */
static void choose_pool(chr_cascade_job *job, int j, int n, int shards, int64_t images,
                        const int *all_counts, const survivor *all, survivor *merge) {
  int gathered = 0, at = 0;
  for (int s = 0; s < shards; ++s)
    for (int jj = 0; jj < n; ++jj) {
      int c = all_counts[s * n + jj];
      if (jj == j) {
        memcpy(merge + gathered, all + at, (size_t)c * sizeof *merge);
        gathered += c;
      }
      at += c;
    }
  qsort(merge, (size_t)gathered, sizeof *merge, by_cheap);
  int r1 = widened(job, images);
  int kept = gathered < r1 ? gathered : r1;
  qsort(merge, (size_t)kept, sizeof *merge, by_tight);
  *job->n_pool = kept < job->want ? kept : job->want;
  for (int e = 0; e < *job->n_pool; ++e) job->pool[e] = (chr_hit){merge[e].ann, merge[e].row};
}

chr_status chr_mpi_cascade(MPI_Comm gcomm, const chr_index *idx, int64_t images,
                           chr_cascade_job *jobs, int n, chr_error *err) {
  double t0 = omp_get_wtime();
  int shard = 0, shards = 1, sent = 0, received = 0, longest = 1;
  chr_status st = chr_mpi_place(gcomm, &shard, &shards, err);
  if (st != CHR_OK) return st;
  size_t mine_max = 1;
  for (int j = 0; j < n; ++j) {
    mine_max += (size_t)widened(&jobs[j], images);
    longest = widened(&jobs[j], images) > longest ? widened(&jobs[j], images) : longest;
  }
  int *counts = malloc((size_t)(n > 0 ? n : 1) * sizeof *counts);
  int *all_counts = malloc((size_t)(n > 0 ? n : 1) * (size_t)shards * sizeof *all_counts);
  int *bytes = malloc((size_t)shards * sizeof *bytes),
      *displs = malloc((size_t)shards * sizeof *displs);
  survivor *mine = malloc(mine_max * sizeof *mine), *all = NULL;
  survivor *merge = malloc((size_t)longest * (size_t)shards * sizeof *merge);
  if (!counts || !all_counts || !bytes || !displs || !mine || !merge)
    st = chr_error_set(err, CHR_ENOMEM, "cascade: out of memory for a wave of %d queries", n);
  if (st == CHR_OK) st = local_survivors(idx, images, jobs, n, mine, counts, err);
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  for (int j = 0; j < n; ++j) sent += counts[j];
  st = chr_mpi_check(MPI_Allgather(counts, n, MPI_INT, all_counts, n, MPI_INT, gcomm), err,
                     "cascade: MPI_Allgather of survivor counts");
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  int64_t total = 0;
  for (int s = 0; s < shards; ++s) {
    int64_t items = 0;
    for (int j = 0; j < n; ++j) items += all_counts[s * n + j];
    total += items;
    /* MPI counts bytes in int: a wave whose survivors exceed that is refused, never wrapped. */
    if (total * (int64_t)sizeof(survivor) > INT_MAX) break;
    bytes[s] = (int)items * (int)sizeof(survivor);
    displs[s] = received * (int)sizeof(survivor);
    received += (int)items;
  }
  if (total * (int64_t)sizeof(survivor) > INT_MAX)
    st = chr_error_set(err, CHR_EINVAL,
                       "cascade: %lld survivors in one wave exceed one MPI message (expected at "
                       "most %d; lower max_concurrent or rerank_k)",
                       (long long)total, (int)(INT_MAX / sizeof(survivor)));
  all = st == CHR_OK ? malloc((size_t)(received > 0 ? received : 1) * sizeof *all) : NULL;
  if (st == CHR_OK && all == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "cascade: cannot hold %d survivors", received);
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  st = chr_mpi_check(MPI_Allgatherv(mine, sent * (int)sizeof(survivor), MPI_BYTE, all, bytes,
                                    displs, MPI_BYTE, gcomm),
                     err, "cascade: MPI_Allgatherv of survivors");
  if ((st = chr_mpi_agree(gcomm, st, err)) != CHR_OK) goto cleanup;
  for (int j = 0; j < n; ++j) choose_pool(&jobs[j], j, n, shards, images, all_counts, all, merge);
  double ms = (omp_get_wtime() - t0) * 1e3;
  for (int j = 0; j < n; ++j) *jobs[j].ms += ms; /* computed together, like stage 1's wave */
cleanup:
  free(counts);
  free(all_counts);
  free(bytes);
  free(displs);
  free(mine);
  free(all);
  free(merge);
  return st;
}
