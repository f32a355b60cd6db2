#include "chromatica/bounds.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>

void chr_emd_bounds_init(const chr_qhist *q, chr_emd_bounds *b) {
  b->q = *q;
  for (int t = 0; t < CHR_BINS; ++t) {
    double best = INFINITY;
    for (int i = 0; i < q->count; ++i) {
      double c = chr_grid_cost(q->bin[i], t);
      if (c < best) best = c;
    }
    b->nearest[t] = best;
  }
  chr_lab mean = {0.0, 0.0, 0.0};
  for (int i = 0; i < q->count; ++i) {
    chr_lab c = chr_grid_bin_centre(q->bin[i]);
    mean.l += q->mass[i] * c.l;
    mean.a += q->mass[i] * c.a;
    mean.b += q->mass[i] * c.b;
  }
  b->centroid = mean;
}

static double support_total(const float *mass, int n) {
  double total = 0.0;
  for (int j = 0; j < n; ++j) total += (double)mass[j];
  return total;
}

double chr_emd_bound_dot(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n) {
  double total = support_total(mass, n), sum = 0.0;
  for (int j = 0; j < n; ++j) sum += ((double)mass[j] / total) * b->nearest[bins[j]];
  return sum;
}

double chr_emd_bound_centroid(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                              int n) {
  double total = support_total(mass, n);
  chr_lab mean = {0.0, 0.0, 0.0};
  for (int j = 0; j < n; ++j) {
    chr_lab c = chr_grid_bin_centre(bins[j]);
    double w = (double)mass[j] / total;
    mean.l += w * c.l;
    mean.a += w * c.a;
    mean.b += w * c.b;
  }
  double dl = mean.l - b->centroid.l, da = mean.a - b->centroid.a, db = mean.b - b->centroid.b;
  return sqrt(dl * dl + da * da + db * db);
}

double chr_emd_bound_relaxed(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                             int n) {
  double query_side = 0.0;
  for (int i = 0; i < b->q.count; ++i) {
    double best = INFINITY;
    for (int j = 0; j < n; ++j) {
      double c = chr_grid_cost(b->q.bin[i], bins[j]);
      if (c < best) best = c;
    }
    query_side += b->q.mass[i] * best;
  }
  double image_side = chr_emd_bound_dot(b, bins, mass, n);
  return query_side > image_side ? query_side : image_side;
}

double chr_emd_bound_best(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                          int n) {
  double relaxed = chr_emd_bound_relaxed(b, bins, mass, n);
  double centroid = chr_emd_bound_centroid(b, bins, mass, n);
  return relaxed > centroid ? relaxed : centroid;
}

void chr_emd_bound_rows(const chr_emd_bounds *b, const chr_index *idx, double *out) {
  int64_t rows = chr_index_rows(idx);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && rows > 4096)
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int n = chr_index_support(idx, r, &bins, &mass);
    out[r] = chr_emd_bound_dot(b, bins, mass, n);
  }
}

int chr_emd_bound_prunes(double bound, double threshold) {
  return bound > threshold + 1e-9 * threshold + 1e-12;
}
