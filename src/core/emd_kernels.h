/* Private to src/core and its tests: the exact EMD's pricing kernels (emd_kernels.c). */
#ifndef CHROMATICA_CORE_EMD_KERNELS_H
#define CHROMATICA_CORE_EMD_KERNELS_H

/* low[i] = min_j ((c[i n + j] - u[i]) - v[j]) over j < n for every row i < m of the row-major
 * m x n matrix c: each row's least reduced cost. Every level writes the same bits (min is exact
 * and each lane rounds as the scalar code does). */
typedef void (*chr_emd_rows_min_fn)(const double *c, int m, int n, const double *u, const double *v,
                                    double *low);

/* The first j < n with (row[j] - ui) - v[j] == target, or n: where the minimum is. */
typedef int (*chr_emd_row_find_fn)(const double *row, const double *v, double ui, int n,
                                   double target);

/* For every column j < n of the row-major m x n matrix c, over the rows i < m of c[i n + j] -
 * shift[i]: the least value lo[j], the second least lo2[j] (a tie counts twice; infinity when
 * m is 1) and the lowest row holding the least, at[j] (the start's regrets and cheapest rows).
 * Every level writes the same bits (min and max are exact, each lane subtracts as the scalar
 * code does). */
typedef void (*chr_emd_col_least_fn)(const double *c, const double *shift, int m, int n, double *lo,
                                     double *lo2, int *at);

typedef struct {
  chr_emd_rows_min_fn min;
  chr_emd_row_find_fn find;
  chr_emd_col_least_fn least;
} chr_emd_kernels;

/* Level 0 SSE2/scalar, 1 AVX2, 2 AVX-512; all NULL where this CPU or build lacks the level. */
chr_emd_kernels chr_emd_kernels_at(int level);

#endif
