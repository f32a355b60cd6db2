/* Entropic OT between a query and one image on their supports (spec section 5).
 *
 * Both variants run the same loop, so they stop at the same iteration for the same data:
 *   v = 1; for it in 0..max_iter-1: Kv = K v; if it > 0 { err = sum_i |u_i Kv_i - a_i|;
 *   if err < tol stop }; u = a / Kv; v = b / (K^T u).
 * The log-domain variant keeps alpha = log u, beta = log v and replaces every product with K
 * by a log-sum-exp over -C/eps. */
#include "chromatica/sinkhorn.h"

#include <math.h>
#include <stdlib.h>

#include "chromatica/grid.h"
#include "sinkhorn_kernels.h"
#include "support.h"

/* Standard domain while max(C)/eps <= 200: every K_ij >= exp(-200) ~ 1e-87, so K v and K^T u
 * stay far above the smallest normal double (~1e-308) and u, v = marginal / (K ...) stay far
 * below overflow; beyond that K underflows and the scaling vectors blow up. */
#define CHR_SINKHORN_MAX_EXPONENT 200.0

typedef chr_sinkhorn_problem problem;

/* sum_ij u_i K_ij v_j C_ij in the standard domain, where every factor is representable. */
static double plan_cost(const problem *p) {
  double distance = 0.0;
  for (int i = 0; i < p->nq; ++i)
    for (int j = 0; j < p->nx; ++j) {
      size_t k = (size_t)i * p->nx + j;
      distance += p->u[i] * p->m[k] * p->v[j] * p->c[k];
    }
  return distance;
}

/* The same cost in the log domain. The last update set v_j = b_j / (K^T u)_j, so column j of
 * the plan is b_j times the softmax over i of alpha_i - C_ij / eps. exp(alpha_i + m_ij +
 * beta_j) would add three terms of size max C / eps whose rounding errors do not cancel (at
 * tiny eps they reach the exponent's own scale, and the "plan" then sums to far more than 1);
 * the softmax subtracts the column's largest term instead, so each column is an exact convex
 * combination of its costs carrying mass b_j, and the cost lies in [0, max C] for any alpha. */
static double plan_cost_log(const problem *p) {
  double distance = 0.0;
  for (int j = 0; j < p->nx; ++j) {
    double hi = -INFINITY;
    for (int i = 0; i < p->nq; ++i) {
      double t = p->m[(size_t)i * p->nx + j] + p->u[i];
      if (t > hi) hi = t;
    }
    double mass = 0.0, cost = 0.0;
    for (int i = 0; i < p->nq; ++i) {
      size_t k = (size_t)i * p->nx + j;
      double w = exp(p->m[k] + p->u[i] - hi);
      mass += w;
      cost += w * p->c[k];
    }
    distance += p->b[j] * (cost / mass);
  }
  return distance;
}

static chr_status check_params(const chr_sinkhorn_params *params, chr_error *err) {
  if (params == NULL || !(params->epsilon >= CHR_SINKHORN_EPSILON_MIN) ||
      !(params->epsilon <= CHR_SINKHORN_EPSILON_MAX) || params->max_iter < 1 ||
      !(params->tol >= 0.0))
    return chr_error_set(err, CHR_EINVAL,
                         "sinkhorn: parameters epsilon %g, max_iter %d, tol %g; expected "
                         "epsilon from %g to %g, max_iter >= 1, tol >= 0",
                         params ? params->epsilon : 0.0, params ? params->max_iter : 0,
                         params ? params->tol : 0.0, CHR_SINKHORN_EPSILON_MIN,
                         CHR_SINKHORN_EPSILON_MAX);
  return CHR_OK;
}

struct chr_sinkhorn_query {
  chr_qhist q;
  chr_sinkhorn_params params;
  double *cost;           /* q.count x CHR_BINS: chr_grid_cost(q.bin[i], b) at [i * CHR_BINS + b] */
  double *kernel;         /* exp(-cost / eps), the standard-domain kernel, same layout */
  chr_kernel_level level; /* of the standard-domain iteration: this CPU's widest */
};

