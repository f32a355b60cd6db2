/* `chromatica eval`: how good and how fast each search mode is. Loads the dataset once, answers
 * the batch in every mode (fast; Sinkhorn at each epsilon; exact EMD within each top-R) and in
 * the exact all-image EMD mode that serves as ground truth, then rank 0 writes recall@k,
 * latency and pruning figures as JSON and prints them as a table. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/eval_report.h"
#include "chromatica/lists.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_search.h"
#include "chromatica/options.h"
#include "chromatica/sinkhorn.h"
#include "session.h"

#define EVAL_LIST_MAX 8

static const char usage[] =
    "usage: chromatica eval --dataset D.h5 --queries BATCH.json --out EVAL.json\n"
    "                       [--epsilons E,...] [--rerank-ks R,...] [--shards S]\n"
    "                       [--io scatter|parallel] [--memory-per-rank MB] [--progress]\n"
    "  Modes: fast, sinkhorn at each epsilon (default 0.01,0.02,0.05,0.1) with each query's\n"
    "  rerank_k, emd within each top-R (default 25,50,100,200,400), emd within the cascade\n"
    "  candidate stage; truth: exact EMD over every image. Each query keeps its own k,\n"
    "  colours and other options.\n";

typedef struct {
  chr_session_args session;
  const char *epsilons, *rerank_ks;
  int progress;
  double eps[EVAL_LIST_MAX], rks[EVAL_LIST_MAX];
  int n_eps, n_rks;
} eval_args;

/* Parses a list option into out; 0 and a message on rank 0 if invalid. */
static int parse_list(const char *text, const char *name, double lo, double hi, int whole,
                      double *out, int *n, int rank) {
  chr_error err;
  int ok = chr_weights_parse(text, out, EVAL_LIST_MAX, n, &err) == CHR_OK;
  for (int i = 0; ok && i < *n; ++i)
    ok = out[i] >= lo && out[i] <= hi && (!whole || out[i] == floor(out[i]));
  if (!ok && rank == 0)
    fprintf(
        stderr,
        "chromatica eval: %s '%s': invalid (expected up to %d comma-separated %s from %g to %g)\n",
        name, text, EVAL_LIST_MAX, whole ? "whole numbers" : "numbers", lo, hi);
  return ok;
}

/* 0 parsed, 1 help, 2 usage error (reported by rank 0). */
static int parse_args(int argc, char **argv, int rank, eval_args *a) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--progress") == 0) {
      a->progress = 1;
      continue;
    }
    const char **slot = strcmp(argv[i], "--epsilons") == 0    ? &a->epsilons
                        : strcmp(argv[i], "--rerank-ks") == 0 ? &a->rerank_ks
                                                              : NULL;
    int taken =
        slot != NULL && i + 1 < argc ? 1 : chr_session_take_option(argc, argv, &i, &a->session);
    if (slot != NULL && taken == 1) *slot = argv[++i];
    if (taken != 1) {
      if (rank == 0)
        fprintf(stderr, "chromatica eval: %s '%s'\n%s",
                taken < 0 || slot != NULL ? "missing value for option" : "unknown option", argv[i],
                usage);
      return 2;
    }
  }
  char message[256];
  if (chr_session_args_check(&a->session, message, sizeof message) != 0) {
    if (rank == 0) fprintf(stderr, "chromatica eval: %s\n%s", message, usage);
    return 2;
  }
  /* The ranges are the batch options' (one row each in the option table). */
  const chr_option *eps = chr_option_find("sinkhorn_epsilon"), *rk = chr_option_find("rerank_k");
  if (!parse_list(a->epsilons ? a->epsilons : "0.01,0.02,0.05,0.1", "--epsilons", eps->min,
                  eps->max, 0, a->eps, &a->n_eps, rank) ||
      !parse_list(a->rerank_ks ? a->rerank_ks : "25,50,100,200,400", "--rerank-ks", rk->min,
                  rk->max, 1, a->rks, &a->n_rks, rank))
    return 2;
  return 0;
}

/* MODE_POOL is no mode of the table: each query's Hellinger top-CHR_RESULTS_K_MAX, from which
 * the pool recall of the Hellinger-stage modes is read. */
typedef enum { MODE_FAST, MODE_SINKHORN, MODE_EMD, MODE_TRUTH, MODE_POOL, MODE_CASCADE } mode_kind;

typedef struct {
  mode_kind kind;
  double epsilon;
  int rerank_k;
} mode_plan;

