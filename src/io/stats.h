/* Order statistics shared by the report writers (private to src/io). Not collective. */
#ifndef CHROMATICA_IO_STATS_H
#define CHROMATICA_IO_STATS_H

/* Sorts v[0..n) ascending. */
void chr_sort_doubles(double *v, int n);

/* The nearest-rank p-th percentile (p in 1..100) of sorted[0..n), n >= 1: the value of rank
 * ceil(p n / 100), computed in integers so no rounding picks the neighbouring rank. */
double chr_percentile_sorted(const double *sorted, int n, int p);

#endif
