/* binary16 conversions and the approximate stage-1 kernels (see scan_kernels.h). */
#include "scan_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHR_SCAN_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define CHR_SCAN_X86 0
#endif

uint16_t chr_half_from_float(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) /* infinity, or NaN kept quiet */
    return (uint16_t)(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x0200u : 0u));
  if (magnitude >= 0x477ff000u) /* 65520 and above round to infinity */
    return (uint16_t)(sign | 0x7c00u);
  uint32_t exponent = magnitude >> 23, mantissa = magnitude & 0x7fffffu;
  uint32_t shift, half;
  if (magnitude >= 0x38800000u) { /* a normal half: rebias, keep 10 of the 23 mantissa bits */
    half = ((exponent - 112u) << 10) | (mantissa >> 13);
    shift = 13;
  } else {                                      /* a subnormal half (units of 2^-24) or zero */
    if (exponent < 102u) return (uint16_t)sign; /* below 2^-25: rounds to zero */
    mantissa |= 0x800000u;
    shift = 126u - exponent; /* 14..24 */
    half = mantissa >> shift;
  }
  uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half; /* a carry moves up exactly */
  return (uint16_t)(sign | half);
}

float chr_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu,
           mantissa = h & 0x3ffu;
  uint32_t x;
  if (exponent == 0x1fu) {
    x = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    x = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else {
    float magnitude = (float)mantissa * 0x1p-24f; /* exact: at most 10 significant bits */
    return sign ? -magnitude : magnitude;
  }
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

/* ---------------------------------------------------------------- the re-check margin */

/* How far below the `keep`-th best approximate sum a row may be and still be in the top: 2 eps
 * + 2^-50, where eps bounds |approximate sum - chr_scan_score's double sum| for every row.
 *
 * With w_k = sqrt(q_k) and r = sqrt(x) (real numbers), the kernels use fl32(w_k) (relative
 * error <= 2^-24) and half(fl32(sqrt x)), within (2^-11 + 2^-23) r + 2^-25 of r; their float
 * products and at most K = q->count additions add a relative error <= (K + 1) 2^-24 of the
 * sum of |terms| (any order, with or without FMA). The double sum of chr_scan_score is within
 * (K + 3) 2^-53 of the real sum S. By Cauchy-Schwarz S <= S_max = sqrt(sum q) sqrt(largest
 * row sum), and the absolute errors are at most W = sum_k w_k times 2^-24. Adding up:
 *   eps = S_max (2^-11 + 2^-20 + (K + 1) 2^-23) + W 2^-23
 * bounds every term with room to spare. A row rejected at A < T - margin, where `keep` rows
 * have A >= T, has an exact sum more than 2^-50 below theirs, so its rounded score 2 - 2s is
 * strictly worse than all of theirs and the row tie-break never comes into play. */
/* The factors 1.000001 cover the rounding of the two double sums below and of max_row_sum. */
double chr_scan_margin(const chr_qhist *q, double max_row_sum) {
  double mass = 0.0, weights = 0.0;
  for (int k = 0; k < q->count; ++k) {
    mass += q->mass[k];
    weights += sqrt(q->mass[k]);
  }
  double s_max = sqrt(mass * 1.000001) * sqrt(max_row_sum * 1.000001);
  double eps = s_max * (0x1p-11 + 0x1p-20 + (q->count + 1) * 0x1p-23) + weights * 0x1p-23;
  return 2.0 * eps + 0x1p-50;
}

/* ---------------------------------------------------------------- portable C */

static void widen_portable(float *dst, const uint16_t *src, int len) {
  for (int i = 0; i < len; ++i) dst[i] = chr_half_to_float(src[i]);
}

static uint64_t group_portable(const float *roots, int stride, const int *slot, const float *w,
                               int count, float admit, float *acc) {
  for (int r = 0; r < CHR_SCAN_GROUP; ++r) acc[r] = 0.0f;
  for (int k = 0; k < count; ++k) {
    const float *column = roots + (size_t)slot[k] * (size_t)stride;
    for (int r = 0; r < CHR_SCAN_GROUP; ++r) acc[r] += w[k] * column[r];
  }
  uint64_t mask = 0;
  for (int r = 0; r < CHR_SCAN_GROUP; ++r) mask |= (uint64_t)(acc[r] >= admit) << r;
  return mask;
}

#if CHR_SCAN_X86

/* ---------------------------------------------------------------- AVX2 + FMA + F16C */

__attribute__((target("avx2,fma,f16c"))) static void widen_avx2(float *dst, const uint16_t *src,
                                                                int len) {
  int i = 0;
  for (; i + 8 <= len; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < len; ++i) dst[i] = chr_half_to_float(src[i]);
}

/* Eight 8-lane accumulators hold the 64 rows in registers for the whole bin loop. */
__attribute__((target("avx2,fma,f16c"))) static uint64_t group_avx2(const float *roots, int stride,
                                                                    const int *slot, const float *w,
                                                                    int count, float admit,
                                                                    float *acc) {
  __m256 a[8];
  for (int v = 0; v < 8; ++v) a[v] = _mm256_setzero_ps();
  for (int k = 0; k < count; ++k) {
    const float *column = roots + (size_t)slot[k] * (size_t)stride;
    __m256 wk = _mm256_set1_ps(w[k]);
    for (int v = 0; v < 8; ++v) a[v] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(column + 8 * v), a[v]);
  }
  __m256 threshold = _mm256_set1_ps(admit);
  uint64_t mask = 0;
  for (int v = 0; v < 8; ++v) {
    _mm256_storeu_ps(acc + 8 * v, a[v]);
    uint64_t bits = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(a[v], threshold, _CMP_GE_OQ));
    mask |= bits << (8 * v);
  }
  return mask;
}