/* The queries as this mode asks them: only the stage-2 choices change. */
static void apply_mode(const mode_plan *m, chr_search_options *o) {
  o->fast_mode = m->kind == MODE_FAST || m->kind == MODE_POOL;
  if (m->kind == MODE_POOL) o->k = CHR_RESULTS_K_MAX;
  o->emd_prune = 1;
  switch (m->kind) { /* no default: a new mode must name its metric and stage here */
    case MODE_FAST:
    case MODE_POOL:
      o->candidate_stage = CHR_STAGE_HELLINGER;
      break;
    case MODE_SINKHORN:
      o->candidate_stage = CHR_STAGE_HELLINGER;
      o->metric = CHR_METRIC_SINKHORN;
      o->sinkhorn_epsilon = m->epsilon;
      break;
    case MODE_EMD:
      o->candidate_stage = CHR_STAGE_HELLINGER;
      o->metric = CHR_METRIC_EMD;
      o->rerank_k = m->rerank_k;
      break;
    case MODE_TRUTH:
      o->candidate_stage = CHR_STAGE_BOUNDS;
      o->metric = CHR_METRIC_EMD;
      break;
    case MODE_CASCADE:
      o->candidate_stage = CHR_STAGE_CASCADE;
      o->metric = CHR_METRIC_EMD;
      break;
  }
}

static void mode_name(const mode_plan *m, char *out, size_t size) {
  if (m->kind == MODE_FAST) snprintf(out, size, "fast (hellinger)");
  if (m->kind == MODE_SINKHORN) snprintf(out, size, "sinkhorn eps=%g", m->epsilon);
  if (m->kind == MODE_EMD) snprintf(out, size, "emd R=%d", m->rerank_k);
  if (m->kind == MODE_TRUTH) snprintf(out, size, "bounds+emd exact (truth)");
  if (m->kind == MODE_POOL) snprintf(out, size, "hellinger pools");
  if (m->kind == MODE_CASCADE) snprintf(out, size, "cascade+emd");
}

/* The cascade's pool is not reported, but its rerank is the exact EMD: a truth top-k image in
 * the pool ranks within the pool no lower than overall, so it is in the answer, and the pool
 * recall of the truth's top-k equals the recall of the answer (as for CHR_POOL_TOPK). */
static chr_pool_kind pool_of(const mode_plan *m) {
  if (m->kind == MODE_FAST || m->kind == MODE_CASCADE) return CHR_POOL_TOPK;
  return m->kind == MODE_TRUTH ? CHR_POOL_ALL : CHR_POOL_HELLINGER;
}

/* Answers the batch in one mode; rank 0 receives the results. Collective. */
static chr_status run_mode(MPI_Comm comm, chr_session *s, const mode_plan *m, chr_batch_query *work,
                           chr_query_result *results, double *wall_ms, chr_error *err) {
  for (int i = 0; i < s->n; ++i) {
    work[i] = s->queries[i];
    apply_mode(m, &work[i].options);
  }
  chr_mpi_search_options o = {.max_concurrent = s->max_concurrent};
  chr_mpi_search_outcome outcome;
  double t = chr_mpi_seconds();
  chr_status st = chr_mpi_search(comm, &s->layout, s->idx, work, s->n, &o, results, &outcome, err);
  *wall_ms = (chr_mpi_seconds() - t) * 1e3;
  return st;
}

/* "queries[i] <its validation error>" for an invalid query q; a query that is not an object
 * already says "queries[i]" in its error. */
static void describe_invalid(const chr_batch_query *q, int i, char *out, size_t size) {
  if (strncmp(q->error, "queries[", 8) == 0)
    snprintf(out, size, "%s", q->error);
  else
    snprintf(out, size, "queries[%d] %s", i, q->error);
}

#define EVAL_INVALID_SHOWN 10 /* invalid queries named on stderr; the report lists them all */

/* Rank 0 names the invalid queries on stderr (each is left out of every mode). Returns how many
 * queries are valid: the same on every rank, since every rank holds the same queries. The
 * first invalid one is described in first_invalid. Not collective. */
static int check_queries(const chr_session *s, int rank, char *first_invalid, size_t size) {
  int valid = 0, shown = 0;
  first_invalid[0] = '\0';
  for (int i = 0; i < s->n; ++i) {
    if (s->queries[i].ok) {
      valid++;
      continue;
    }
    char line[CHR_ERROR_MESSAGE_MAX + 32];
    describe_invalid(&s->queries[i], i, line, sizeof line);
    if (first_invalid[0] == '\0') snprintf(first_invalid, size, "%s", line);
    if (rank == 0 && shown++ < EVAL_INVALID_SHOWN)
      fprintf(stderr, "chromatica eval: invalid query: %s\n", line);
  }
  if (rank == 0 && shown > EVAL_INVALID_SHOWN)
    fprintf(stderr, "chromatica eval: and %d more invalid queries (listed in the eval report)\n",
            shown - EVAL_INVALID_SHOWN);
  return valid;
}

