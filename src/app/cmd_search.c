/* `chromatica search`: the batch job. Rank 0 reads the batch and the dataset's strings, the
 * ranks load their shards, answer the queries, and rank 0 writes the report. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/app.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_search.h"
#include "chromatica/report.h"
#include "session.h"

static const char usage[] =
    "usage: chromatica search --dataset D.h5 --queries BATCH.json --out REPORT.json\n"
    "                         [--shards S] [--io scatter|parallel] [--memory-per-rank MB]\n"
    "                         [--progress]\n";

typedef struct {
  chr_session_args session;
  int progress;
} search_args;

/* 0 parsed, 1 help, 2 usage error (reported by rank 0). */
static int parse_args(int argc, char **argv, int rank, search_args *a) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--progress") == 0) {
      a->progress = 1;
      continue;
    }
    int taken = chr_session_take_option(argc, argv, &i, &a->session);
    if (taken != 1) {
      if (rank == 0)
        fprintf(stderr, "chromatica search: %s '%s'\n%s",
                taken < 0 ? "missing value for option" : "unknown option", argv[i], usage);
      return 2;
    }
  }
  char message[256];
  if (chr_session_args_check(&a->session, message, sizeof message) == 0) return 0;
  if (rank == 0) fprintf(stderr, "chromatica search: %s\n%s", message, usage);
  return 2;
}

/* Rank 0: writes the report and prints the human summary. */
static chr_status write_report(const search_args *a, const chr_session *in,
                               chr_query_result *results, chr_run_info *run,
                               const chr_rank_stats *ranks, int independent_io, chr_error *err) {
  const chr_batch *b = in->batch;
  int n_warnings = chr_batch_warning_count(b);
  char *warnings[66];
  for (int i = 0; i < n_warnings && i < 64; ++i) warnings[i] = (char *)chr_batch_warning(b, i);
  if (n_warnings > 64) n_warnings = 64;
  char independent[] = "--io parallel: HDF5 reported that a read did not stay collective";
  if (independent_io) warnings[n_warnings++] = independent;
  double t = MPI_Wtime();
  chr_status st = chr_report_write(a->session.out, b, results, in->ids, in->paths, in->palettes,
                                   in->palette_weights, run, ranks, run->ranks, warnings,
                                   n_warnings, err);
  run->write_ms = (MPI_Wtime() - t) * 1e3;
  if (st != CHR_OK) return st;
  int ok = 0;
  for (int i = 0; i < chr_batch_count(b); ++i) ok += chr_batch_query_at(b, i)->ok && results[i].ok;
  printf("chromatica search: %d queries (%d ok, %d failed) on %lld images, %d ranks x %d threads "
         "(%d groups x %d shards, io %s) in %.1f ms (+%.1f ms writing the report)\nreport: %s\n",
         chr_batch_count(b), ok, chr_batch_count(b) - ok, (long long)run->images, run->ranks,
         run->threads_per_rank, run->query_groups, run->shards, run->io_mode, run->total_ms,
         run->write_ms, a->session.out);
  return CHR_OK;
}

int chr_cmd_search(int argc, char **argv, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  search_args a = {0};
  int parsed = parse_args(argc, argv, rank, &a);
  if (parsed == 1 && rank == 0) fputs(usage, stdout);
  if (parsed != 0) return parsed == 1 ? 0 : 2;

  double t_start = MPI_Wtime();
  chr_error err;
  chr_error_clear(&err);
  chr_session in;
  chr_query_result *results = NULL;
  chr_rank_stats *all_stats = NULL;
  chr_run_info run = {.version = CHR_VERSION, .ranks = size, .threads_per_rank = omp_get_max_threads(),
                      .io_mode = a.session.io ? a.session.io : "scatter",
                      .dataset_path = a.session.dataset};
  chr_status st = chr_session_open(comm, &a.session, &in, &err);
  if (st != CHR_OK) goto cleanup;
  run.images = in.images;
  run.query_groups = in.layout.groups;
  run.shards = in.layout.shards;
  run.read_ms = in.read_ms;
  run.distribute_ms = in.distribute_ms;
  int n = in.n;
  chr_rank_stats mine = in.mine;
  if (rank == 0) {
    results = calloc((size_t)n, sizeof *results);
    st = results ? CHR_OK : chr_error_set(&err, CHR_ENOMEM, "cannot hold %d results", n);
  }
  st = chr_mpi_agree(comm, st, &err);
  if (st != CHR_OK) goto cleanup;
  if (a.progress && rank == 0) fprintf(stderr, "chromatica search: answering %d queries\n", n);
  double t_search = MPI_Wtime();
  st = chr_mpi_search(comm, &in.layout, in.idx, in.queries, n, in.max_concurrent, a.progress,
                      results, &mine.queries, &err);
  if (st != CHR_OK) goto cleanup;
  mine.search_ms = (MPI_Wtime() - t_search) * 1e3;
  run.search_ms = mine.search_ms;

  double t_gather = MPI_Wtime();
  mine.peak_rss_mb = chr_peak_rss_mb();
  all_stats = rank == 0 ? malloc((size_t)size * sizeof *all_stats) : NULL;
  st = rank == 0 && all_stats == NULL ? chr_error_set(&err, CHR_ENOMEM, "cannot hold per-rank figures") : CHR_OK;
  st = chr_mpi_agree(comm, st, &err);
  if (st != CHR_OK) goto cleanup;
  st = chr_mpi_gather_rank_stats(comm, &mine, all_stats, &err);
  if (st != CHR_OK) goto cleanup;
  run.gather_ms = (MPI_Wtime() - t_gather) * 1e3;
  run.total_ms = (MPI_Wtime() - t_start) * 1e3;
  if (rank == 0) st = write_report(&a, &in, results, &run, all_stats, in.independent_io, &err);
  st = chr_mpi_agree(comm, st, &err);
cleanup:
  if (st != CHR_OK && rank == 0) fprintf(stderr, "chromatica search: %s\n", err.message);
  free(results);
  free(all_stats);
  chr_session_close(&in);
  return st == CHR_OK ? 0 : 1;
}