/* ---------------------------------------------------------------- AVX-512 */

__attribute__((target("avx512f"))) static void widen_avx512(float *dst, const uint16_t *src,
                                                            int len) {
  int i = 0;
  for (; i + 16 <= len; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
  for (; i < len; ++i) dst[i] = chr_half_to_float(src[i]);
}

__attribute__((target("avx512f"))) static uint64_t group_avx512(const float *roots, int stride,
                                                                const int *slot, const float *w,
                                                                int count, float admit,
                                                                float *acc) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int k = 0; k < count; ++k) {
    const float *column = roots + (size_t)slot[k] * (size_t)stride;
    __m512 wk = _mm512_set1_ps(w[k]);
    a0 = _mm512_fmadd_ps(wk, _mm512_loadu_ps(column), a0);
    a1 = _mm512_fmadd_ps(wk, _mm512_loadu_ps(column + 16), a1);
    a2 = _mm512_fmadd_ps(wk, _mm512_loadu_ps(column + 32), a2);
    a3 = _mm512_fmadd_ps(wk, _mm512_loadu_ps(column + 48), a3);
  }
  _mm512_storeu_ps(acc, a0);
  _mm512_storeu_ps(acc + 16, a1);
  _mm512_storeu_ps(acc + 32, a2);
  _mm512_storeu_ps(acc + 48, a3);
  __m512 threshold = _mm512_set1_ps(admit);
  return (uint64_t)_mm512_cmp_ps_mask(a0, threshold, _CMP_GE_OQ) |
         (uint64_t)_mm512_cmp_ps_mask(a1, threshold, _CMP_GE_OQ) << 16 |
         (uint64_t)_mm512_cmp_ps_mask(a2, threshold, _CMP_GE_OQ) << 32 |
         (uint64_t)_mm512_cmp_ps_mask(a3, threshold, _CMP_GE_OQ) << 48;
}

#endif

#if CHR_SCAN_X86
/* F16C from CPUID leaf 1 (clang does not know "f16c" in __builtin_cpu_supports); its registers
 * are the AVX ones, whose OS support the avx2 check already covers. */
static int has_f16c(void) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

int chr_scan_kernels_supported(chr_kernel_level level) {
  switch (level) {
    case CHR_KERNELS_PORTABLE:
      return 1;
#if CHR_SCAN_X86
    case CHR_KERNELS_AVX2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case CHR_KERNELS_AVX512:
      return __builtin_cpu_supports("avx512f");
#endif
    default:
      return 0;
  }
}

chr_scan_kernels chr_scan_kernels_at(chr_kernel_level level) {
  chr_scan_kernels k = {CHR_KERNELS_PORTABLE, widen_portable, group_portable};
#if CHR_SCAN_X86
  if (level == CHR_KERNELS_AVX2) k = (chr_scan_kernels){level, widen_avx2, group_avx2};
  if (level == CHR_KERNELS_AVX512) k = (chr_scan_kernels){level, widen_avx512, group_avx512};
#endif
  return k;
}

chr_status chr_scan_kernels_choose(chr_scan_kernels *out, chr_error *err) {
  static const char *const names[] = {"portable", "avx2", "avx512"};
  const char *asked = getenv("CHR_SCAN_KERNELS");
  if (asked == NULL || asked[0] == '\0') {
    int level = CHR_KERNELS_AVX512;
    while (!chr_scan_kernels_supported((chr_kernel_level)level)) --level;
    *out = chr_scan_kernels_at((chr_kernel_level)level);
    return CHR_OK;
  }
  for (int level = CHR_KERNELS_PORTABLE; level <= CHR_KERNELS_AVX512; ++level) {
    if (strcmp(asked, names[level]) != 0) continue;
    if (!chr_scan_kernels_supported((chr_kernel_level)level))
      return chr_error_set(err, CHR_EINVAL,
                           "CHR_SCAN_KERNELS: '%s' is not supported by this CPU or build; "
                           "expected one it runs (portable always works) or unset",
                           asked);
    *out = chr_scan_kernels_at((chr_kernel_level)level);
    return CHR_OK;
  }
  return chr_error_set(err, CHR_EINVAL,
                       "CHR_SCAN_KERNELS: '%.64s' is not a kernel level; expected portable, avx2, "
                       "avx512 or unset",
                       asked);
}