int chr_cmd_eval(int argc, char **argv, const chr_command_context *cmd) {
  MPI_Comm comm = cmd->comm;
  int rank = cmd->rank, size = cmd->size;
  eval_args a = {0};
  int parsed = parse_args(argc, argv, rank, &a);
  if (parsed != 0) return chr_args_exit_code(parsed, rank, usage);

  chr_error err;
  chr_error_clear(&err);
  chr_session s;
  mode_plan plans[2 * EVAL_LIST_MAX + 4];
  int n_plans = 0;
  plans[n_plans++] = (mode_plan){MODE_TRUTH, 0.0, 0};
  plans[n_plans++] = (mode_plan){MODE_FAST, 0.0, 0};
  for (int i = 0; i < a.n_eps; ++i) plans[n_plans++] = (mode_plan){MODE_SINKHORN, a.eps[i], 0};
  for (int i = 0; i < a.n_rks; ++i) plans[n_plans++] = (mode_plan){MODE_EMD, 0.0, (int)a.rks[i]};
  plans[n_plans++] = (mode_plan){MODE_CASCADE, 0.0, 0};
  plans[n_plans++] = (mode_plan){MODE_POOL, 0.0, 0};
  chr_eval_mode modes[2 * EVAL_LIST_MAX + 4];
  chr_query_result *results = NULL;
  chr_batch_query *work = NULL;
  char first_invalid[CHR_ERROR_MESSAGE_MAX + 32];
  chr_status st = chr_session_open(comm, &a.session, &s, &err);
  if (st != CHR_OK) goto cleanup;
  int valid = check_queries(&s, rank, first_invalid, sizeof first_invalid);
  if (valid == 0) {
    st = chr_error_set(&err, CHR_EINVAL, "no valid query in the batch (%s)", first_invalid);
    goto cleanup;
  }
  work = malloc((size_t)s.n * sizeof *work);
  results = rank == 0 ? calloc((size_t)s.n * (size_t)n_plans, sizeof *results) : NULL;
  st = work && (rank != 0 || results)
           ? CHR_OK
           : chr_error_set(&err, CHR_ENOMEM, "cannot hold %d modes of %d results", n_plans, s.n);
  st = chr_mpi_agree(comm, st, &err);
  for (int m = 0; m < n_plans && st == CHR_OK; ++m) {
    mode_name(&plans[m], modes[m].name, sizeof modes[m].name);
    modes[m].results = results ? results + (size_t)m * (size_t)s.n : NULL;
    modes[m].pool = pool_of(&plans[m]);
    modes[m].pool_r = plans[m].kind == MODE_EMD ? plans[m].rerank_k : 0;
    st = run_mode(comm, &s, &plans[m], work, results ? results + (size_t)m * (size_t)s.n : NULL,
                  &modes[m].wall_ms, &err);
    if (st == CHR_OK && a.progress && rank == 0)
      fprintf(stderr, "chromatica eval: %s done in %.1f s\n", modes[m].name,
              modes[m].wall_ms / 1e3);
  }
  if (st == CHR_OK && rank == 0) {
    chr_eval_context ctx = {a.session.dataset,     a.session.queries, s.images,       size,
                            omp_get_max_threads(), s.layout.groups,   s.layout.shards};
    printf(
        "chromatica eval: %d queries (%d valid) on %lld images, %d ranks x %d threads "
        "(%d groups x %d shards)\n",
        s.n, valid, (long long)s.images, size, ctx.threads_per_rank, ctx.query_groups, ctx.shards);
    st = chr_eval_report_write(a.session.out, &ctx, s.queries, s.n, modes + 1, n_plans - 2,
                               &modes[0], modes[n_plans - 1].results, stdout, &err);
    if (st == CHR_OK) printf("eval report: %s\n", a.session.out);
  }
  st = chr_mpi_agree(comm, st, &err);
cleanup:
  if (st != CHR_OK && rank == 0) fprintf(stderr, "chromatica eval: %s\n", err.message);
  free(work);
  free(results);
  chr_session_close(&s);
  return st == CHR_OK ? 0 : 1;
}
