#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "chromatica/dataset_index.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_duplicates.h"
#include "chromatica/mpi_index.h"
#include "chromatica/mpi_search.h"
#include "chromatica/paths.h"
#include "chromatica/textfile.h"

int chr_session_take_option(int argc, char **argv, int *i, chr_session_args *a) {
  const char *names[6] = {"--dataset", "--queries", "--out",
                          "--shards",  "--io",      "--memory-per-rank"};
  const char **slots[6] = {&a->dataset, &a->queries, &a->out, &a->shards, &a->io, &a->memory};
  for (int k = 0; k < 6; ++k) {
    if (strcmp(argv[*i], names[k]) != 0) continue;
    if (*i + 1 >= argc) return -1;
    *slots[k] = argv[++*i];
    return 1;
  }
  return 0;
}

int chr_session_args_check(const chr_session_args *a, char *message, size_t size) {
  const char *missing = !a->dataset   ? "--dataset"
                        : !a->queries ? "--queries"
                        : !a->out     ? "--out"
                                      : NULL;
  char *end = NULL;
  if (missing) {
    snprintf(message, size, "%s is required", missing);
    return 1;
  }
  if (a->io && strcmp(a->io, "scatter") != 0 && strcmp(a->io, "parallel") != 0) {
    snprintf(message, size, "--io '%s': invalid (expected scatter or parallel)", a->io);
    return 1;
  }
  long shards = a->shards ? strtol(a->shards, &end, 10) : 1;
  if (a->shards && (shards < 1 || shards > 1000000 || *end != '\0')) {
    snprintf(message, size, "--shards '%s': invalid (expected a whole number from 1 to 1000000)",
             a->shards);
    return 1;
  }
  double mb = a->memory ? strtod(a->memory, &end) : 1.0;
  if (a->memory && (end == a->memory || *end != '\0' || !(mb >= 1.0 && mb <= 1e9))) {
    snprintf(message, size, "--memory-per-rank '%s': invalid (expected megabytes from 1 to 1e9)",
             a->memory);
    return 1;
  }
  return 0;
}

double chr_peak_rss_mb(void) {
  struct rusage usage;
  return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss / 1024.0 : 0.0;
}

