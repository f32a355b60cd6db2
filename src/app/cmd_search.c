/* `chromatica search`: the batch job. Rank 0 reads the batch and the dataset's strings, the
 * ranks load their shards, answer the queries, and rank 0 writes the report. SIGTERM (a Slurm
 * time limit) or SIGINT stops the search between waves; the answers so far are still written,
 * the rest marked unanswered and the report marked incomplete (exit code 4). */
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_search.h"
#include "chromatica/options.h"
#include "chromatica/report.h"
#include "session.h"

#define EXIT_STOPPED 4

/* The signal that asked this process to stop (0: none). A signal handler can only reach
 * process-wide state, so this one flag is the module's only global; it is read, never reset. */
static volatile sig_atomic_t stop_signal = 0;

static void request_stop(int signo) {
  stop_signal = signo;
}

static int install_stop_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0;
}

/* Rank 0 after a stopped search: every valid query without an answer fails with a reason. */
static int mark_unanswered(const chr_session *in, chr_query_result *results, const char *signame) {
  int missing = 0;
  for (int i = 0; i < in->n; ++i) {
    if (!in->queries[i].ok || results[i].answered) continue;
    results[i].ok = 0;
    snprintf(results[i].error, sizeof results[i].error,
             "not answered: the run was stopped by %s before this query was searched", signame);
    missing++;
  }
  return missing;
}

static const char usage[] =
    "usage: chromatica search --dataset D.h5 --queries BATCH.json --out REPORT.json\n"
    "                         [--shards S] [--io scatter|parallel] [--memory-per-rank MB]\n"
    "                         [--progress]\n"
    "       chromatica search --options   (the batch options: a markdown table)\n";

typedef struct {
  chr_session_args session;
  int progress;
} search_args;

/* 0 parsed, 1 help, 2 usage error (reported by rank 0), 3 --options. */
static int parse_args(int argc, char **argv, int rank, search_args *a) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--options") == 0) return 3;
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
static chr_status write_report(const search_args *a, chr_session *in, chr_query_result *results,
                               chr_run_info *run, const chr_rank_stats *ranks, int independent_io,
                               chr_error *err) {
  const chr_batch *b = in->batch;
  int n_warnings = chr_batch_warning_count(b);
  enum { OWN_WARNINGS = 2 }; /* the two below */
  char *warnings[CHR_BATCH_WARNINGS_MAX + OWN_WARNINGS];
  if (n_warnings > CHR_BATCH_WARNINGS_MAX) n_warnings = CHR_BATCH_WARNINGS_MAX;
  for (int i = 0; i < n_warnings; ++i) warnings[i] = (char *)chr_batch_warning(b, i);
  char independent[] = "--io parallel: HDF5 reported that a read did not stay collective";
  if (independent_io) warnings[n_warnings++] = independent;
  char stopped[128];
  snprintf(stopped, sizeof stopped, "the run was stopped by %s: the report is incomplete",
           run->stopped_by ? run->stopped_by : "a signal");
  if (run->incomplete) warnings[n_warnings++] = stopped;
  double t = chr_mpi_seconds();
  chr_status st = chr_session_fetch_rows(in, results, chr_batch_count(b), err);
  if (st == CHR_OK)
    st = chr_report_write(a->session.out, b, results, in->ids, in->paths, in->palettes,
                          in->palette_weights, run, ranks, run->ranks, warnings, n_warnings, err);
  run->write_ms = (chr_mpi_seconds() - t) * 1e3;
  if (st != CHR_OK) return st;
  int ok = 0;
  for (int i = 0; i < chr_batch_count(b); ++i) ok += chr_batch_query_at(b, i)->ok && results[i].ok;
  printf(
      "chromatica search: %d queries (%d ok, %d failed) on %lld images, %d ranks x %d threads "
      "(%s; %d groups x %d shards, io %s, index %s) in %.1f ms (+%.1f ms writing the "
      "report)\nreport: %s\n",
      chr_batch_count(b), ok, chr_batch_count(b) - ok, (long long)run->images, run->ranks,
      run->threads_per_rank, run->threads_source, run->query_groups, run->shards, run->io_mode,
      run->index, run->total_ms, run->write_ms, a->session.out);
  return CHR_OK;
}

/* `--options`: the batch options as the README's table (test integration_options_table). */
static int print_options(int rank) {
  if (rank == 0) chr_options_markdown(stdout);
  return 0;
}

