#include "chromatica/bounds.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

/* Every bin, nearest to row first (ties: lower bin): a stable LSD radix sort on the bits of the
 * costs, which order like the values since costs are >= 0; 8 passes over 1152 entries instead
 * of a comparison sort, because it runs for every query bin of every query. */
static void sort_bins_by_cost(const double *row, uint16_t *out) {
  uint64_t key[CHR_BINS], key_tmp[CHR_BINS];
  uint16_t tmp[CHR_BINS];
  for (int t = 0; t < CHR_BINS; ++t) {
    memcpy(&key[t], &row[t], sizeof key[t]);
    out[t] = (uint16_t)t;
  }
  for (int shift = 0; shift < 64; shift += 8) {
    int count[257] = {0};
    for (int t = 0; t < CHR_BINS; ++t) count[((key[t] >> shift) & 255u) + 1]++;
    if (count[((key[0] >> shift) & 255u) + 1] == CHR_BINS) continue; /* one digit: no move */
    for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
    for (int t = 0; t < CHR_BINS; ++t) {
      int at = count[(key[t] >> shift) & 255u]++;
      key_tmp[at] = key[t];
      tmp[at] = out[t];
    }
    memcpy(key, key_tmp, sizeof key);
    memcpy(out, tmp, sizeof tmp);
  }
}

void chr_emd_bounds_init(const chr_qhist *q, chr_emd_bounds *b) {
  b->q = *q;
  for (int i = 0; i < q->count; ++i)
    for (int t = 0; t < CHR_BINS; ++t) b->cost[i][t] = chr_grid_cost(q->bin[i], t);
  for (int i = 0; i < q->count; ++i) sort_bins_by_cost(b->cost[i], b->by_cost[i]);
  for (int t = 0; t < CHR_BINS; ++t) {
    double best = INFINITY;
    for (int i = 0; i < q->count; ++i)
      if (b->cost[i][t] < best) best = b->cost[i][t];
    b->nearest[t] = best;
  }
  for (int t = 0; t < CHR_BINS; ++t) b->centre[t] = chr_grid_bin_centre(t);
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
    chr_lab c = b->centre[bins[j]];
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
      double c = b->cost[i][bins[j]];
      if (c < best) best = c;
    }
    query_side += b->q.mass[i] * best;
  }
  double image_side = chr_emd_bound_dot(b, bins, mass, n);
  return query_side > image_side ? query_side : image_side;
}

/* The cheapest way to place `need` units on n bins of the given costs and capacities (filled
 * in order of cost): a three-way quickselect on cost that keeps only the part where the filling
 * stops, so O(n) expected instead of a sort. Permutes cost and cap. */
/* From this many image bins on, walking the grid beats selecting among the image's bins. */
#define CHR_ICT_WALK_MIN 96

static double fill_cheapest(double *cost, double *cap, int n, double need) {
  double sum = 0.0;
  int lo = 0, hi = n;
  while (need > 0.0 && lo < hi) {
    double pivot = cost[lo + (hi - lo) / 2];
    int lt = lo, gt = hi, i = lo; /* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
    while (i < gt) {
      if (cost[i] < pivot) {
        double c = cost[i], m = cap[i];
        cost[i] = cost[lt], cap[i] = cap[lt], cost[lt] = c, cap[lt] = m;
        lt++, i++;
      } else if (cost[i] > pivot) {
        gt--;
        double c = cost[i], m = cap[i];
        cost[i] = cost[gt], cap[i] = cap[gt], cost[gt] = c, cap[gt] = m;
      } else {
        i++;
      }
    }
    double less_mass = 0.0, less_cost = 0.0, equal_mass = 0.0;
    for (int j = lo; j < lt; ++j) less_mass += cap[j], less_cost += cap[j] * cost[j];
    if (less_mass >= need) {
      hi = lt; /* the filling stops among the cheaper bins */
      continue;
    }
    sum += less_cost, need -= less_mass;
    for (int j = lt; j < gt; ++j) equal_mass += cap[j];
    double moved = equal_mass < need ? equal_mass : need;
    sum += moved * pivot, need -= moved;
    lo = gt;
  }
  return sum;
}