static int compare_rows(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

static chr_status check_ids(chr_session *s, const chr_index_meta *meta, chr_error *err);

/* Rank 0: the output path, the batch, the dataset checked (ids unique, palette weights valid,
 * the stored index's metadata). */
static chr_status root_read_inputs(const chr_session_args *a, chr_session *s, chr_error *err) {
  chr_error inner;
  /* An output that is one of the inputs however spelled would destroy it: refused first. */
  chr_status st = chr_path_check_distinct("--out", a->out, "--dataset", a->dataset, err);
  if (st == CHR_OK) st = chr_path_check_distinct("--out", a->out, "--queries", a->queries, err);
  if (st != CHR_OK) return st;
  st = chr_path_check_writable(a->out, &inner);
  if (st != CHR_OK) return chr_error_set(err, st, "--out %s", inner.message);
  st = chr_batch_load(a->queries, &s->batch, err);
  if (st != CHR_OK) return st;
  chr_index_meta meta;
  st = chr_dataset_open(a->dataset, H5P_DEFAULT, &s->ds, &inner);
  /* A stored index that does not match its histograms is refused here, never used. */
  if (st == CHR_OK) st = chr_dataset_index_meta(s->ds, &meta, &inner);
  if (st == CHR_OK) st = check_ids(s, &meta, &inner);
  /* Every weight is checked; the palettes themselves are read for the reported rows only. */
  if (st == CHR_OK && chr_dataset_has_palettes(s->ds))
    st = chr_dataset_check_weights(s->ds, &inner);
  if (st != CHR_OK) return chr_error_set(err, st, "%s: %s", a->dataset, inner.message);
  s->images = chr_dataset_images(s->ds);
  s->index_stored = meta.present;
  return CHR_OK;
}

/* The ids must be unique. An index that recorded their fingerprint when it found them unique
 * spares reading them as strings when they still give it (only the rows reported are read, by
 * chr_session_fetch_rows); otherwise they are read and checked in full, and kept. */
static chr_status check_ids(chr_session *s, const chr_index_meta *meta, chr_error *err) {
  uint64_t fp = 0;
  if (meta->present && meta->ids_checksum != 0) {
    chr_status st = chr_dataset_ids_fingerprint(s->ds, &fp, err);
    if (st != CHR_OK || fp == meta->ids_checksum) return st;
  }
  return chr_dataset_read_strings(s->ds, &s->ids, &s->paths, err);
}

/* The rows a report names, ascending and distinct, into *rows (malloc'd): every hit and the
 * rows collapsed onto it. */
static int64_t reported_rows(const chr_session *s, const chr_query_result *results, int n,
                             int64_t **rows) {
  int64_t total = 0, k = 0;
  for (int i = 0; i < n; ++i) {
    int count = results[i].count < CHR_RESULTS_K_MAX ? results[i].count : CHR_RESULTS_K_MAX;
    for (int j = 0; j < count; ++j) {
      const int64_t *members = NULL;
      total += 1 + chr_dups_members(&s->dups, results[i].hits[j].row, &members);
    }
  }
  if ((*rows = malloc((size_t)(total > 0 ? total : 1) * sizeof **rows)) == NULL) return -1;
  for (int i = 0; i < n; ++i) {
    int count = results[i].count < CHR_RESULTS_K_MAX ? results[i].count : CHR_RESULTS_K_MAX;
    for (int j = 0; j < count; ++j) {
      const int64_t *members = NULL;
      int64_t m = chr_dups_members(&s->dups, results[i].hits[j].row, &members);
      (*rows)[k++] = results[i].hits[j].row;
      for (int64_t c = 0; c < m; ++c) (*rows)[k++] = members[c];
    }
  }
  qsort(*rows, (size_t)k, sizeof **rows, compare_rows);
  int64_t distinct = 0;
  for (int64_t i = 0; i < k; ++i)
    if ((*rows)[i] >= 0 && (*rows)[i] < s->images &&
        (distinct == 0 || (*rows)[i] != (*rows)[distinct - 1]))
      (*rows)[distinct++] = (*rows)[i];
  return distinct;
}

/* Zeroed memory of which only the pages touched cost anything: a fresh anonymous mapping (a
 * large calloc may instead clear a reused heap block, tens of MB at 1M images). NULL on
 * failure; released with munmap (chr_session_close). */
static void *zeroed_pages(size_t bytes) {
  void *p =
      mmap(NULL, bytes > 0 ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Every image's id and path pointer, NULL but for the rows read (rows[i]'s in row_ids[i]). */
static chr_status spread_strings(chr_session *s, const int64_t *rows, int64_t k, chr_error *err) {
  s->ids = zeroed_pages((size_t)s->images * sizeof *s->ids);
  s->paths = s->row_paths ? zeroed_pages((size_t)s->images * sizeof *s->paths) : NULL;
  if (s->ids == NULL || (s->row_paths && s->paths == NULL))
    return chr_error_set(err, CHR_ENOMEM, "cannot hold the ids of %lld images",
                         (long long)s->images);
  for (int64_t i = 0; i < k; ++i) {
    s->ids[rows[i]] = s->row_ids[i];
    if (s->paths) s->paths[rows[i]] = s->row_paths[i];
  }
  return CHR_OK;
}

chr_status chr_session_fetch_rows(chr_session *s, const chr_query_result *results, int n,
                                  chr_error *err) {
  int palettes = chr_dataset_has_palettes(s->ds) && s->palettes == NULL;
  if (s->ids != NULL && !palettes) return CHR_OK;
  int64_t *rows = NULL, k = reported_rows(s, results, n, &rows);
  chr_error inner;
  chr_status st =
      k < 0 ? chr_error_set(&inner, CHR_ENOMEM, "cannot hold the reported rows") : CHR_OK;
  if (st == CHR_OK && s->ids == NULL)
    st = chr_dataset_read_string_rows(s->ds, rows, k, &s->row_ids, &s->row_paths, &inner);
  if (st == CHR_OK && s->ids == NULL) st = spread_strings(s, rows, k, &inner);
  if (st == CHR_OK && palettes) {
    s->palettes = zeroed_pages((size_t)s->images * CHR_PALETTE_MAX * sizeof *s->palettes);
    s->palette_weights =
        zeroed_pages((size_t)s->images * CHR_PALETTE_MAX * sizeof *s->palette_weights);
    st =
        s->palettes && s->palette_weights
            ? chr_dataset_read_palette_rows(s->ds, rows, k, s->palettes, s->palette_weights, &inner)
            : chr_error_set(&inner, CHR_ENOMEM, "cannot hold /palettes");
  }
  free(rows);
  return st == CHR_OK ? st : chr_error_set(err, st, "%s", inner.message);
}

chr_status chr_session_open(MPI_Comm comm, const chr_session_args *a, chr_session *s,
                            chr_error *err) {
  int rank = 0, size = 1;
  memset(s, 0, sizeof *s);
  s->layout.group_comm = MPI_COMM_NULL;
  chr_status placed = chr_mpi_place(comm, &rank, &size, err);
  if (placed != CHR_OK) return placed;
  s->mine.rank = rank;
  double t_start = chr_mpi_seconds();
  chr_status st = rank == 0 ? root_read_inputs(a, s, err) : CHR_OK;
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) return st;
  s->read_ms = (chr_mpi_seconds() - t_start) * 1e3;
  int64_t shared[3] = {s->images, rank == 0 ? chr_batch_max_concurrent(s->batch) : 0,
                       s->index_stored};
  st = chr_mpi_agree(comm, chr_mpi_bcast_int64s(comm, shared, 3, err), err);
  if (st != CHR_OK) return st;
  s->images = shared[0];
  s->max_concurrent = (int)shared[1];
  s->index_stored = (int)shared[2];
  st =
      chr_layout_rank_memory(comm, a->memory ? strtod(a->memory, NULL) : 0.0, &s->rank_memory, err);
  int shards = a->shards ? (int)strtol(a->shards, NULL, 10) : 0;
  if (st == CHR_OK && a->shards == NULL)
    st = chr_layout_default_shards(comm, s->images, s->rank_memory, &shards, err);
  if (st != CHR_OK) return st;
  st = chr_mpi_agree(comm, chr_layout_create(comm, shards, s->images, &s->layout, err), err);
  if (st == CHR_OK) st = chr_layout_check_memory(comm, &s->layout, s->rank_memory, err);
  if (st != CHR_OK) return st;
  double t_load = chr_mpi_seconds();
  chr_io_mode mode = a->io && strcmp(a->io, "parallel") == 0 ? CHR_IO_PARALLEL : CHR_IO_SCATTER;
  chr_dups stored = {0};
  int has_stored = 0;
  if (s->index_stored)
    st = chr_shard_load_stored(comm, &s->layout, mode, a->dataset, &s->idx, &stored, &has_stored,
                               &s->mine.read_ms, err);
  else
    st = chr_shard_load(comm, &s->layout, mode, a->dataset, s->ds, &s->idx, &s->mine.read_ms,
                        &s->mine.distribute_ms, &s->independent_io, err);
  /* Each group finds the same groups over its own shards (or checks those the index stores);
   * the mask is what searches skip. */
  if (st == CHR_OK)
    st = chr_mpi_agree(
        comm,
        has_stored ? chr_mpi_duplicates_stored(s->layout.group_comm, s->idx, s->images, &stored,
                                               &s->dups, err)
                   : chr_mpi_duplicates(s->layout.group_comm, s->idx, s->images, &s->dups, err),
        err);
  chr_dups_free(&stored);
  if (st != CHR_OK) return st;
  s->mine.group = s->layout.group;
  s->mine.shard = s->layout.shard;
  s->mine.first_row = s->layout.first_row;
  s->mine.rows = s->layout.rows;
  if (rank == 0) {
    s->n = chr_batch_count(s->batch);
    s->queries = (chr_batch_query *)chr_batch_query_at(s->batch, 0);
  }
  st = chr_mpi_bcast_queries(comm, &s->queries, &s->n, err);
  /* Every rank resolves the default candidate stage the same way, from the dataset's size. */
  for (int i = 0; st == CHR_OK && i < s->n; ++i)
    chr_search_options_resolve(&s->queries[i].options, s->images);
  /* Distribution ends when the slowest rank has its shard and the queries, so the search phase
   * that follows starts on every rank at once and holds no waiting for loads. */
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_mpi_barrier(comm, err), err);
  s->read_ms += s->mine.read_ms;
  s->distribute_ms = (chr_mpi_seconds() - t_load) * 1e3 - s->mine.read_ms;
  return st;
}