/* What the run section says of the loaded dataset and layout. */
static void describe_session(const chr_session *in, chr_run_info *run) {
  run->images = in->images;
  run->index = in->index_stored ? "stored" : "built";
  run->query_groups = in->layout.groups;
  run->shards = in->layout.shards;
  run->duplicates = &in->dups;
  run->read_ms = in->read_ms;
  run->distribute_ms = in->distribute_ms;
}

int chr_cmd_search(int argc, char **argv, const chr_command_context *cmd) {
  MPI_Comm comm = cmd->comm;
  int rank = cmd->rank, size = cmd->size;
  search_args a = {0};
  int parsed = parse_args(argc, argv, rank, &a);
  if (parsed == 3) return print_options(rank);
  if (parsed != 0) return chr_args_exit_code(parsed, rank, usage);

  double t_start = chr_mpi_seconds();
  chr_error err;
  chr_error_clear(&err);
  chr_session in;
  int stopped = 0;
  if (!install_stop_handlers() && rank == 0)
    fprintf(stderr, "chromatica search: warning: cannot install the SIGTERM handler\n");
  chr_query_result *results = NULL;
  chr_rank_stats *all_stats = NULL;
  chr_run_info run = {.version = CHR_VERSION,
                      .ranks = size,
                      .threads_per_rank = omp_get_max_threads(),
                      .io_mode = a.session.io ? a.session.io : "scatter",
                      .dataset_path = a.session.dataset,
                      .threads_source = cmd->threads_source};
  chr_status st = chr_session_open(comm, &a.session, &in, &err);
  if (st != CHR_OK) goto cleanup;
  describe_session(&in, &run);
  int n = in.n;
  chr_rank_stats mine = in.mine;
  if (rank == 0) {
    results = calloc((size_t)n, sizeof *results);
    st = results ? CHR_OK : chr_error_set(&err, CHR_ENOMEM, "cannot hold %d results", n);
  }
  st = chr_mpi_agree(comm, st, &err);
  if (st != CHR_OK) goto cleanup;
  if (a.progress && rank == 0) fprintf(stderr, "chromatica search: answering %d queries\n", n);
  double t_search = chr_mpi_seconds();
  chr_mpi_search_options options = {in.max_concurrent, a.progress, &stop_signal};
  chr_mpi_search_outcome outcome;
  st = chr_mpi_search(comm, &in.layout, in.idx, in.queries, n, &options, results, &outcome, &err);
  if (st != CHR_OK) goto cleanup;
  mine.queries = outcome.queries_answered;
  stopped = outcome.stopped;
  if (stopped) {
    /* Every rank learnt of the stop and of the signal, even those no signal reached. */
    run.incomplete = 1;
    run.stopped_by = stopped == SIGINT ? "SIGINT" : "SIGTERM";
    if (rank == 0)
      fprintf(stderr, "chromatica search: stopped by %s; %d queries were not answered\n",
              run.stopped_by, mark_unanswered(&in, results, run.stopped_by));
  }
  mine.search_ms = (chr_mpi_seconds() - t_search) * 1e3;
  run.search_ms = mine.search_ms;

  double t_gather = chr_mpi_seconds();
  mine.peak_rss_mb = chr_peak_rss_mb();
  mine.threads = omp_get_max_threads();
  all_stats = rank == 0 ? malloc((size_t)size * sizeof *all_stats) : NULL;
  st = rank == 0 && all_stats == NULL
           ? chr_error_set(&err, CHR_ENOMEM, "cannot hold per-rank figures")
           : CHR_OK;
  st = chr_mpi_agree(comm, st, &err);
  if (st != CHR_OK) goto cleanup;
  st = chr_mpi_gather_rank_stats(comm, &mine, all_stats, &err);
  if (st != CHR_OK) goto cleanup;
  run.gather_ms = (chr_mpi_seconds() - t_gather) * 1e3;
  run.total_ms = (chr_mpi_seconds() - t_start) * 1e3;
  if (rank == 0) st = write_report(&a, &in, results, &run, all_stats, in.independent_io, &err);
  st = chr_mpi_agree(comm, st, &err);
cleanup:
  if (st != CHR_OK && rank == 0) fprintf(stderr, "chromatica search: %s\n", err.message);
  free(results);
  free(all_stats);
  chr_session_close(&in);
  return st != CHR_OK ? 1 : (stopped ? EXIT_STOPPED : 0);
}