chr_status chr_sinkhorn_query_create(const chr_qhist *q, const chr_sinkhorn_params *params,
                                     chr_sinkhorn_query **out, chr_error *err) {
  *out = NULL;
  chr_status st = check_params(params, err);
  if (st != CHR_OK) return st;
  if (q->count < 1 || q->count > CHR_QUERY_MAX_BINS)
    return chr_error_set(err, CHR_EINVAL, "sinkhorn: query of %d bins; expected 1 to %d", q->count,
                         CHR_QUERY_MAX_BINS);
  for (int i = 0; i < q->count; ++i)
    if (q->bin[i] < 0 || q->bin[i] >= CHR_BINS)
      return chr_error_set(err, CHR_EINVAL, "sinkhorn: query bin[%d] = %d; expected 0 to %d", i,
                           q->bin[i], CHR_BINS - 1);
  chr_sinkhorn_query *sq = calloc(1, sizeof *sq);
  size_t entries = (size_t)q->count * CHR_BINS;
  if (sq != NULL) {
    sq->cost = malloc(entries * sizeof *sq->cost);
    sq->kernel = malloc(entries * sizeof *sq->kernel);
  }
  if (sq == NULL || sq->cost == NULL || sq->kernel == NULL) {
    chr_sinkhorn_query_destroy(&sq);
    return chr_error_set(err, CHR_ENOMEM, "sinkhorn: out of memory for a %d-bin query's tables",
                         q->count);
  }
  sq->q = *q;
  sq->params = *params;
  sq->level = chr_sinkhorn_level_best();
  const double eps = params->epsilon * chr_grid_cost_max();
  for (int i = 0; i < q->count; ++i)
    for (int b = 0; b < CHR_BINS; ++b) {
      size_t k = (size_t)i * CHR_BINS + (size_t)b;
      sq->cost[k] = chr_grid_cost(q->bin[i], b);
      sq->kernel[k] = exp(-sq->cost[k] / eps);
    }
  *out = sq;
  return CHR_OK;
}

void chr_sinkhorn_query_destroy(chr_sinkhorn_query **p) {
  if (p == NULL || *p == NULL) return;
  free((*p)->cost);
  free((*p)->kernel);
  free(*p);
  *p = NULL;
}

/* Fills C and K (or -C/eps) of p and returns the largest cost; *log_domain says which domain
 * the problem needs. Costs and standard-domain kernel entries come from the query's tables when
 * sq is given, else are computed here: the same expressions on the same inputs, so both give
 * the same bits. */
static double fill_problem(problem *p, const chr_qhist *q, const chr_sinkhorn_query *sq,
                           const uint16_t *bins, double eps, int *log_domain) {
  const int nq = p->nq, nx = p->nx;
  double cmax = 0.0;
  for (int i = 0; i < nq; ++i) {
    const double *cost_row = sq ? sq->cost + (size_t)i * CHR_BINS : NULL;
    double *c = p->c + (size_t)i * nx;
    for (int j = 0; j < nx; ++j) {
      c[j] = sq ? cost_row[bins[j]] : chr_grid_cost(q->bin[i], bins[j]);
      if (c[j] > cmax) cmax = c[j];
    }
  }
  *log_domain = cmax / eps > CHR_SINKHORN_MAX_EXPONENT;
  for (int i = 0; i < nq; ++i) {
    const double *kernel_row = sq ? sq->kernel + (size_t)i * CHR_BINS : NULL;
    const double *c = p->c + (size_t)i * nx;
    double *m = p->m + (size_t)i * nx;
    for (int j = 0; j < nx; ++j) {
      m[j] = *log_domain ? -c[j] / eps : sq ? kernel_row[bins[j]] : exp(-c[j] / eps);
      p->mt[(size_t)j * p->nqp + i] = m[j];
    }
  }
  for (int j = 0; j < nx; ++j)
    for (int i = nq; i < p->nqp; ++i) p->mt[(size_t)j * p->nqp + i] = 0.0;
  return cmax;
}

struct chr_sinkhorn_work {
  double *buf;
  size_t capacity; /* doubles */
};

chr_status chr_sinkhorn_work_create(chr_sinkhorn_work **out, chr_error *err) {
  *out = calloc(1, sizeof **out);
  return *out != NULL ? CHR_OK
                      : chr_error_set(err, CHR_ENOMEM, "sinkhorn: out of memory for a workspace");
}

void chr_sinkhorn_work_destroy(chr_sinkhorn_work **p) {
  if (p == NULL || *p == NULL) return;
  free((*p)->buf);
  free(*p);
  *p = NULL;
}

/* At least `need` doubles of scratch, or NULL (the workspace then keeps its old buffer). */
static double *work_reserve(chr_sinkhorn_work *w, size_t need) {
  if (need <= w->capacity) return w->buf;
  double *grown = malloc(need * sizeof *grown);
  if (grown == NULL) return NULL;
  free(w->buf);
  w->buf = grown;
  w->capacity = need;
  return grown;
}

