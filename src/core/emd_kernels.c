/* The exact EMD's pricing kernels (emd_kernels.h): each row's least reduced cost and where it
 * is, in scalar/SSE2, AVX2 and AVX-512 lanes, every level with the scalar level's bits. */
#include "emd_kernels.h"

#include <math.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CHR_EMD_AVX512 1
#endif

/* min_j (row[j] - ui - v[j]): the row's least reduced cost. Minima over independent chains, in
 * SSE2 lanes where the machine has them (x86-64 always does); min is exact, so neither the
 * order nor the lanes can change the result, and only the rows kept as candidates are
 * rescanned for their lowest column (row_find). Reduced costs are never NaN, so the lanes' min is
 * the scalar one. */
static double row_min(const double *row, const double *v, double ui, int n) {
  double best = INFINITY;
  int j = 0;
#if defined(__SSE2__)
  const __m128d u = _mm_set1_pd(ui);
  __m128d m0 = _mm_set1_pd(INFINITY), m1 = m0, m2 = m0, m3 = m0;
  for (; j + 8 <= n; j += 8) {
    m0 = _mm_min_pd(m0, _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j), u), _mm_loadu_pd(v + j)));
    m1 = _mm_min_pd(m1,
                    _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 2), u), _mm_loadu_pd(v + j + 2)));
    m2 = _mm_min_pd(m2,
                    _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 4), u), _mm_loadu_pd(v + j + 4)));
    m3 = _mm_min_pd(m3,
                    _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 6), u), _mm_loadu_pd(v + j + 6)));
  }
  __m128d m = _mm_min_pd(_mm_min_pd(m0, m1), _mm_min_pd(m2, m3));
  double lanes[2];
  _mm_storeu_pd(lanes, m);
  best = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
#endif
  for (; j < n; ++j) {
    double r = row[j] - ui - v[j];
    best = r < best ? r : best;
  }
  return best;
}

/* low[i] = min_j ((c[i n + j] - u[i]) - v[j]) for every row i < m: each row's least reduced
 * cost (row_min). */
static void rows_min(const double *c, int m, int n, const double *u, const double *v, double *low) {
  for (int i = 0; i < m; ++i) low[i] = row_min(c + (size_t)i * n, v, u[i], n);
}

/* col_least over the columns j0 .. n - 1 alone, column by column; the second least is
 * min(lo2, max(x, lo)) before lo takes x, which the vector levels compute lane by lane. */
static void col_least_from(const double *c, const double *shift, int m, int n, int j0, double *lo,
                           double *lo2, int *at) {
  for (int j = j0; j < n; ++j) {
    double a = INFINITY, b = INFINITY;
    int row = 0;
    for (int i = 0; i < m; ++i) {
      const double x = c[(size_t)i * n + j] - shift[i];
      const double up = x > a ? x : a;
      b = up < b ? up : b;
      row = x < a ? i : row;
      a = x < a ? x : a;
    }
    lo[j] = a, lo2[j] = b, at[j] = row;
  }
}

static void col_least(const double *c, const double *shift, int m, int n, double *lo, double *lo2,
                      int *at) {
  col_least_from(c, shift, m, n, 0, lo, lo2, at);
}

/* The first j with (row[j] - ui) - v[j] == target, or n. */
static int row_find(const double *row, const double *v, double ui, int n, double target) {
  int j = 0;
  while (j < n && row[j] - ui - v[j] != target) ++j;
  return j;
}

#if defined(CHR_EMD_AVX512)
/* row_find 8 lanes at a time: the lowest set bit of the first block's equality mask. */
__attribute__((target("avx512f"))) static int row_find_avx512(const double *row, const double *v,
                                                              double ui, int n, double target) {
  const __m512d u = _mm512_set1_pd(ui), t = _mm512_set1_pd(target);
  for (int j = 0; j < n; j += 8) {
    __mmask8 k = n - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - j)) - 1u);
    __m512d r = _mm512_sub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(k, row + j), u),
                              _mm512_maskz_loadu_pd(k, v + j));
    unsigned eq = _mm512_mask_cmp_pd_mask(k, r, t, _CMP_EQ_OQ);
    if (eq != 0) return j + __builtin_ctz(eq);
  }
  return n;
}

/* One row's (row - ui) - v in AVX-512 lanes, 8 doubles, folded into acc by min: the tail is
 * masked, so its missing lanes keep acc. */
