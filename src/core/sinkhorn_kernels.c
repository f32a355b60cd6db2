/* The Sinkhorn iteration (sinkhorn_kernels.h): one loop for both domains; the standard domain's
 * body compiled for portable x86-64/any CPU, AVX2 and AVX-512, the log domain's scalar. The
 * bodies are always inlined into their target's wrapper, so the compiler vectorises each for its
 * width; the operations and their order are fixed by
 * the C below, whatever the width. */
#include "sinkhorn_kernels.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHR_SINKHORN_X86 1
#else
#define CHR_SINKHORN_X86 0
#endif

#define CHR_INLINE static inline __attribute__((always_inline))

/* Eight doubles, for lane-wise products and sums: each lane rounds as a scalar would. */
typedef double v8d __attribute__((vector_size(64)));

/* (K v)_i for all rows, nqp = 8 NV (padded rows included): each sum over j ascending from 0.0,
 * as one row at a time would add it; all rows advance together, so their independent sums hide
 * the adder's latency. */
#define ROW_PRODUCTS(NV)                                                                 \
  CHR_INLINE void row_products_##NV(chr_sinkhorn_problem *p) {                           \
    v8d acc[NV];                                                                         \
    for (int t = 0; t < NV; ++t) acc[t] = (v8d){0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}; \
    for (int j = 0; j < p->nx; ++j) {                                                    \
      const double *col = p->mt + (size_t)j * (size_t)p->nqp;                            \
      const double vj = p->v[j];                                                         \
      for (int t = 0; t < NV; ++t) {                                                     \
        v8d k;                                                                           \
        memcpy(&k, col + 8 * t, sizeof k);                                               \
        acc[t] += k * vj;                                                                \
      }                                                                                  \
    }                                                                                    \
    for (int i = 0; i < p->nq; ++i) p->kv[i] = acc[i / 8][i % 8];                        \
  }
ROW_PRODUCTS(1)
ROW_PRODUCTS(2)
ROW_PRODUCTS(3)
ROW_PRODUCTS(4)
ROW_PRODUCTS(5)
_Static_assert(CHR_QUERY_MAX_BINS <= 5 * CHR_SINKHORN_ROW_PAD, "row_products covers 5 blocks");

CHR_INLINE void row_products(chr_sinkhorn_problem *p) {
  switch (p->nqp / CHR_SINKHORN_ROW_PAD) {
    case 1:
      row_products_1(p);
      break;
    case 2:
      row_products_2(p);
      break;
    case 3:
      row_products_3(p);
      break;
    case 4:
      row_products_4(p);
      break;
    default:
      row_products_5(p);
      break;
  }
}

/* (K^T u)_j = sum over i ascending of K_ij u_i from 0.0; four rows of K per pass over ktu,
 * the sum written left to right so it adds in the order of one row per pass. */
CHR_INLINE void col_products(chr_sinkhorn_problem *p) {
  const int nx = p->nx;
  double *restrict ktu = p->ktu;
  for (int j = 0; j < nx; ++j) ktu[j] = 0.0;
  int i = 0;
  for (; i + 4 <= p->nq; i += 4) {
    const double *restrict r0 = p->m + (size_t)i * (size_t)nx, *restrict r1 = r0 + nx;
    const double *restrict r2 = r1 + nx, *restrict r3 = r2 + nx;
    const double u0 = p->u[i], u1 = p->u[i + 1], u2 = p->u[i + 2], u3 = p->u[i + 3];
    for (int j = 0; j < nx; ++j)
      ktu[j] = ktu[j] + r0[j] * u0 + r1[j] * u1 + r2[j] * u2 + r3[j] * u3;
  }
  for (; i < p->nq; ++i) {
    const double *restrict row = p->m + (size_t)i * (size_t)nx;
    const double ui = p->u[i];
    for (int j = 0; j < nx; ++j) ktu[j] += row[j] * ui;
  }
}

CHR_INLINE double marginal_error(const chr_sinkhorn_problem *p) {
  double e = 0.0;
  for (int i = 0; i < p->nq; ++i) e += fabs(p->u[i] * p->kv[i] - p->a[i]);
  return e;
}

/* The log-domain products: log(K v) and log(K^T u) as log-sum-exps over m = -C/eps, each
 * shifted by its largest term. Scalar: exp and log stay library calls. */