/* The solver behind chr_sinkhorn and chr_sinkhorn_candidate (sq: the query's tables, or NULL;
 * work: scratch to reuse, or NULL to allocate it here). */
static chr_status solve(chr_kernel_level level, const chr_qhist *q,
                        const chr_sinkhorn_params *params, const chr_sinkhorn_query *sq,
                        chr_sinkhorn_work *work, const uint16_t *bins, const float *mass, int n,
                        chr_sinkhorn_result *out, chr_error *err) {
  chr_status st = CHR_OK;
  double *buf = NULL, *owned = NULL;
  double total = 0.0;
  st = chr_support_check("sinkhorn", q, bins, mass, n, &total, err);
  if (st != CHR_OK) return st;

  const int nq = q->count, nx = n;
  const int nqp = (nq + CHR_SINKHORN_ROW_PAD - 1) / CHR_SINKHORN_ROW_PAD * CHR_SINKHORN_ROW_PAD;
  const size_t nm = (size_t)nq * (size_t)nx, nmt = (size_t)nqp * (size_t)nx;
  const size_t need = 2 * nm + nmt + 3 * (size_t)nx + 2 * (size_t)nq;
  buf = work != NULL ? work_reserve(work, need) : (owned = malloc(need * sizeof *buf));
  if (buf == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "sinkhorn: out of memory for a %d x %d problem", nq, nx);
    goto cleanup;
  }
  double *b = buf + 2 * nm + nmt;
  /* Layout after K, C and K transposed: b[nx] v[nx] u[nq] kv[nq] ktu[nx]. */
  problem p = {.nq = nq,
               .nx = nx,
               .nqp = nqp,
               .a = q->mass,
               .b = b,
               .m = buf,
               .c = buf + nm,
               .mt = buf + 2 * nm,
               .v = b + nx,
               .u = b + 2 * nx,
               .kv = b + 2 * nx + nq,
               .ktu = b + 2 * nx + 2 * nq};
  for (int j = 0; j < nx; ++j) b[j] = (double)mass[j] / total;

  const double eps = params->epsilon * chr_grid_cost_max();
  int log_domain = 0, iterations = 0;
  const double cmax = fill_problem(&p, q, sq, bins, eps, &log_domain);
  const double error = log_domain ? chr_sinkhorn_iterate_log(&p, params, &iterations)
                                  : chr_sinkhorn_iterate_standard(level, &p, params, &iterations);
  double distance = log_domain ? plan_cost_log(&p) : plan_cost(&p);
  if (!isfinite(distance) || !(distance >= 0.0) || distance > cmax * (1.0 + 1e-12) ||
      !isfinite(error)) {
    st = chr_error_set(err, CHR_EINVAL,
                       "sinkhorn: epsilon %g gave distance %g and marginal error %g after %d "
                       "iterations; expected a finite distance from 0 to %g (double precision "
                       "lost)",
                       params->epsilon, distance, error, iterations, cmax);
    goto cleanup;
  }
  out->distance = distance;
  out->iterations = iterations;
  out->error = error;
  out->converged = error < params->tol;
  out->log_domain = log_domain;
cleanup:
  free(owned);
  return st;
}

chr_status chr_sinkhorn_at(chr_kernel_level level, const chr_qhist *q, const uint16_t *bins,
                           const float *mass, int n, const chr_sinkhorn_params *params,
                           chr_sinkhorn_result *out, chr_error *err) {
  chr_status st = check_params(params, err);
  return st == CHR_OK ? solve(level, q, params, NULL, NULL, bins, mass, n, out, err) : st;
}

chr_status chr_sinkhorn(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                        const chr_sinkhorn_params *params, chr_sinkhorn_result *out,
                        chr_error *err) {
  return chr_sinkhorn_at(chr_sinkhorn_level_best(), q, bins, mass, n, params, out, err);
}

chr_status chr_sinkhorn_candidate(const chr_sinkhorn_query *sq, const uint16_t *bins,
                                  const float *mass, int n, chr_sinkhorn_result *out,
                                  chr_error *err) {
  return solve(sq->level, &sq->q, &sq->params, sq, NULL, bins, mass, n, out, err);
}

chr_status chr_sinkhorn_candidate_with(const chr_sinkhorn_query *sq, chr_sinkhorn_work *work,
                                       const uint16_t *bins, const float *mass, int n,
                                       chr_sinkhorn_result *out, chr_error *err) {
  return solve(sq->level, &sq->q, &sq->params, sq, work, bins, mass, n, out, err);
}