__attribute__((target("avx512f"), always_inline)) static inline __m512d row_block_avx512(
    __m512d acc, const double *row, __m512d vv, __m512d u, int j, __mmask8 k) {
  const __m512d r = _mm512_sub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(k, row + j), u), vv);
  return _mm512_mask_min_pd(acc, k, acc, r);
}

/* rows_min in AVX-512 lanes, four rows at a time sharing each load of v (four independent
 * chains of min); min is exact and each lane computes (row - ui) - v as the scalar code does,
 * so the minima are the scalar ones. */
__attribute__((target("avx512f"))) static void rows_min_avx512(const double *c, int m, int n,
                                                               const double *u, const double *v,
                                                               double *low) {
  const __m512d inf = _mm512_set1_pd(INFINITY);
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const double *r0 = c + (size_t)i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
    const __m512d u0 = _mm512_set1_pd(u[i]), u1 = _mm512_set1_pd(u[i + 1]);
    const __m512d u2 = _mm512_set1_pd(u[i + 2]), u3 = _mm512_set1_pd(u[i + 3]);
    __m512d a0 = inf, a1 = inf, a2 = inf, a3 = inf;
    for (int j = 0; j < n; j += 8) {
      const __mmask8 k = n - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - j)) - 1u);
      const __m512d vv = _mm512_maskz_loadu_pd(k, v + j);
      a0 = row_block_avx512(a0, r0, vv, u0, j, k);
      a1 = row_block_avx512(a1, r1, vv, u1, j, k);
      a2 = row_block_avx512(a2, r2, vv, u2, j, k);
      a3 = row_block_avx512(a3, r3, vv, u3, j, k);
    }
    low[i] = _mm512_reduce_min_pd(a0), low[i + 1] = _mm512_reduce_min_pd(a1);
    low[i + 2] = _mm512_reduce_min_pd(a2), low[i + 3] = _mm512_reduce_min_pd(a3);
  }
  for (; i < m; ++i) {
    const double *r0 = c + (size_t)i * n;
    const __m512d u0 = _mm512_set1_pd(u[i]);
    __m512d a0 = inf;
    for (int j = 0; j < n; j += 8) {
      const __mmask8 k = n - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - j)) - 1u);
      a0 = row_block_avx512(a0, r0, _mm512_maskz_loadu_pd(k, v + j), u0, j, k);
    }
    low[i] = _mm512_reduce_min_pd(a0);
  }
}

/* One row's (row - ui) - v in AVX2 lanes, 4 doubles, folded into acc by min. */
__attribute__((target("avx2"), always_inline)) static inline __m256d row_block_avx2(
    __m256d acc, const double *row, __m256d vv, __m256d u, int j) {
  return _mm256_min_pd(acc, _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(row + j), u), vv));
}

/* The least of acc's lanes and of the scalar reduced costs of row[j .. n). */
__attribute__((target("avx2"))) static double row_finish_avx2(__m256d acc, const double *row,
                                                              const double *v, double ui, int j,
                                                              int n) {
  double lanes[4];
  _mm256_storeu_pd(lanes, acc);
  double best = lanes[0];
  for (int k = 1; k < 4; ++k) best = lanes[k] < best ? lanes[k] : best;
  for (; j < n; ++j) {
    double r = row[j] - ui - v[j];
    best = r < best ? r : best;
  }
  return best;
}

/* rows_min in AVX2 lanes (4 doubles), four rows at a time, each row's tail in scalar: the same
 * minima, as above. */