CHR_INLINE void log_row_products(chr_sinkhorn_problem *p) {
  for (int i = 0; i < p->nq; ++i) {
    const double *row = p->m + (size_t)i * p->nx;
    double hi = -INFINITY;
    for (int j = 0; j < p->nx; ++j)
      if (row[j] + p->v[j] > hi) hi = row[j] + p->v[j];
    double s = 0.0;
    for (int j = 0; j < p->nx; ++j) s += exp(row[j] + p->v[j] - hi);
    p->kv[i] = hi + log(s);
  }
}

CHR_INLINE void log_col_products(chr_sinkhorn_problem *p) {
  for (int j = 0; j < p->nx; ++j) {
    double hi = -INFINITY;
    for (int i = 0; i < p->nq; ++i) {
      double t = p->m[(size_t)i * p->nx + j] + p->u[i];
      if (t > hi) hi = t;
    }
    double s = 0.0;
    for (int i = 0; i < p->nq; ++i) s += exp(p->m[(size_t)i * p->nx + j] + p->u[i] - hi);
    p->ktu[j] = hi + log(s);
  }
}

/* Row-marginal L1 error; in the log domain u and K v are held as logarithms. */
CHR_INLINE double domain_error(const chr_sinkhorn_problem *p, int log_domain) {
  if (!log_domain) return marginal_error(p);
  double e = 0.0;
  for (int i = 0; i < p->nq; ++i) e += fabs(exp(p->u[i] + p->kv[i]) - p->a[i]);
  return e;
}

CHR_INLINE void domain_row_products(chr_sinkhorn_problem *p, int log_domain) {
  if (log_domain)
    log_row_products(p);
  else
    row_products(p);
}

/* The loop of sinkhorn.c's header comment, for both domains: log_domain is a constant at every
 * call, so each caller compiles to its own domain's loop alone, and both stop by one rule. */
CHR_INLINE double iterate_body(chr_sinkhorn_problem *p, const chr_sinkhorn_params *params,
                               int *iterations, const int log_domain) {
  for (int j = 0; j < p->nx; ++j) p->v[j] = log_domain ? 0.0 : 1.0;
  int have_error = 0;
  double error = 0.0;
  *iterations = 0;
  for (int it = 0; it < params->max_iter; ++it) {
    domain_row_products(p, log_domain);
    if (it > 0) {
      error = domain_error(p, log_domain);
      have_error = 1;
      if (error < params->tol) break;
    }
    for (int i = 0; i < p->nq; ++i)
      p->u[i] = log_domain ? log(p->a[i]) - p->kv[i] : p->a[i] / p->kv[i];
    if (log_domain)
      log_col_products(p);
    else
      col_products(p);
    for (int j = 0; j < p->nx; ++j)
      p->v[j] = log_domain ? log(p->b[j]) - p->ktu[j] : p->b[j] / p->ktu[j];
    ++*iterations;
    have_error = 0;
  }
  if (!have_error) {
    domain_row_products(p, log_domain);
    error = domain_error(p, log_domain);
  }
  return error;
}

double chr_sinkhorn_iterate_log(chr_sinkhorn_problem *p, const chr_sinkhorn_params *params,
                                int *iterations) {
  return iterate_body(p, params, iterations, 1);
}

static double iterate_portable(chr_sinkhorn_problem *p, const chr_sinkhorn_params *params,
                               int *iterations) {
  return iterate_body(p, params, iterations, 0);
}

#if CHR_SINKHORN_X86
/* No "fma" here: the products and sums must round as the portable ones do. */
__attribute__((target("avx2"))) static double iterate_avx2(chr_sinkhorn_problem *p,
                                                           const chr_sinkhorn_params *params,
                                                           int *iterations) {
  return iterate_body(p, params, iterations, 0);
}

__attribute__((target("avx512f"))) static double iterate_avx512(chr_sinkhorn_problem *p,
                                                                const chr_sinkhorn_params *params,
                                                                int *iterations) {
  return iterate_body(p, params, iterations, 0);
}
#endif

double chr_sinkhorn_iterate_standard(chr_kernel_level level, chr_sinkhorn_problem *p,
                                     const chr_sinkhorn_params *params, int *iterations) {
#if CHR_SINKHORN_X86
  if (level == CHR_KERNELS_AVX512) return iterate_avx512(p, params, iterations);
  if (level == CHR_KERNELS_AVX2) return iterate_avx2(p, params, iterations);
#endif
  (void)level;
  return iterate_portable(p, params, iterations);
}

chr_kernel_level chr_sinkhorn_level_best(void) {
  int level = CHR_KERNELS_AVX512;
  while (level > CHR_KERNELS_PORTABLE && !chr_scan_kernels_supported((chr_kernel_level)level))
    --level;
  return (chr_kernel_level)level;
}
