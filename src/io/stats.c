#include "stats.h"

#include <stdlib.h>

static int double_compare(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

void chr_sort_doubles(double *v, int n) {
  if (n > 1) qsort(v, (size_t)n, sizeof *v, double_compare);
}

double chr_percentile_sorted(const double *sorted, int n, int p) {
  long rank = ((long)p * n + 99) / 100;
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}
