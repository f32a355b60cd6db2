/* The 8 x 12 x 12 Lab bin grid and tri-linear soft assignment (spec section 2), and the
 * stage-2 ground cost between bin centres (spec section 5). Pure functions, not collective. */
#ifndef CHROMATICA_GRID_H
#define CHROMATICA_GRID_H

#include "chromatica/color.h"

#define CHR_GRID_NL 8
#define CHR_GRID_NA 12
#define CHR_GRID_NB 12
#define CHR_BINS (CHR_GRID_NL * CHR_GRID_NA * CHR_GRID_NB) /* 1152 */

#define CHR_GRID_L_MIN 0.0
#define CHR_GRID_L_MAX 100.0
#define CHR_GRID_A_MIN (-86.0)
#define CHR_GRID_A_MAX 98.0
#define CHR_GRID_B_MIN (-108.0)
#define CHR_GRID_B_MAX 95.0

/* The 8 bins one colour spreads to, with weights summing to 1 (weights may be 0). */
typedef struct {
  int bin[8];
  double weight[8];
} chr_grid_spread;

/* Tri-linear assignment of one Lab colour; values outside the ranges are clamped. */
void chr_grid_assign(chr_lab lab, chr_grid_spread *out);

/* The bin whose cell contains the colour (its nearest centre), clamped to the grid: the hard
 * assignment used to group an image's pixels into palette colours. */
int chr_grid_nearest(chr_lab lab);

/* Flat index l*144 + a*12 + b, and back. */
int chr_grid_index(int l, int a, int b);
void chr_grid_coords(int bin, int *l, int *a, int *b);

/* Lab centre of a bin (0 <= bin < CHR_BINS). */
chr_lab chr_grid_bin_centre(int bin);

/* CIE76 Delta E between the centres of bins i and j. */
double chr_grid_cost(int i, int j);

/* The largest chr_grid_cost over all bin pairs (a constant of the grid). */
double chr_grid_cost_max(void);

#endif