__attribute__((target("avx2"))) static void rows_min_avx2(const double *c, int m, int n,
                                                          const double *u, const double *v,
                                                          double *low) {
  const __m256d inf = _mm256_set1_pd(INFINITY);
  const int body = n - n % 4;
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const double *r0 = c + (size_t)i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
    const __m256d u0 = _mm256_set1_pd(u[i]), u1 = _mm256_set1_pd(u[i + 1]);
    const __m256d u2 = _mm256_set1_pd(u[i + 2]), u3 = _mm256_set1_pd(u[i + 3]);
    __m256d a0 = inf, a1 = inf, a2 = inf, a3 = inf;
    for (int j = 0; j < body; j += 4) {
      const __m256d vv = _mm256_loadu_pd(v + j);
      a0 = row_block_avx2(a0, r0, vv, u0, j), a1 = row_block_avx2(a1, r1, vv, u1, j);
      a2 = row_block_avx2(a2, r2, vv, u2, j), a3 = row_block_avx2(a3, r3, vv, u3, j);
    }
    low[i] = row_finish_avx2(a0, r0, v, u[i], body, n);
    low[i + 1] = row_finish_avx2(a1, r1, v, u[i + 1], body, n);
    low[i + 2] = row_finish_avx2(a2, r2, v, u[i + 2], body, n);
    low[i + 3] = row_finish_avx2(a3, r3, v, u[i + 3], body, n);
  }
  for (; i < m; ++i) {
    const double *r0 = c + (size_t)i * n;
    const __m256d u0 = _mm256_set1_pd(u[i]);
    __m256d a0 = inf;
    for (int j = 0; j < body; j += 4) a0 = row_block_avx2(a0, r0, _mm256_loadu_pd(v + j), u0, j);
    low[i] = row_finish_avx2(a0, r0, v, u[i], body, n);
  }
}
#endif

#if defined(CHR_EMD_AVX512)
/* col_least 8 columns at a time in AVX-512 lanes, rows in order; the last block masked. */
__attribute__((target("avx512f"))) static void col_least_avx512(const double *c,
                                                                const double *shift, int m, int n,
                                                                double *lo, double *lo2, int *at) {
  const __m512d inf = _mm512_set1_pd(INFINITY);
  for (int j = 0; j < n; j += 8) {
    const __mmask8 k = n - j >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - j)) - 1u);
    __m512d a = inf, b = inf, row = _mm512_setzero_pd();
    for (int i = 0; i < m; ++i) {
      const __m512d x =
          _mm512_sub_pd(_mm512_maskz_loadu_pd(k, c + (size_t)i * n + j), _mm512_set1_pd(shift[i]));
      b = _mm512_min_pd(b, _mm512_max_pd(x, a));
      const __mmask8 less = _mm512_cmp_pd_mask(x, a, _CMP_LT_OQ);
      row = _mm512_mask_blend_pd(less, row, _mm512_set1_pd((double)i));
      a = _mm512_mask_blend_pd(less, a, x);
    }
    _mm512_mask_storeu_pd(lo + j, k, a);
    _mm512_mask_storeu_pd(lo2 + j, k, b);
    int rows[8];
    _mm256_storeu_si256((__m256i *)rows, _mm512_cvttpd_epi32(row));
    for (int t = 0; t < 8 && j + t < n; ++t) at[j + t] = rows[t];
  }
}

/* col_least 4 columns at a time in AVX2 lanes, the last columns in scalar. */
__attribute__((target("avx2"))) static void col_least_avx2(const double *c, const double *shift,
                                                           int m, int n, double *lo, double *lo2,
                                                           int *at) {
  const int body = n - n % 4;
  for (int j = 0; j < body; j += 4) {
    __m256d a = _mm256_set1_pd(INFINITY), b = a, row = _mm256_setzero_pd();
    for (int i = 0; i < m; ++i) {
      const __m256d x =
          _mm256_sub_pd(_mm256_loadu_pd(c + (size_t)i * n + j), _mm256_set1_pd(shift[i]));
      b = _mm256_min_pd(b, _mm256_max_pd(x, a));
      const __m256d less = _mm256_cmp_pd(x, a, _CMP_LT_OQ);
      row = _mm256_blendv_pd(row, _mm256_set1_pd((double)i), less);
      a = _mm256_blendv_pd(a, x, less);
    }
    _mm256_storeu_pd(lo + j, a);
    _mm256_storeu_pd(lo2 + j, b);
    _mm_storeu_si128((__m128i *)(at + j), _mm256_cvttpd_epi32(row));
  }
  col_least_from(c, shift, m, n, body, lo, lo2, at);
}
#endif

chr_emd_kernels chr_emd_kernels_at(int level) {
  chr_emd_kernels none = {NULL, NULL, NULL}, k = {rows_min, row_find, col_least};
  if (level == 0) return k;
#if defined(CHR_EMD_AVX512)
  if (level == 1 && __builtin_cpu_supports("avx2"))
    return (chr_emd_kernels){rows_min_avx2, row_find, col_least_avx2};
  if (level == 2 && __builtin_cpu_supports("avx512f"))
    return (chr_emd_kernels){rows_min_avx512, row_find_avx512, col_least_avx512};
#endif
  return none;
}