void chr_session_close(chr_session *s) {
  if (s->batch == NULL) free(s->queries); /* rank 0's queries belong to its batch */
  size_t pointers = (size_t)s->images * sizeof(char *);
  if (s->row_ids) { /* chr_session_fetch_rows: mapped pointers to the rows read */
    if (s->ids) munmap(s->ids, pointers > 0 ? pointers : 1);
    if (s->paths) munmap(s->paths, pointers > 0 ? pointers : 1);
    chr_strings_free(s->row_ids, 0);
    chr_strings_free(s->row_paths, 0);
  } else {
    if (s->ids) chr_strings_free(s->ids, s->images);
    if (s->paths) chr_strings_free(s->paths, s->images);
  }
  size_t slots = (size_t)s->images * CHR_PALETTE_MAX; /* mapped by chr_session_fetch_rows */
  if (s->palettes) munmap(s->palettes, slots > 0 ? slots * sizeof *s->palettes : 1);
  if (s->palette_weights) munmap(s->palette_weights, slots > 0 ? slots * sizeof(float) : 1);
  chr_index_destroy(&s->idx);
  chr_dups_free(&s->dups);
  chr_layout_free(&s->layout);
  chr_dataset_close(&s->ds);
  chr_batch_destroy(&s->batch);
  memset(s, 0, sizeof *s);
}
