#include "chromatica/grid.h"

#include <math.h>

/* Per-axis geometry, L slowest. Kept as functions of the header's constants rather than
 * a mutable table so the module has no state. */
static const int axis_n[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
static const double axis_min[3] = {CHR_GRID_L_MIN, CHR_GRID_A_MIN, CHR_GRID_B_MIN};
static const double axis_max[3] = {CHR_GRID_L_MAX, CHR_GRID_A_MAX, CHR_GRID_B_MAX};

static double axis_width(int d) {
  return (axis_max[d] - axis_min[d]) / axis_n[d];
}

static double axis_centre(int d, int j) {
  return axis_min[d] + (j + 0.5) * axis_width(d);
}

/* One axis of the tri-linear assignment: lower bin *j0 and the fraction f going to j0 + 1. */
static void axis_split(int d, double v, int *j0, double *f) {
  int n = axis_n[d];
  double t = (v - axis_min[d]) / axis_width(d) - 0.5;
  /* The negated test also sends NaN to the lower edge instead of into floor(). */
  if (!(t > 0.0)) t = 0.0;
  if (t > n - 1) t = n - 1;
  /* A value computed as a bin centre can land a few ulps off the integer; snapping it keeps
   * the spec's promise that a centre puts all its mass in one bin (the shift is < 1e-11 in
   * Lab units, far below anything that matters for the mean). */
  double r = nearbyint(t);
  if (fabs(t - r) < 1e-12) t = r;
  int j = (int)floor(t);
  if (j > n - 2) j = n - 2;
  *j0 = j;
  *f = t - j;
}

void chr_grid_assign(chr_lab lab, chr_grid_spread *out) {
  const double v[3] = {lab.l, lab.a, lab.b};
  int j0[3];
  double f[3];
  for (int d = 0; d < 3; ++d) axis_split(d, v[d], &j0[d], &f[d]);
  int k = 0;
  for (int dl = 0; dl < 2; ++dl)
    for (int da = 0; da < 2; ++da)
      for (int db = 0; db < 2; ++db) {
        double wl = dl ? f[0] : 1.0 - f[0];
        double wa = da ? f[1] : 1.0 - f[1];
        double wb = db ? f[2] : 1.0 - f[2];
        out->bin[k] = chr_grid_index(j0[0] + dl, j0[1] + da, j0[2] + db);
        out->weight[k] = wl * wa * wb;
        k++;
      }
}

/* One axis of the nearest-centre bin: the cell that contains v, clamped to the grid. */
static int axis_cell(int d, double v) {
  double t = (v - axis_min[d]) / axis_width(d);
  if (!(t > 0.0)) return 0; /* also NaN */
  if (t >= axis_n[d]) return axis_n[d] - 1;
  return (int)floor(t);
}

int chr_grid_nearest(chr_lab lab) {
  return chr_grid_index(axis_cell(0, lab.l), axis_cell(1, lab.a), axis_cell(2, lab.b));
}

int chr_grid_index(int l, int a, int b) {
  return (l * CHR_GRID_NA + a) * CHR_GRID_NB + b;
}

void chr_grid_coords(int bin, int *l, int *a, int *b) {
  *l = bin / (CHR_GRID_NA * CHR_GRID_NB);
  *a = (bin / CHR_GRID_NB) % CHR_GRID_NA;
  *b = bin % CHR_GRID_NB;
}

chr_lab chr_grid_bin_centre(int bin) {
  int l, a, b;
  chr_grid_coords(bin, &l, &a, &b);
  chr_lab c = {axis_centre(0, l), axis_centre(1, a), axis_centre(2, b)};
  return c;
}

double chr_grid_cost(int i, int j) {
  chr_lab p = chr_grid_bin_centre(i);
  chr_lab q = chr_grid_bin_centre(j);
  double dl = p.l - q.l, da = p.a - q.a, db = p.b - q.b;
  return sqrt(dl * dl + da * da + db * db);
}

double chr_grid_cost_max(void) {
  /* The farthest pair of points of a box is a pair of opposite corners. The four diagonals
   * are equal in exact arithmetic but may differ by an ulp in floating point, so take the
   * largest of them: then this equals a brute-force maximum over all pairs exactly. */
  const int nl = CHR_GRID_NL - 1, na = CHR_GRID_NA - 1, nb = CHR_GRID_NB - 1;
  const int from[4] = {chr_grid_index(0, 0, 0), chr_grid_index(0, 0, nb), chr_grid_index(0, na, 0),
                       chr_grid_index(0, na, nb)};
  const int to[4] = {chr_grid_index(nl, na, nb), chr_grid_index(nl, na, 0),
                     chr_grid_index(nl, 0, nb), chr_grid_index(nl, 0, 0)};
  double best = 0.0;
  for (int k = 0; k < 4; ++k) {
    double c = chr_grid_cost(from[k], to[k]);
    if (c > best) best = c;
  }
  return best;
}
