#include "chromatica/query.h"

#include <math.h>
#include <stddef.h>

#include "chromatica/grid.h"

static chr_status check_inputs(const chr_lab *colors, const double *weights, int n, double sharpen,
                               chr_error *err) {
  if (n < 1 || n > CHR_QUERY_MAX_COLORS)
    return chr_error_set(err, CHR_EINVAL, "colors: %d colours given (expected 1 to %d)", n,
                         CHR_QUERY_MAX_COLORS);
  if (colors == NULL) return chr_error_set(err, CHR_EINVAL, "colors: missing");
  for (int i = 0; weights != NULL && i < n; ++i)
    if (!isfinite(weights[i]) || !(weights[i] > 0.0))
      return chr_error_set(err, CHR_EINVAL, "weights[%d] %g: expected a finite number > 0", i,
                           weights[i]);
  double sum = 0.0;
  for (int i = 0; weights != NULL && i < n; ++i) sum += weights[i];
  if (!isfinite(sum))
    return chr_error_set(err, CHR_EINVAL,
                         "weights: their sum overflows (expected weights whose sum is finite; "
                         "scale them down)");
  if (!isfinite(sharpen) || !(sharpen >= 1.0))
    return chr_error_set(err, CHR_EINVAL, "sharpen %g: expected a finite number >= 1", sharpen);
  return CHR_OK;
}

chr_status chr_qhist_build(const chr_lab *colors, const double *weights, int n, double sharpen,
                           chr_qhist *out, chr_error *err) {
  chr_status status = check_inputs(colors, weights, n, sharpen, err);
  if (status != CHR_OK) return status;

  double total_weight = 0.0;
  for (int i = 0; i < n; ++i) total_weight += weights ? weights[i] : 1.0;

  /* A dense accumulator makes shared bins trivial and leaves the bins ascending for free;
   * 1152 doubles on the stack is cheap next to anything a query does afterwards. */
  double dense[CHR_BINS] = {0.0};
  for (int i = 0; i < n; ++i) {
    double colour_weight = (weights ? weights[i] : 1.0) / total_weight;
    chr_grid_spread s;
    chr_grid_assign(colors[i], &s);
    if (sharpen != 1.0) {
      /* Renormalising within the colour keeps the user's colour weights exact; the largest
       * of the 8 weights is >= 1/8, so the sum cannot vanish. */
      double sum = 0.0;
      for (int k = 0; k < 8; ++k) {
        s.weight[k] = pow(s.weight[k], sharpen);
        sum += s.weight[k];
      }
      for (int k = 0; k < 8; ++k) s.weight[k] /= sum;
    }
    for (int k = 0; k < 8; ++k) dense[s.bin[k]] += colour_weight * s.weight[k];
  }

  double total = 0.0;
  int count = 0;
  for (int b = 0; b < CHR_BINS; ++b) {
    if (!(dense[b] > 0.0)) continue;
    out->bin[count] = b;
    out->mass[count] = dense[b];
    total += dense[b];
    count++;
  }
  for (int k = 0; k < count; ++k) out->mass[k] /= total;
  out->count = count;
  return CHR_OK;
}