double chr_emd_bound_ict_query(const chr_emd_bounds *b, const uint16_t *bins, const float *mass,
                               int n) {
  if (n <= 0 || n > CHR_BINS) return 0.0;
  double total = support_total(mass, n), sum = 0.0;
  double cost[CHR_BINS], cap[CHR_BINS];
  if (n >= CHR_ICT_WALK_MIN) {
    /* A wide support: each query bin walks the grid nearest-first and soon meets enough mass. */
    double dense[CHR_BINS] = {0.0};
    for (int j = 0; j < n; ++j) dense[bins[j]] = (double)mass[j] / total;
    for (int i = 0; i < b->q.count; ++i) {
      double need = b->q.mass[i];
      for (int r = 0; r < CHR_BINS && need > 0.0; ++r) {
        int t = b->by_cost[i][r];
        double moved = dense[t] < need ? dense[t] : need;
        sum += moved * b->cost[i][t], need -= moved;
      }
    }
    return sum;
  }
  for (int i = 0; i < b->q.count; ++i) {
    for (int j = 0; j < n; ++j) cost[j] = b->cost[i][bins[j]], cap[j] = (double)mass[j] / total;
    sum += fill_cheapest(cost, cap, n, b->q.mass[i]);
  }
  return sum;
}

double chr_emd_bound_pool(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n) {
  /* chr_emd_bound_dot and chr_emd_bound_centroid in one pass: the same operations in the same
   * order, so the same bits, with one total and one division per bin instead of two. */
  double total = support_total(mass, n), dot = 0.0;
  chr_lab mean = {0.0, 0.0, 0.0};
  for (int j = 0; j < n; ++j) {
    double w = (double)mass[j] / total;
    chr_lab c = b->centre[bins[j]];
    dot += w * b->nearest[bins[j]];
    mean.l += w * c.l;
    mean.a += w * c.a;
    mean.b += w * c.b;
  }
  double dl = mean.l - b->centroid.l, da = mean.a - b->centroid.a, db = mean.b - b->centroid.b;
  double centroid = sqrt(dl * dl + da * da + db * db);
  return dot > centroid ? dot : centroid;
}

double chr_emd_bound_best(const chr_emd_bounds *b, const uint16_t *bins, const float *mass, int n) {
  /* The ICT query side is never below the relaxed query side, so only the dot half remains. */
  double relaxed = chr_emd_bound_dot(b, bins, mass, n);
  double centroid = chr_emd_bound_centroid(b, bins, mass, n);
  double ict = chr_emd_bound_ict_query(b, bins, mass, n);
  double best = relaxed > centroid ? relaxed : centroid;
  return ict > best ? ict : best;
}

void chr_emd_dual_bound_init(const chr_emd_bounds *b, const double *u, chr_emd_dual_bound *d) {
  const chr_qhist *q = &b->q;
  double offset = 0.0;
  for (int i = 0; i < q->count; ++i) offset += q->mass[i] * u[i];
  d->offset = offset;
  for (int t = 0; t < CHR_BINS; ++t) d->g[t] = INFINITY;
  for (int i = 0; i < q->count; ++i)
    for (int t = 0; t < CHR_BINS; ++t) {
      double c = b->cost[i][t] - u[i];
      if (c < d->g[t]) d->g[t] = c;
    }
}

double chr_emd_bound_dual(const chr_emd_dual_bound *d, const uint16_t *bins, const float *mass,
                          int n) {
  double total = support_total(mass, n), sum = 0.0;
  for (int j = 0; j < n; ++j) sum += ((double)mass[j] / total) * d->g[bins[j]];
  return d->offset + sum;
}

double chr_emd_bound_dual_max(const chr_emd_dual_bound *d, int count, const uint16_t *bins,
                              const float *mass, int n, double floor) {
  double total = support_total(mass, n), sum[CHR_EMD_DUAL_MAX] = {0.0};
  for (int j = 0; j < n; ++j) {
    double w = (double)mass[j] / total;
    for (int k = 0; k < count; ++k) sum[k] += w * d[k].g[bins[j]];
  }
  for (int k = 0; k < count; ++k) {
    double bound = d[k].offset + sum[k];
    if (bound > floor) floor = bound;
  }
  return floor;
}

void chr_emd_bound_rows(const chr_emd_bounds *b, const chr_index *idx, double *out) {
  int64_t rows = chr_index_rows(idx);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && rows > 4096)
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t *bins = NULL;
    const float *mass = NULL;
    int n = chr_index_support(idx, r, &bins, &mass);
    out[r] = chr_emd_bound_pool(b, bins, mass, n);
  }
}

int chr_emd_bound_prunes(double bound, double threshold) {
  return bound > threshold + 1e-9 * threshold + 1e-12;
}
